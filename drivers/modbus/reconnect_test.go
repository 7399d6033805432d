package modbus

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/testenv"
)

// TestReconnectWithBackoff stops the server under a working client, checks
// that requests fail as connection errors, that redials are spaced by a
// doubling, capped backoff, and that the client recovers on its own once a
// server listens again on the same address.
func TestReconnectWithBackoff(t *testing.T) {
	s1 := newTestServer(t, ServerConfig{})
	addr, err := s1.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var dials []time.Time
	dial := func(ctx context.Context) (Link, error) {
		mu.Lock()
		dials = append(dials, time.Now())
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr.String())
	}
	const minB, maxB = 20 * time.Millisecond, 80 * time.Millisecond
	c, err := NewClient("tcp://"+addr.String(), ClientConfig{Dial: dial, BackoffMin: minB, BackoffMax: maxB, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 0, 1); err != nil {
		t.Fatal(err)
	}
	_ = s1.Close()

	// Keep asking for 400 ms: every error must be a connection error.
	end := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(end) {
		_, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 0, 1)
		if !errors.Is(err, ErrConnection) {
			t.Fatalf("with the server gone: err = %v, want ErrConnection", err)
		}
	}
	mu.Lock()
	got := append([]time.Time(nil), dials[1:]...) // dials[0] was the first connection
	mu.Unlock()
	if len(got) < 4 || len(got) > 12 {
		t.Fatalf("%d redials in 400 ms, want a backoff of 0, 20, 40, 80, 80… ms (about 6)", len(got))
	}
	want := []time.Duration{minB, 2 * minB, maxB, maxB, maxB, maxB, maxB, maxB, maxB, maxB, maxB}
	for i := 1; i < len(got); i++ {
		if gap := got[i].Sub(got[i-1]); gap < want[i-1]*9/10 {
			t.Errorf("redial %d came %v after the previous, want ≥ %v", i+1, gap, want[i-1])
		}
	}

	// A server comes back on the same address: the client reconnects.
	s2 := NewServer(ServerConfig{})
	defer s2.Close()
	s2.AddUnit(1, NewBank(testBank))
	_ = s2.Unit(1).Bank.SetRegisters(HoldingRegisters, 0, 4242)
	if _, err := s2.ListenTCP(addr.String()); err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	var v []uint16
	testenv.WaitFor(t, 2*time.Second, "client reconnects", func() bool {
		v, err = c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 0, 1)
		return err == nil
	})
	if v[0] != 4242 {
		t.Fatalf("after reconnect read %v, want [4242] from the new server", v)
	}
}

// TestTimeoutsTriggerRedial: consecutive timeouts on one TCP connection
// make the client redial after TimeoutsBeforeReconnect; RTU over TCP
// redials after every timeout.
func TestTimeoutsTriggerRedial(t *testing.T) {
	cases := []struct {
		name      string
		rtu       bool
		timeouts  int
		wantDials int32
	}{
		{"tcp: 2 timeouts keep the connection", false, 2, 1},
		{"tcp: 3 timeouts redial", false, 3, 2},
		{"rtutcp: 1 timeout redials", true, 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, ServerConfig{})
			listen, scheme := s.ListenTCP, "tcp://"
			if tc.rtu {
				listen, scheme = s.ListenRTUOverTCP, "rtutcp://"
			}
			addr, err := listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var n atomic.Int32
			c, err := NewClient(scheme+addr.String(), ClientConfig{Dial: countingDial(addr.String(), &n), Timeout: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s.Unit(1).SetOffline(true)
			for range tc.timeouts {
				if _, err := c.ReadCoils(context.Background(), 1, 0, 1); !errors.Is(err, ErrTimeout) {
					t.Fatalf("offline unit: err = %v, want ErrTimeout", err)
				}
			}
			s.Unit(1).SetOffline(false)
			if _, err := c.ReadCoils(ctxTimeout(t, time.Second), 1, 0, 1); err != nil {
				t.Fatal(err)
			}
			if got := n.Load(); got != tc.wantDials {
				t.Fatalf("%d dials, want %d", got, tc.wantDials)
			}
		})
	}
}

// TestServerCloseStopsEverything: Close is idempotent, ends every
// goroutine of the server (and of clients' readers) and frees the port.
func TestServerCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	s := NewServer(ServerConfig{})
	s.AddUnit(1, NewBank(testBank))
	addr, err := s.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListenRTUOverTCP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	if err := s.ServeRTU(b, 0); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c, err := NewClient("tcp://"+addr.String(), ClientConfig{MaxInFlight: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadCoils(ctxTimeout(t, time.Second), 1, 0, 1); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if _, err := c.ReadCoils(ctxTimeout(t, time.Second), 1, 0, 1); !errors.Is(err, ErrConnection) {
		t.Fatalf("after server Close: err = %v, want ErrConnection", err)
	}
	if _, err := s.ListenTCP("127.0.0.1:0"); !errors.Is(err, ErrClosed) {
		t.Fatalf("ListenTCP after Close: %v, want ErrClosed", err)
	}
	for i := range 2 {
		if err := c.Close(); err != nil {
			t.Fatalf("client Close #%d: %v", i+1, err)
		}
	}
	if _, err := c.ReadCoils(ctxTimeout(t, time.Second), 1, 0, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("after client Close: err = %v, want ErrClosed", err)
	}
	testenv.WaitFor(t, 2*time.Second, "goroutines end", func() bool { return runtime.NumGoroutine() <= before })
}
