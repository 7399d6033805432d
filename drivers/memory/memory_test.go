package memory_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/memory"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/internal/testenv"
)

var (
	t0    = time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	power = drivers.PointRef{Device: "sign", Point: "power"}
	amps  = drivers.PointRef{Device: "sign", Point: "current"}
)

var errBus = errors.New("bus timeout")

func TestWriteThenRead(t *testing.T) {
	tests := []struct {
		name      string
		fault     memory.Fault
		write     drivers.Value
		wantErr   error
		wantValue drivers.Value
		wantRead  error
	}{
		{name: "healthy point takes the value", write: drivers.Bool(true), wantValue: drivers.Bool(true)},
		{name: "write error leaves the value", fault: memory.Fault{WriteErr: errBus}, write: drivers.Bool(true), wantErr: errBus, wantValue: drivers.Bool(false)},
		{name: "stuck relay acknowledges but keeps its readback", fault: memory.Fault{Stuck: true}, write: drivers.Bool(true), wantValue: drivers.Bool(false)},
		{name: "read error on a healthy write", fault: memory.Fault{ReadErr: errBus}, write: drivers.Bool(true), wantValue: drivers.Bool(true), wantRead: errBus},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			d := memory.New(clk)
			d.Add(power, drivers.Bool(false))
			d.SetFault(power, tc.fault)
			err := d.Write(context.Background(), power, tc.write)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Write err = %v, want %v", err, tc.wantErr)
			}
			if got, _ := d.Value(power); !drivers.Equal(got, tc.wantValue, 0) {
				t.Errorf("device value = %#v, want %#v", got, tc.wantValue)
			}
			samples, err := d.Read(context.Background(), []drivers.PointRef{power})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !errors.Is(samples[0].Err, tc.wantRead) {
				t.Fatalf("sample err = %v, want %v", samples[0].Err, tc.wantRead)
			}
			if tc.wantRead == nil && !drivers.Equal(samples[0].Value, tc.wantValue, 0) {
				t.Errorf("readback = %#v, want %#v", samples[0].Value, tc.wantValue)
			}
			if !samples[0].Time.Equal(t0) {
				t.Errorf("sample time = %v, want the clock's %v", samples[0].Time, t0)
			}
			log := d.Writes()
			if len(log) != 1 || log[0].Ref != power || !drivers.Equal(log[0].Value, tc.write, 0) || !errors.Is(log[0].Err, tc.wantErr) {
				t.Errorf("write log = %+v", log)
			}
		})
	}
}

func TestReadKeepsOrderAndIsolatesFailures(t *testing.T) {
	d := memory.New(clock.NewFake(t0))
	d.Add(power, drivers.Bool(true))
	d.Add(amps, drivers.Number(0.42))
	d.SetFault(power, memory.Fault{ReadErr: errBus})
	s, err := d.Read(context.Background(), []drivers.PointRef{amps, power})
	if err != nil {
		t.Fatal(err)
	}
	if s[0].Ref != amps || s[0].Err != nil || !drivers.Equal(s[0].Value, drivers.Number(0.42), 0) {
		t.Errorf("first sample = %+v", s[0])
	}
	if s[1].Ref != power || !errors.Is(s[1].Err, errBus) || !s[1].Value.IsZero() {
		t.Errorf("second sample = %+v", s[1])
	}
}

func TestInvalidCalls(t *testing.T) {
	unknown := drivers.PointRef{Device: "sign", Point: "nope"}
	tests := []struct {
		name string
		call func(d *memory.Driver) error
		want error
	}{
		{name: "read unknown", call: func(d *memory.Driver) error {
			_, err := d.Read(context.Background(), []drivers.PointRef{power, unknown})
			return err
		}, want: memory.ErrUnknownPoint},
		{name: "write unknown", call: func(d *memory.Driver) error {
			return d.Write(context.Background(), unknown, drivers.Bool(true))
		}, want: memory.ErrUnknownPoint},
		{name: "read after close", call: func(d *memory.Driver) error {
			d.Close()
			d.Close()
			_, err := d.Read(context.Background(), []drivers.PointRef{power})
			return err
		}, want: memory.ErrClosed},
		{name: "write after close", call: func(d *memory.Driver) error {
			d.Close()
			return d.Write(context.Background(), power, drivers.Bool(true))
		}, want: memory.ErrClosed},
		{name: "read with ended ctx", call: func(d *memory.Driver) error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := d.Read(ctx, []drivers.PointRef{power})
			return err
		}, want: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := memory.New(clock.NewFake(t0))
			d.Add(power, drivers.Bool(false))
			if err := tc.call(d); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDelayOnTheClock(t *testing.T) {
	clk := clock.NewFake(t0)
	d := memory.New(clk)
	d.Add(power, drivers.Bool(false))
	d.SetFault(power, memory.Fault{WriteDelay: 3 * time.Second})

	done := make(chan error, 1)
	go func() { done <- d.Write(context.Background(), power, drivers.Bool(true)) }()
	testenv.WaitFor(t, 5*time.Second, "the write to be held", func() bool { return d.Pending() == 1 })
	clk.Advance(2 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("write returned before its delay: %v", err)
	default:
	}
	clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w := d.Writes(); len(w) != 1 || !w[0].Time.Equal(t0.Add(3*time.Second)) {
		t.Errorf("write log = %+v, want one write at t0+3s", w)
	}
}

func TestDelayHonoursCtx(t *testing.T) {
	clk := clock.NewFake(t0)
	d := memory.New(clk)
	d.Add(power, drivers.Bool(false))
	d.SetFault(power, memory.Fault{ReadDelay: time.Hour, WriteDelay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- d.Write(ctx, power, drivers.Bool(true)) }()
	go func() { _, err := d.Read(ctx, []drivers.PointRef{power}); errs <- err }()
	testenv.WaitFor(t, 5*time.Second, "both calls to be held", func() bool { return d.Pending() == 2 })
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	}
	if v, _ := d.Value(power); !drivers.Equal(v, drivers.Bool(false), 0) {
		t.Errorf("a cancelled write changed the value to %v", v)
	}
}

func TestSubscribe(t *testing.T) {
	clk := clock.NewFake(t0)
	d := memory.New(clk)
	d.Add(power, drivers.Bool(false))
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got []drivers.Sample
	if err := d.Subscribe(ctx, func(s drivers.Sample) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, s)
	}); err != nil {
		t.Fatal(err)
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }

	d.Set(amps, drivers.Number(0.5))                             // device side: delivered
	_ = d.Write(context.Background(), power, drivers.Bool(true)) // change: delivered
	_ = d.Write(context.Background(), power, drivers.Bool(true)) // no change: not delivered
	if n := count(); n != 2 {
		t.Fatalf("delivered %d samples, want 2: %+v", n, got)
	}
	if got[0].Ref != amps || got[1].Ref != power || !drivers.Equal(got[1].Value, drivers.Bool(true), 0) {
		t.Errorf("samples = %+v", got)
	}
	cancel()
	testenv.WaitFor(t, 5*time.Second, "the subscription to end", func() bool { return d.Subscribers() == 0 })
	d.Set(amps, drivers.Number(0.7))
	if n := count(); n != 2 {
		t.Errorf("delivered after ctx ended: %d samples", n)
	}
}
