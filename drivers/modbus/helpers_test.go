package modbus

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testBank is the bank of the test servers: addresses 0..999 of each table.
var testBank = BankConfig{
	Coils:            Range{0, 1000},
	DiscreteInputs:   Range{0, 1000},
	HoldingRegisters: Range{0, 1000},
	InputRegisters:   Range{0, 1000},
}

var testDeviceID = []DeviceObject{
	{ID: ObjectVendorName, Value: []byte("Beacon")},
	{ID: ObjectProductCode, Value: []byte("BCN-SIM")},
	{ID: ObjectMajorMinorRevision, Value: []byte("1.2")},
	{ID: ObjectVendorURL, Value: []byte("https://beacon.example")},
	{ID: ObjectProductName, Value: []byte("Sign driver " + strings.Repeat("x", 120))},
	{ID: ObjectModelName, Value: []byte("Model " + strings.Repeat("y", 120))},
}

// newTestServer returns a server with unit 1 (test bank, device id) and
// unit 2 (test bank, no device id), closed at test end.
func newTestServer(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	s := NewServer(cfg)
	u := s.AddUnit(1, NewBank(testBank))
	u.DeviceID = testDeviceID
	s.AddUnit(2, NewBank(testBank))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// transport is one way of connecting a client to a server in tests.
type transport struct {
	name string
	// connect starts serving s and returns a client URL and optional dialer.
	connect func(t testing.TB, s *Server) (string, func(context.Context) (Link, error))
}

var transports = []transport{
	{"tcp", func(t testing.TB, s *Server) (string, func(context.Context) (Link, error)) {
		addr, err := s.ListenTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return "tcp://" + addr.String(), nil
	}},
	{"rtutcp", func(t testing.TB, s *Server) (string, func(context.Context) (Link, error)) {
		addr, err := s.ListenRTUOverTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return "rtutcp://" + addr.String(), nil
	}},
	{"rtu-pipe", func(t testing.TB, s *Server) (string, func(context.Context) (Link, error)) {
		return "rtu:///in-memory-pipe?baud=115200", func(ctx context.Context) (Link, error) {
			a, b := net.Pipe()
			if err := s.ServeRTU(b, 0); err != nil {
				return nil, err
			}
			return a, nil
		}
	}},
}

// newTestClient connects a client to s over tr, closed at test end.
func newTestClient(t testing.TB, s *Server, tr transport, cfg ClientConfig) *Client {
	t.Helper()
	url, dial := tr.connect(t, s)
	if dial != nil {
		cfg.Dial = dial
	}
	c, err := NewClient(url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// countingDial wraps a dialer (nil: TCP to addr) and counts dials.
func countingDial(addr string, n *atomic.Int32) func(context.Context) (Link, error) {
	return func(ctx context.Context) (Link, error) {
		n.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// fakePeer is a hand-written Modbus server on 127.0.0.1:0 that answers each
// request with the frames reply returns (for RTU, tx is 0). It returns the
// address; it stops at test end.
func fakePeer(t testing.TB, rtu bool, reply func(tx uint16, unit byte, pdu []byte) [][]byte) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				tr, rr := newTCPReader(c), newRTUReader(c, true)
				for {
					var tx uint16
					var unit byte
					var pdu []byte
					if rtu {
						f, err := rr.next()
						if err != nil {
							return
						}
						unit, pdu, _ = DecodeRTUFrame(f)
					} else {
						f, err := tr.next()
						if err != nil {
							return
						}
						tx, unit, pdu, _ = DecodeTCPFrame(f)
					}
					for _, out := range reply(tx, unit, pdu) {
						if _, err := c.Write(out); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}
