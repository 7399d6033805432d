package modbus

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/testenv"
)

// timedLink records when each write started and each read returned data.
type timedLink struct {
	Link
	mu     sync.Mutex
	writes []time.Time
	reads  []time.Time
}

func (l *timedLink) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.writes = append(l.writes, time.Now())
	l.mu.Unlock()
	return l.Link.Write(p)
}

func (l *timedLink) Read(p []byte) (int, error) {
	n, err := l.Link.Read(p)
	if n > 0 {
		l.mu.Lock()
		l.reads = append(l.reads, time.Now())
		l.mu.Unlock()
	}
	return n, err
}

// TestRTUInterFrameSilence: on a serial line at 1200 baud (t3.5 = 32 ms
// with 11-bit characters) the client keeps t3.5 of silence after the last
// byte of a response before it sends the next request (Serial Line V1.02
// §2.5.1.1).
func TestRTUInterFrameSilence(t *testing.T) {
	s := newTestServer(t, ServerConfig{})
	link := &timedLink{}
	c, err := NewClient("rtu:///pipe?baud=1200&parity=E", ClientConfig{Dial: func(context.Context) (Link, error) {
		a, b := net.Pipe()
		if err := s.ServeRTU(b, 0); err != nil {
			return nil, err
		}
		link.Link = a
		return link, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t35 := T35(1200, 11)
	if t35 != 32083333*time.Nanosecond {
		t.Fatalf("T35(1200, 11) = %v, want 32.083333ms", t35)
	}
	for range 3 {
		if _, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	link.mu.Lock()
	defer link.mu.Unlock()
	if len(link.writes) != 3 {
		t.Fatalf("%d frames written, want 3", len(link.writes))
	}
	for i := 1; i < 3; i++ {
		var lastRead time.Time
		for _, r := range link.reads {
			if r.Before(link.writes[i]) {
				lastRead = r
			}
		}
		if gap := link.writes[i].Sub(lastRead); gap < t35 {
			t.Errorf("request %d sent %v after the previous response, want ≥ t3.5 = %v", i+1, gap, t35)
		}
	}
}

// TestRTUBroadcast: unit 0 on a serial line is a broadcast: every unit
// executes the write, none answers, and the client does not wait.
func TestRTUBroadcast(t *testing.T) {
	s := newTestServer(t, ServerConfig{})
	c := newTestClient(t, s, transports[2], ClientConfig{Timeout: 5 * time.Second})
	start := time.Now()
	if err := c.WriteSingleRegister(ctxTimeout(t, time.Second), 0, 9, 99); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("broadcast took %v: the client waited for an answer", d)
	}
	for _, id := range []byte{1, 2} {
		testenv.WaitFor(t, 2*time.Second, "broadcast reaches every unit", func() bool {
			v, _ := s.Unit(id).Bank.Registers(HoldingRegisters, 9, 1)
			return v[0] == 99
		})
	}
	// The line is still in step: a normal request works.
	if v, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 9, 1); err != nil || v[0] != 99 {
		t.Fatalf("read after broadcast = %v, %v; want [99]", v, err)
	}
}
