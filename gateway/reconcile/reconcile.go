// Package reconcile converges writable points to their effective commands
// (DESIGN.md, "Desired state, not edge triggers" and "Trust measurements,
// not commands"). For each point, when the effective value of its priority
// array differs from the measured value in the point store, the Reconciler
// writes it through the point's driver, reads it back, verifies it within
// the point's tolerance and records the read-back in the store.
//
// A point that does not converge is retried with capped exponential
// backoff; after AlarmAfter consecutive failures it is in alarm, logged once
// as a warning, until the device complies again (logged once). Every write
// is reported to an optional audit hook.
//
// One goroutine serves each connection, so a hung device delays only the
// points of its own connection. All waiting is on the injected clock.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/internal/clock"
)

// Defaults for the zero fields of Config.
const (
	DefaultInterval       = 10 * time.Second
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = time.Minute
	DefaultAlarmAfter     = 3
	DefaultOpTimeout      = 5 * time.Second
)

// ErrMismatch is wrapped by the error of a write whose read-back differs
// from the commanded value.
var ErrMismatch = errors.New("read-back differs from the command")

// Point is one writable point and how its read-back is compared.
type Point struct {
	Ref drivers.PointRef
	// Tolerance is the absolute tolerance of drivers.Equal for numbers (for
	// example 0.1 for a register in tenths); 0 means exact.
	Tolerance float64
}

// Connection is one driver and the writable points it serves.
type Connection struct {
	// Name is the connection's name in the config; it becomes the Source of
	// the read-backs recorded in the store.
	Name   string
	Driver drivers.Driver
	Points []Point
}

// Config is everything a Reconciler needs. Zero durations and counts take
// the defaults above.
type Config struct {
	Connections []Connection
	Priorities  *priority.Table
	Store       *points.Store
	Clock       clock.Clock  // nil: clock.Real{}
	Logger      *slog.Logger // nil: discard

	// Interval is the longest the reconciler sleeps before checking every
	// point against the store again.
	Interval time.Duration
	// InitialBackoff and MaxBackoff bound the retry delay of a point that
	// failed to converge: InitialBackoff after the first failure, doubling
	// after each further one, never more than MaxBackoff.
	InitialBackoff, MaxBackoff time.Duration
	// AlarmAfter is the number of consecutive failures that put a point in
	// alarm.
	AlarmAfter int
	// OpTimeout bounds one write and its read-back. They are not cancelled
	// when Run's ctx ends, so that a write in flight completes; OpTimeout
	// is therefore also the bound on how long Run takes to return.
	OpTimeout time.Duration
	// Audit, when set, is called for every write, from the reconciler's
	// goroutines; it must not block.
	Audit func(AuditEvent)
}

// Result is the outcome of one write.
type Result uint8

// The results of a write.
const (
	Complied       Result = iota // written, read back and equal
	WriteFailed                  // the driver's Write failed
	ReadbackFailed               // written, but the read-back failed
	Mismatch                     // written and read back, but different
)

func (r Result) String() string {
	switch r {
	case Complied:
		return "complied"
	case WriteFailed:
		return "write-failed"
	case ReadbackFailed:
		return "readback-failed"
	case Mismatch:
		return "mismatch"
	default:
		return fmt.Sprintf("result(%d)", uint8(r))
	}
}

// AuditEvent reports one write to a device.
type AuditEvent struct {
	Time     time.Time // when the write ended, on the reconciler's clock
	Ref      drivers.PointRef
	Slot     priority.Slot
	Author   string
	Value    drivers.Value // commanded
	Readback drivers.Value // zero unless read back
	Result   Result
	Err      error // nil when Result is Complied
}

// Status is the convergence state of one point.
type Status struct {
	Ref drivers.PointRef
	// Alarm is set after AlarmAfter consecutive failures, until the device
	// complies again.
	Alarm bool
	// Failures counts consecutive failed attempts; 0 when converged.
	Failures int
	// LastError is the text of the latest failure; empty when converged.
	LastError string
	// Backoff is the current retry delay and NextAttempt when it ends; both
	// zero when the point is not failing.
	Backoff     time.Duration
	NextAttempt time.Time
}

// pointState is the reconciler's view of one point; guarded by
// Reconciler.mu except for the immutable fields.
type pointState struct {
	Point
	log  *slog.Logger
	conn *conn

	failures  int
	alarm     bool
	lastErr   string
	backoff   time.Duration
	next      time.Time
	triggered bool
}

type conn struct {
	name   string
	driver drivers.Driver
	points []*pointState
	wake   chan struct{}
}

// Reconciler converges points to their effective commands. Create it with
// New and start it with Run.
type Reconciler struct {
	cfg   Config
	clk   clock.Clock
	log   *slog.Logger
	conns []*conn
	byRef map[drivers.PointRef]*pointState

	mu      sync.Mutex
	running bool

	// Test instrumentation: loops asleep now, and times any loop went to
	// sleep.
	asleep atomic.Int32
	sleeps atomic.Int64
}

// New checks cfg, fills in defaults and returns a Reconciler that is not yet
// running.
func New(cfg Config) (*Reconciler, error) {
	var problems []error
	if cfg.Priorities == nil {
		problems = append(problems, errors.New("no priority table"))
	}
	if cfg.Store == nil {
		problems = append(problems, errors.New("no point store"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", cfg.Interval}, {"initial backoff", cfg.InitialBackoff}, {"max backoff", cfg.MaxBackoff}, {"op timeout", cfg.OpTimeout}} {
		if d.v < 0 {
			problems = append(problems, fmt.Errorf("%s %s is negative", d.name, d.v))
		}
	}
	if cfg.AlarmAfter < 0 {
		problems = append(problems, fmt.Errorf("alarm after %d failures is negative", cfg.AlarmAfter))
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.InitialBackoff == 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.InitialBackoff)
	}
	if cfg.MaxBackoff < cfg.InitialBackoff {
		problems = append(problems, fmt.Errorf("max backoff %s is below initial backoff %s", cfg.MaxBackoff, cfg.InitialBackoff))
	}
	if cfg.AlarmAfter == 0 {
		cfg.AlarmAfter = DefaultAlarmAfter
	}
	if cfg.OpTimeout == 0 {
		cfg.OpTimeout = DefaultOpTimeout
	}
	r := &Reconciler{cfg: cfg, clk: cfg.Clock, log: cfg.Logger, byRef: make(map[drivers.PointRef]*pointState)}
	if r.clk == nil {
		r.clk = clock.Real{}
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for i, c := range cfg.Connections {
		if c.Driver == nil {
			problems = append(problems, fmt.Errorf("connection %d (%q) has no driver", i, c.Name))
			continue
		}
		cn := &conn{name: c.Name, driver: c.Driver, wake: make(chan struct{}, 1)}
		for _, p := range c.Points {
			if _, dup := r.byRef[p.Ref]; dup {
				problems = append(problems, fmt.Errorf("point %s is listed twice", p.Ref))
				continue
			}
			if p.Tolerance < 0 {
				problems = append(problems, fmt.Errorf("point %s: tolerance %g is negative", p.Ref, p.Tolerance))
			}
			ps := &pointState{Point: p, conn: cn, log: r.log.With("device", p.Ref.Device, "point", p.Ref.Point)}
			r.byRef[p.Ref] = ps
			cn.points = append(cn.points, ps)
		}
		sort.Slice(cn.points, func(i, j int) bool { return cn.points[i].Ref.String() < cn.points[j].Ref.String() })
		r.conns = append(r.conns, cn)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configure reconciler: %w", errors.Join(problems...))
	}
	return r, nil
}

// Run reconciles until ctx ends, then waits for each connection's write in
// flight (at most OpTimeout) and returns nil. It returns an error at once if
// the Reconciler is already running.
func (r *Reconciler) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("run reconciler: already running")
	}
	r.running = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		r.mu.Unlock()
	}()

	if len(r.conns) == 0 {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	for _, c := range r.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, c)
		}()
	}
	wg.Wait()
	return nil
}

// Trigger asks for ref to be reconciled now rather than at the next check,
// even if it is waiting out a backoff: call it after changing ref's priority
// array. Unknown refs are ignored.
func (r *Reconciler) Trigger(ref drivers.PointRef) {
	p, ok := r.byRef[ref]
	if !ok {
		return
	}
	r.mu.Lock()
	p.triggered = true
	r.mu.Unlock()
	select {
	case p.conn.wake <- struct{}{}:
	default:
	}
}

// Status returns the convergence state of ref; ok is false for a ref the
// reconciler does not serve.
func (r *Reconciler) Status(ref drivers.PointRef) (Status, bool) {
	p, ok := r.byRef[ref]
	if !ok {
		return Status{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.statusLocked(), true
}

// Alarms returns the points in alarm, sorted by ref.
func (r *Reconciler) Alarms() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Status
	for _, c := range r.conns {
		for _, p := range c.points {
			if p.alarm {
				out = append(out, p.statusLocked())
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref.String() < out[j].Ref.String() })
	return out
}

func (p *pointState) statusLocked() Status {
	return Status{Ref: p.Ref, Alarm: p.alarm, Failures: p.failures, LastError: p.lastErr, Backoff: p.backoff, NextAttempt: p.next}
}

// loop serves one connection until ctx ends.
func (r *Reconciler) loop(ctx context.Context, c *conn) {
	var timer <-chan time.Time
	var timerAt time.Time
	for {
		now := r.clk.Now()
		for _, p := range c.points {
			if ctx.Err() != nil {
				return
			}
			if r.due(p, now) {
				r.reconcile(ctx, c, p)
			}
		}
		now = r.clk.Now()
		wake := r.nextWake(c, now)
		if timer == nil || !wake.Equal(timerAt) {
			timer, timerAt = r.clk.After(wake.Sub(now)), wake
		}
		r.asleep.Add(1)
		r.sleeps.Add(1)
		select {
		case <-ctx.Done():
			r.asleep.Add(-1)
			return
		case <-timer:
			timer = nil
		case <-c.wake:
		}
		r.asleep.Add(-1)
	}
}

// due reports whether p should be looked at now: always, unless it is
// waiting out a backoff and was not triggered.
func (r *Reconciler) due(p *pointState, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.triggered {
		p.triggered = false
		return true
	}
	return p.failures == 0 || !now.Before(p.next)
}

// nextWake is the earliest of: the next regular check, the end of a backoff,
// and the expiry of a command, among c's points.
func (r *Reconciler) nextWake(c *conn, now time.Time) time.Time {
	wake := now.Add(r.cfg.Interval)
	r.mu.Lock()
	for _, p := range c.points {
		if p.failures > 0 && p.next.Before(wake) {
			wake = p.next
		}
	}
	r.mu.Unlock()
	for _, p := range c.points {
		if t, ok := r.cfg.Priorities.NextExpiry(p.Ref, now); ok && t.Before(wake) {
			wake = t
		}
	}
	return wake
}

// reconcile brings one point to its effective command, if it has one.
func (r *Reconciler) reconcile(ctx context.Context, c *conn, p *pointState) {
	now := r.clk.Now()
	for _, e := range r.cfg.Priorities.Expire(p.Ref, now) {
		p.log.Info("command expired", "slot", e.Slot.String(), "author", e.Command.Author,
			"value", e.Command.Value.String(), "expires", e.Command.Expires)
	}
	cmd, slot, ok := r.cfg.Priorities.Effective(p.Ref, now)
	if !ok {
		r.settle(p, "no command")
		return
	}

	measured, known := r.measured(p.Ref)
	if !known {
		// The store cannot vouch for the device: read it before deciding
		// to write. This read is abandoned when ctx ends.
		s, err := r.readOne(ctx, c, p.Ref)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.fail(p, fmt.Errorf("read %s before writing %s: %w", p.Ref, cmd.Value, err))
			return
		}
		measured = s.Value
	}
	if drivers.Equal(measured, cmd.Value, p.Tolerance) {
		r.settle(p, "device complies")
		return
	}

	// The write and its read-back complete even if ctx ends meanwhile, but
	// never take longer than OpTimeout.
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.OpTimeout)
	defer cancel()
	ev := AuditEvent{Ref: p.Ref, Slot: slot, Author: cmd.Author, Value: cmd.Value}
	err := c.driver.Write(opCtx, p.Ref, cmd.Value)
	switch {
	case err != nil:
		ev.Result, ev.Err = WriteFailed, fmt.Errorf("write %s = %s (%s by %s): %w", p.Ref, cmd.Value, slot, cmd.Author, err)
	default:
		s, rerr := r.readOne(opCtx, c, p.Ref)
		switch {
		case rerr != nil:
			ev.Result, ev.Err = ReadbackFailed, fmt.Errorf("read back %s after writing %s: %w", p.Ref, cmd.Value, rerr)
		case !drivers.Equal(s.Value, cmd.Value, p.Tolerance):
			ev.Readback = s.Value
			ev.Result, ev.Err = Mismatch, fmt.Errorf("write %s = %s: read back %s: %w", p.Ref, cmd.Value, s.Value, ErrMismatch)
		default:
			ev.Readback = s.Value
			ev.Result = Complied
		}
	}
	ev.Time = r.clk.Now()
	if r.cfg.Audit != nil {
		r.cfg.Audit(ev)
	}
	if ev.Err != nil {
		r.fail(p, ev.Err)
		return
	}
	p.log.Info("wrote point", "slot", slot.String(), "author", cmd.Author, "value", cmd.Value.String())
	r.settle(p, "device complies")
}

// measured returns the store's value of ref when it is Good.
func (r *Reconciler) measured(ref drivers.PointRef) (drivers.Value, bool) {
	pt, ok := r.cfg.Store.Get(ref)
	if !ok || pt.Quality != points.Good {
		return drivers.Value{}, false
	}
	return pt.Value, true
}

// readOne reads ref through c's driver and records the sample in the store.
func (r *Reconciler) readOne(ctx context.Context, c *conn, ref drivers.PointRef) (drivers.Sample, error) {
	samples, err := c.driver.Read(ctx, []drivers.PointRef{ref})
	if err != nil {
		return drivers.Sample{}, err
	}
	if len(samples) != 1 {
		return drivers.Sample{}, fmt.Errorf("driver of %s returned %d samples for 1 point", c.name, len(samples))
	}
	s := samples[0]
	// Samples are stamped with the reconciler's clock, which is the
	// gateway's (a simulated one in a dry run), not the driver's.
	s.Time = r.clk.Now()
	r.cfg.Store.Update(c.name, s)
	return s, s.Err
}

// fail records a failed attempt and schedules the retry.
func (r *Reconciler) fail(p *pointState, err error) {
	now := r.clk.Now()
	r.mu.Lock()
	p.failures++
	if p.failures == 1 {
		p.backoff = r.cfg.InitialBackoff
	} else {
		p.backoff = min(2*p.backoff, r.cfg.MaxBackoff)
	}
	p.next = now.Add(p.backoff)
	p.lastErr = err.Error()
	raise := p.failures >= r.cfg.AlarmAfter && !p.alarm
	if raise {
		p.alarm = true
	}
	failures, backoff := p.failures, p.backoff
	r.mu.Unlock()
	if raise {
		p.log.Warn("point in alarm: device does not comply", "failures", failures, "err", err)
		return
	}
	p.log.Info("point did not converge; will retry", "failures", failures, "retry_in", backoff, "err", err)
}

// settle clears p's failure state; an alarm that clears is logged once.
func (r *Reconciler) settle(p *pointState, why string) {
	r.mu.Lock()
	cleared := p.alarm
	p.failures, p.alarm, p.lastErr, p.backoff, p.next = 0, false, "", 0, time.Time{}
	r.mu.Unlock()
	if cleared {
		p.log.Info("point alarm cleared: " + why)
	}
}
