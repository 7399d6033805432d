// Package memory is an in-memory drivers.Driver for unit tests and for the
// gateway runtime's own tests: it holds point values in a map, logs every
// write for assertions, and injects per-point faults (read error, write
// error, a "stuck" relay that acknowledges writes but keeps its readback, and
// a delay measured on an injected clock that honours ctx).
//
// It also implements drivers.Subscriber: Set (a change on the device side)
// and every write that changes a value are pushed to subscribers.
package memory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/internal/clock"
)

var (
	_ drivers.Driver     = (*Driver)(nil)
	_ drivers.Subscriber = (*Driver)(nil)
)

// ErrClosed is returned by every call on a closed Driver.
var ErrClosed = errors.New("memory driver closed")

// ErrUnknownPoint is returned (wrapped) for a ref that was never Added.
var ErrUnknownPoint = errors.New("unknown point")

// Fault is what goes wrong with one point. The zero Fault is a healthy
// point.
type Fault struct {
	// ReadErr, when set, is the Err of every Sample of this point.
	ReadErr error
	// WriteErr, when set, is returned (wrapped) by every Write to this point;
	// the value does not change.
	WriteErr error
	// Stuck makes Write succeed without changing the value, like a relay
	// whose contact is welded: only a read-back shows the failure.
	Stuck bool
	// ReadDelay and WriteDelay hold each Read or Write of this point for
	// that long on the driver's clock, or until ctx ends.
	ReadDelay  time.Duration
	WriteDelay time.Duration
}

// Write is one entry of the write log: every Write call that reached a
// known point, whether it failed or not.
type Write struct {
	Ref   drivers.PointRef
	Value drivers.Value
	Time  time.Time // on the driver's clock, when the write was accepted or failed
	Err   error
}

type subscription struct {
	deliver func(drivers.Sample)
}

// Driver is an in-memory driver. The zero value is not usable; call New.
// All methods are safe for concurrent use.
type Driver struct {
	clk clock.Clock

	mu      sync.Mutex
	values  map[drivers.PointRef]drivers.Value
	faults  map[drivers.PointRef]Fault
	writes  []Write
	subs    map[*subscription]struct{}
	pending int
	closed  bool
}

// New returns an empty Driver whose timestamps and delays use clk.
func New(clk clock.Clock) *Driver {
	return &Driver{
		clk:    clk,
		values: make(map[drivers.PointRef]drivers.Value),
		faults: make(map[drivers.PointRef]Fault),
		subs:   make(map[*subscription]struct{}),
	}
}

// Add declares a point with its initial value (which may be the zero Value).
// Reads and writes of points never added fail with ErrUnknownPoint.
func (d *Driver) Add(ref drivers.PointRef, v drivers.Value) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.values[ref] = v
}

// Set changes a point's value from the device side (a sensor moved, someone
// pressed a switch) and pushes it to subscribers. It adds the point if it
// was not known. It ignores Stuck: it is the device itself changing.
func (d *Driver) Set(ref drivers.PointRef, v drivers.Value) {
	d.mu.Lock()
	d.values[ref] = v
	s := drivers.Sample{Ref: ref, Value: v, Time: d.clk.Now()}
	subs := d.subscribersLocked()
	d.mu.Unlock()
	for _, sub := range subs {
		sub.deliver(s)
	}
}

// Value returns a point's current value inside the "device", bypassing
// faults; tests use it to assert what the hardware would show.
func (d *Driver) Value(ref drivers.PointRef) (drivers.Value, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.values[ref]
	return v, ok
}

// SetFault replaces the fault of one point; SetFault(ref, Fault{}) heals it.
func (d *Driver) SetFault(ref drivers.PointRef, f Fault) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f == (Fault{}) {
		delete(d.faults, ref)
		return
	}
	d.faults[ref] = f
}

// Writes returns a copy of the write log, oldest first.
func (d *Driver) Writes() []Write {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Write(nil), d.writes...)
}

// Pending reports how many Read or Write calls are currently held by a
// delay; tests use it to know an operation is in flight.
func (d *Driver) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending
}

// Subscribers reports how many subscriptions are active.
func (d *Driver) Subscribers() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.subs)
}

// Refs returns the known points, sorted by device then point.
func (d *Driver) Refs() []drivers.PointRef {
	d.mu.Lock()
	defer d.mu.Unlock()
	refs := make([]drivers.PointRef, 0, len(d.values))
	for r := range d.values {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	return refs
}

// Read returns one Sample per ref, in order. A point with a ReadErr fault
// yields a Sample with Err set. Read fails as a whole only for an unknown
// ref, a closed driver, or when ctx ends (also during a ReadDelay).
func (d *Driver) Read(ctx context.Context, refs []drivers.PointRef) ([]drivers.Sample, error) {
	var delay time.Duration
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, fmt.Errorf("read %d points: %w", len(refs), ErrClosed)
	}
	for _, r := range refs {
		if _, ok := d.values[r]; !ok {
			d.mu.Unlock()
			return nil, fmt.Errorf("read %s: %w", r, ErrUnknownPoint)
		}
		delay = max(delay, d.faults[r].ReadDelay)
	}
	d.mu.Unlock()

	if err := d.wait(ctx, delay); err != nil {
		return nil, fmt.Errorf("read %d points: %w", len(refs), err)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.clk.Now()
	out := make([]drivers.Sample, len(refs))
	for i, r := range refs {
		out[i] = drivers.Sample{Ref: r, Time: now}
		if err := d.faults[r].ReadErr; err != nil {
			out[i].Err = fmt.Errorf("read %s: %w", r, err)
			continue
		}
		out[i].Value = d.values[r]
	}
	return out, nil
}

// Write sets one point, subject to its fault, logs the attempt, and pushes a
// changed value to subscribers.
func (d *Driver) Write(ctx context.Context, ref drivers.PointRef, v drivers.Value) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return fmt.Errorf("write %s: %w", ref, ErrClosed)
	}
	if _, ok := d.values[ref]; !ok {
		d.mu.Unlock()
		return fmt.Errorf("write %s: %w", ref, ErrUnknownPoint)
	}
	delay := d.faults[ref].WriteDelay
	d.mu.Unlock()

	if err := d.wait(ctx, delay); err != nil {
		d.mu.Lock()
		d.writes = append(d.writes, Write{Ref: ref, Value: v, Time: d.clk.Now(), Err: err})
		d.mu.Unlock()
		return fmt.Errorf("write %s = %s: %w", ref, v, err)
	}

	d.mu.Lock()
	f := d.faults[ref]
	w := Write{Ref: ref, Value: v, Time: d.clk.Now()}
	if f.WriteErr != nil {
		w.Err = fmt.Errorf("write %s = %s: %w", ref, v, f.WriteErr)
		d.writes = append(d.writes, w)
		d.mu.Unlock()
		return w.Err
	}
	d.writes = append(d.writes, w)
	var subs []*subscription
	changed := !f.Stuck && !drivers.Equal(d.values[ref], v, 0)
	if !f.Stuck {
		d.values[ref] = v
	}
	if changed {
		subs = d.subscribersLocked()
	}
	d.mu.Unlock()
	for _, sub := range subs {
		sub.deliver(drivers.Sample{Ref: ref, Value: v, Time: w.Time})
	}
	return nil
}

// Subscribe registers deliver and returns at once. deliver is called, from
// the goroutine that calls Set or Write, for every value change until ctx
// ends; it must not call back into the driver's Set or Write.
func (d *Driver) Subscribe(ctx context.Context, deliver func(drivers.Sample)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("subscribe: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	sub := &subscription{deliver: deliver}
	d.subs[sub] = struct{}{}
	context.AfterFunc(ctx, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		delete(d.subs, sub)
	})
	return nil
}

// Close marks the driver closed; later calls fail with ErrClosed and
// subscriptions end. It is safe to call more than once.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	clear(d.subs)
	return nil
}

func (d *Driver) subscribersLocked() []*subscription {
	subs := make([]*subscription, 0, len(d.subs))
	for s := range d.subs {
		subs = append(subs, s)
	}
	return subs
}

// wait holds for delay on the driver's clock, or until ctx ends.
func (d *Driver) wait(ctx context.Context, delay time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if delay <= 0 {
		return nil
	}
	// Register the timer before counting the operation as pending, so that a
	// test that sees Pending() > 0 and advances the clock always wakes it.
	timer := d.clk.After(delay)
	d.mu.Lock()
	d.pending++
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.pending--
		d.mu.Unlock()
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer:
		return nil
	}
}
