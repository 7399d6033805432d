package reconcile

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/memory"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/internal/testenv"
)

var (
	t0       = time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	power    = drivers.PointRef{Device: "sign", Point: "power"}
	position = drivers.PointRef{Device: "flag", Point: "position"}
	on, off  = drivers.Bool(true), drivers.Bool(false)
	errBus   = errors.New("bus timeout")
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the log lines that contain every one of parts.
func (s *syncBuffer) lines(parts ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
next:
	for _, l := range strings.Split(s.b.String(), "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

type harness struct {
	clk   *clock.Fake
	drv   *memory.Driver
	store *points.Store
	prio  *priority.Table
	logs  *syncBuffer
	r     *Reconciler

	mu     sync.Mutex
	audits []AuditEvent

	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, tweak func(*Config)) *harness {
	t.Helper()
	h := &harness{
		clk:  clock.NewFake(t0),
		prio: priority.NewTable(),
		logs: &syncBuffer{},
	}
	h.drv = memory.New(h.clk)
	h.drv.Add(power, off)
	h.drv.Add(position, drivers.Number(0))
	h.store = points.New(points.Options{Clock: h.clk})
	cfg := Config{
		Connections: []Connection{{Name: "bus1", Driver: h.drv, Points: []Point{{Ref: power}, {Ref: position, Tolerance: 0.5}}}},
		Priorities:  h.prio,
		Store:       h.store,
		Clock:       h.clk,
		Logger:      slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Interval:    time.Hour,
		Audit: func(e AuditEvent) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.audits = append(h.audits, e)
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.r = r
	return h
}

func (h *harness) set(t *testing.T, ref drivers.PointRef, slot priority.Slot, v drivers.Value, author string, ttl time.Duration) {
	t.Helper()
	cmd := priority.Command{Value: v, Author: author, Set: h.clk.Now()}
	if ttl > 0 {
		cmd.Expires = h.clk.Now().Add(ttl)
	}
	if err := h.prio.Set(ref, slot, cmd); err != nil {
		t.Fatal(err)
	}
}

// start runs the reconciler and waits until its loop first goes to sleep.
func (h *harness) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	h.waitAsleepAfter(t, 0)
}

// waitAsleepAfter waits until the loop has gone to sleep more than gen times
// in all, and is asleep now.
func (h *harness) waitAsleepAfter(t *testing.T, gen int64) {
	t.Helper()
	testenv.WaitFor(t, 5*time.Second, "the reconciler to go to sleep", func() bool {
		return h.r.sleeps.Load() > gen && h.r.asleep.Load() == int32(len(h.r.conns))
	})
}

// advance moves the clock by d, which must wake the loop, and waits until it
// sleeps again.
func (h *harness) advance(t *testing.T, d time.Duration) {
	t.Helper()
	gen := h.r.sleeps.Load()
	h.clk.Advance(d)
	h.waitAsleepAfter(t, gen)
}

func (h *harness) trigger(t *testing.T, ref drivers.PointRef) {
	t.Helper()
	gen := h.r.sleeps.Load()
	h.r.Trigger(ref)
	h.waitAsleepAfter(t, gen)
}

func (h *harness) auditLog() []AuditEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]AuditEvent(nil), h.audits...)
}

func TestFirstPass(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(t *testing.T, h *harness)
		wantWrites   []drivers.Value
		wantResults  []Result
		wantAuthor   string
		wantSlot     priority.Slot
		wantDevice   drivers.Value
		wantFailures int
		wantQuality  points.Quality
	}{
		{
			name:        "schedule is applied",
			setup:       func(t *testing.T, h *harness) { h.set(t, power, priority.Schedule, on, "rule:sign-night", 0) },
			wantWrites:  []drivers.Value{on},
			wantResults: []Result{Complied},
			wantAuthor:  "rule:sign-night", wantSlot: priority.Schedule,
			wantDevice: on, wantQuality: points.Good,
		},
		{
			name: "device already complies: no write",
			setup: func(t *testing.T, h *harness) {
				h.drv.Set(power, on)
				h.set(t, power, priority.Schedule, on, "rule:sign-night", 0)
			},
			wantDevice: on, wantQuality: points.Good,
		},
		{
			name: "safety beats manual",
			setup: func(t *testing.T, h *harness) {
				h.drv.Set(power, on)
				h.set(t, power, priority.Manual, on, "alice", 0)
				h.set(t, power, priority.Safety, off, "fire-panel", 0)
				h.store.Update("bus1", drivers.Sample{Ref: power, Value: on})
			},
			wantWrites:  []drivers.Value{off},
			wantResults: []Result{Complied},
			wantAuthor:  "fire-panel", wantSlot: priority.Safety,
			wantDevice: off, wantQuality: points.Good,
		},
		{
			name:        "no effective value: point left alone",
			setup:       func(t *testing.T, h *harness) {},
			wantDevice:  off,
			wantQuality: points.Unknown,
		},
		{
			name: "number within tolerance: no write",
			setup: func(t *testing.T, h *harness) {
				h.drv.Set(position, drivers.Number(99.7))
				h.drv.Set(power, on)
				h.set(t, position, priority.Schedule, drivers.Number(100), "rule:flag-day", 0)
			},
			wantDevice: on, wantQuality: points.Unknown,
		},
		{
			name: "write error",
			setup: func(t *testing.T, h *harness) {
				h.drv.SetFault(power, memory.Fault{WriteErr: errBus})
				h.set(t, power, priority.Schedule, on, "rule:sign-night", 0)
			},
			wantWrites:  []drivers.Value{on},
			wantResults: []Result{WriteFailed},
			wantAuthor:  "rule:sign-night", wantSlot: priority.Schedule,
			wantDevice: off, wantFailures: 1, wantQuality: points.Good,
		},
		{
			name: "read-back mismatch detected",
			setup: func(t *testing.T, h *harness) {
				h.drv.SetFault(power, memory.Fault{Stuck: true})
				h.set(t, power, priority.Manual, on, "alice", 0)
			},
			wantWrites:  []drivers.Value{on},
			wantResults: []Result{Mismatch},
			wantAuthor:  "alice", wantSlot: priority.Manual,
			wantDevice: off, wantFailures: 1, wantQuality: points.Good,
		},
		{
			name: "unreadable device: no blind write",
			setup: func(t *testing.T, h *harness) {
				h.drv.SetFault(power, memory.Fault{ReadErr: errBus})
				h.set(t, power, priority.Schedule, on, "rule:sign-night", 0)
			},
			wantDevice: off, wantFailures: 1, wantQuality: points.Bad,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			tc.setup(t, h)
			h.start(t)

			var writes []drivers.Value
			for _, w := range h.drv.Writes() {
				if w.Ref == power {
					writes = append(writes, w.Value)
				}
			}
			if len(writes) != len(tc.wantWrites) {
				t.Fatalf("writes to sign.power = %v, want %v", writes, tc.wantWrites)
			}
			audits := h.auditLog()
			if len(audits) != len(tc.wantResults) {
				t.Fatalf("audit events = %+v, want results %v", audits, tc.wantResults)
			}
			for i, a := range audits {
				if a.Result != tc.wantResults[i] || a.Author != tc.wantAuthor || a.Slot != tc.wantSlot ||
					a.Ref != power || !drivers.Equal(a.Value, tc.wantWrites[i], 0) {
					t.Errorf("audit[%d] = %+v", i, a)
				}
				if (a.Err == nil) != (a.Result == Complied) {
					t.Errorf("audit[%d] result %s with err %v", i, a.Result, a.Err)
				}
			}
			if v, _ := h.drv.Value(power); !drivers.Equal(v, tc.wantDevice, 0) {
				t.Errorf("device sign.power = %v, want %v", v, tc.wantDevice)
			}
			st, _ := h.r.Status(power)
			if st.Failures != tc.wantFailures || st.Alarm {
				t.Errorf("status = %+v, want %d failures and no alarm", st, tc.wantFailures)
			}
			p, _ := h.store.Get(power)
			if p.Quality != tc.wantQuality {
				t.Errorf("store quality = %s, want %s", p.Quality, tc.wantQuality)
			}
			if tc.wantQuality == points.Good && (p.Source != "bus1" || !drivers.Equal(p.Value, tc.wantDevice, 0)) {
				t.Errorf("store = %+v, want the read-back %v from bus1", p, tc.wantDevice)
			}
		})
	}
}

func TestOverrideExpiryHandsBackToSchedule(t *testing.T) {
	h := newHarness(t, nil)
	h.set(t, power, priority.Schedule, on, "rule:sign-night", 0)
	h.set(t, power, priority.Manual, off, "alice", 90*time.Minute)
	h.start(t)
	if v, _ := h.drv.Value(power); !drivers.Equal(v, off, 0) {
		t.Fatalf("during the override the sign is %v, want off", v)
	}

	// The loop sleeps until the expiry, although its interval is an hour.
	h.advance(t, 90*time.Minute)
	if v, _ := h.drv.Value(power); !drivers.Equal(v, on, 0) {
		t.Fatalf("after the override expired the sign is %v, want on", v)
	}
	w := h.drv.Writes()
	if len(w) != 1 || !w[0].Time.Equal(t0.Add(90*time.Minute)) {
		t.Errorf("writes = %+v, want one at t0+90m", w)
	}
	a := h.auditLog()
	if len(a) != 1 || a[0].Slot != priority.Schedule || a[0].Author != "rule:sign-night" || a[0].Result != Complied {
		t.Errorf("audit = %+v", a)
	}
	if got := h.logs.lines(`msg="command expired"`, "device=sign", "point=power", "slot=manual", "author=alice"); len(got) != 1 {
		t.Errorf("expiry log lines = %q, want one", got)
	}
	if s := h.prio.Slots(power, h.clk.Now()); !s[priority.Manual].Empty {
		t.Errorf("manual slot still set: %+v", s[priority.Manual])
	}
}

func TestTriggerAppliesNewOverrideAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.set(t, power, priority.Schedule, on, "rule:sign-night", 0)
	h.start(t)
	h.set(t, power, priority.Manual, off, "alice", time.Hour)
	h.trigger(t, power)
	if v, _ := h.drv.Value(power); !drivers.Equal(v, off, 0) {
		t.Fatalf("sign = %v, want off right after the trigger", v)
	}
	if w := h.drv.Writes(); len(w) != 2 || !w[1].Time.Equal(t0) {
		t.Errorf("writes = %+v, want the override written at t0 without the clock moving", w)
	}
	h.r.Trigger(drivers.PointRef{Device: "nope", Point: "x"}) // ignored
}

func TestStuckRelayBacksOffAlarmsAndClears(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.InitialBackoff = time.Second
		c.MaxBackoff = 4 * time.Second
		c.AlarmAfter = 3
	})
	h.drv.SetFault(power, memory.Fault{Stuck: true})
	h.set(t, power, priority.Schedule, on, "rule:sign-night", 0)
	h.start(t) // attempt 1 at t0

	steps := []struct {
		name      string
		backoff   time.Duration // expected after the previous attempt
		wantAlarm bool          // after this attempt
	}{
		{name: "attempt 2 after 1s", backoff: 1 * time.Second},
		{name: "attempt 3 after 2s: alarm", backoff: 2 * time.Second, wantAlarm: true},
		{name: "attempt 4 after 4s", backoff: 4 * time.Second, wantAlarm: true},
		{name: "attempt 5 capped at 4s", backoff: 4 * time.Second, wantAlarm: true},
	}
	last := t0
	for i, st := range steps {
		s, _ := h.r.Status(power)
		if s.Backoff != st.backoff || !s.NextAttempt.Equal(last.Add(st.backoff)) || s.Failures != i+1 {
			t.Fatalf("%s: status before = %+v, want backoff %s from %v after %d failures", st.name, s, st.backoff, last, i+1)
		}
		// Just before the backoff ends nothing happens: the loop's timer has
		// not fired (it is still pending on the fake clock).
		waiters := h.clk.Waiters()
		h.clk.Advance(st.backoff - time.Millisecond)
		if n := len(h.drv.Writes()); n != i+1 || h.clk.Waiters() != waiters {
			t.Fatalf("%s: %d writes before the backoff ended, want %d", st.name, n, i+1)
		}
		h.advance(t, time.Millisecond)
		w := h.drv.Writes()
		if len(w) != i+2 {
			t.Fatalf("%s: %d writes, want %d", st.name, len(w), i+2)
		}
		if gap := w[i+1].Time.Sub(w[i].Time); gap != st.backoff {
			t.Errorf("%s: retry came %s after the previous write, want %s", st.name, gap, st.backoff)
		}
		last = w[i+1].Time
		s, _ = h.r.Status(power)
		if s.Alarm != st.wantAlarm {
			t.Errorf("%s: alarm = %v, want %v", st.name, s.Alarm, st.wantAlarm)
		}
	}
	if a := h.r.Alarms(); len(a) != 1 || a[0].Ref != power || !strings.Contains(a[0].LastError, "read back false") {
		t.Errorf("Alarms = %+v", a)
	}
	if got := h.logs.lines("level=WARN", "device=sign", "point=power"); len(got) != 1 {
		t.Errorf("alarm warnings = %q, want exactly one", got)
	}
	for _, a := range h.auditLog() {
		if a.Result != Mismatch || !errors.Is(a.Err, ErrMismatch) {
			t.Errorf("audit = %+v, want mismatches", a)
		}
	}

	// The relay is repaired: the next retry complies and clears the alarm.
	h.drv.SetFault(power, memory.Fault{})
	h.advance(t, 4*time.Second)
	if v, _ := h.drv.Value(power); !drivers.Equal(v, on, 0) {
		t.Fatalf("sign = %v after repair, want on", v)
	}
	s, _ := h.r.Status(power)
	if s.Alarm || s.Failures != 0 || s.Backoff != 0 || s.LastError != "" {
		t.Errorf("status after repair = %+v, want clear", s)
	}
	if a := h.r.Alarms(); len(a) != 0 {
		t.Errorf("Alarms after repair = %+v", a)
	}
	h.advance(t, time.Hour) // a regular check: nothing to do, nothing logged
	if got := h.logs.lines("alarm cleared", "device=sign", "point=power"); len(got) != 1 {
		t.Errorf("alarm-cleared lines = %q, want exactly one", got)
	}
	if n := len(h.drv.Writes()); n != 6 {
		t.Errorf("%d writes, want 6 (5 stuck + 1 good)", n)
	}
}

func TestWriteInFlightCompletesOnCancel(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OpTimeout = time.Minute })
	h.drv.SetFault(power, memory.Fault{WriteDelay: 5 * time.Second})
	h.set(t, power, priority.Schedule, on, "rule:sign-night", 0)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.r.Run(ctx) }()
	testenv.WaitFor(t, 5*time.Second, "the write to be in flight", func() bool { return h.drv.Pending() == 1 })
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned with the write still in flight")
	default:
	}
	h.clk.Advance(5 * time.Second) // the device acknowledges
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the write completed")
	}
	if v, _ := h.drv.Value(power); !drivers.Equal(v, on, 0) {
		t.Errorf("sign = %v, want on", v)
	}
	if a := h.auditLog(); len(a) != 1 || a[0].Result != Complied {
		t.Errorf("audit = %+v, want one complied write", a)
	}
	if p, _ := h.store.Get(power); p.Quality != points.Good || !drivers.Equal(p.Value, on, 0) {
		t.Errorf("store = %+v, want the read-back", p)
	}
}

func TestRunReturnsWithinOpTimeoutWhenDeviceHangs(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OpTimeout = 100 * time.Millisecond })
	h.drv.SetFault(power, memory.Fault{WriteDelay: time.Hour}) // never advanced
	h.set(t, power, priority.Schedule, on, "rule:sign-night", 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.r.Run(ctx) }()
	testenv.WaitFor(t, 5*time.Second, "the write to be in flight", func() bool { return h.drv.Pending() == 1 })
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Run took %s to return, want about the 100ms op timeout", took)
	}
	a := h.auditLog()
	if len(a) != 1 || a[0].Result != WriteFailed || !errors.Is(a[0].Err, context.DeadlineExceeded) {
		t.Errorf("audit = %+v, want a write that timed out", a)
	}
}

func TestConnectionsFailLocally(t *testing.T) {
	clk := clock.NewFake(t0)
	hung, healthy := memory.New(clk), memory.New(clk)
	pa := drivers.PointRef{Device: "pa", Point: "power"}
	hung.Add(pa, off)
	healthy.Add(power, off)
	hung.SetFault(pa, memory.Fault{WriteDelay: time.Hour})
	prio := priority.NewTable()
	for _, ref := range []drivers.PointRef{pa, power} {
		if err := prio.Set(ref, priority.Schedule, priority.Command{Value: on, Author: "rule", Set: t0}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := New(Config{
		Connections: []Connection{
			{Name: "rs485", Driver: hung, Points: []Point{{Ref: pa}}},
			{Name: "tcp", Driver: healthy, Points: []Point{{Ref: power}}},
		},
		Priorities: prio, Store: points.New(points.Options{Clock: clk}), Clock: clk,
		OpTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	testenv.WaitFor(t, 5*time.Second, "the healthy sign to be on while the PA hangs", func() bool {
		v, _ := healthy.Value(power)
		return drivers.Equal(v, on, 0) && hung.Pending() == 1
	})
	cancel()
	clk.Advance(time.Hour)
	<-done
	if err := r.Run(ctx); err != nil {
		t.Errorf("a second Run after the first ended = %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	drv := memory.New(clock.NewFake(t0))
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no table or store", cfg: Config{}, want: "no priority table"},
		{name: "nil driver", cfg: Config{Priorities: priority.NewTable(), Store: points.New(points.Options{}),
			Connections: []Connection{{Name: "bus1"}}}, want: `connection 0 ("bus1") has no driver`},
		{name: "duplicate point", cfg: Config{Priorities: priority.NewTable(), Store: points.New(points.Options{}),
			Connections: []Connection{{Name: "a", Driver: drv, Points: []Point{{Ref: power}}}, {Name: "b", Driver: drv, Points: []Point{{Ref: power}}}}},
			want: "point sign.power is listed twice"},
		{name: "backoff upside down", cfg: Config{Priorities: priority.NewTable(), Store: points.New(points.Options{}),
			InitialBackoff: time.Minute, MaxBackoff: time.Second}, want: "max backoff 1s is below initial backoff 1m0s"},
		{name: "negative tolerance", cfg: Config{Priorities: priority.NewTable(), Store: points.New(points.Options{}),
			Connections: []Connection{{Name: "a", Driver: drv, Points: []Point{{Ref: power, Tolerance: -1}}}}},
			want: "point sign.power: tolerance -1 is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestResultString(t *testing.T) {
	for r, want := range map[Result]string{Complied: "complied", WriteFailed: "write-failed", ReadbackFailed: "readback-failed", Mismatch: "mismatch", 9: "result(9)"} {
		if r.String() != want {
			t.Errorf("%d.String() = %q, want %q", r, r, want)
		}
	}
}
