// Package priority is the command model of writable points (DESIGN.md,
// "Priorities with expiry"): each point has a priority array in the spirit
// of BACnet whose slots, highest first, are Safety, Manual, Emergency,
// Schedule and Default. Each slot may hold a Command with an author and an
// optional expiry; a point's effective value is the highest slot that holds
// an unexpired command. An expired command relinquishes by itself: reads
// that take now ignore it, and Expire removes it and reports it so that the
// caller can log and audit the hand-back.
package priority

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
)

// Slot is one level of a priority array. A lower number wins.
type Slot uint8

// The slots, highest priority first.
const (
	Safety Slot = iota
	Manual
	Emergency
	Schedule
	Default

	// NumSlots is the number of slots in a priority array.
	NumSlots = int(Default) + 1
)

var slotNames = [NumSlots]string{"safety", "manual", "emergency", "schedule", "default"}

// String returns the slot's lower-case name, as used in the API and logs.
func (s Slot) String() string {
	if s.Valid() {
		return slotNames[s]
	}
	return fmt.Sprintf("slot(%d)", uint8(s))
}

// Valid reports whether s is one of the defined slots.
func (s Slot) Valid() bool { return int(s) < NumSlots }

// ParseSlot returns the slot named name (as printed by String).
func ParseSlot(name string) (Slot, error) {
	for i, n := range slotNames {
		if n == name {
			return Slot(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not a priority slot (safety, manual, emergency, schedule, default)", name)
}

// Command is what one slot asks of a point.
type Command struct {
	Value   drivers.Value
	Author  string    // a user, a rule name, or "config" for defaults
	Expires time.Time // zero: never expires
	Set     time.Time // when the command was given
}

// Expired reports whether c has expired at now; a command is expired from
// its Expires instant on.
func (c Command) Expired(now time.Time) bool {
	return !c.Expires.IsZero() && !now.Before(c.Expires)
}

// SlotState is one slot of a point as listed for the API.
type SlotState struct {
	Slot    Slot
	Command Command // zero when Empty
	Empty   bool    // no command, or only an expired one
}

// Expired is a command that relinquished its slot because it expired.
type Expired struct {
	Ref     drivers.PointRef
	Slot    Slot
	Command Command
}

// Errors returned (wrapped) by Set.
var (
	ErrInvalidSlot  = errors.New("invalid priority slot")
	ErrNoValue      = errors.New("command has no value")
	ErrAlreadyEnded = errors.New("command expires before it is set")
)

type array [NumSlots]*Command

// Table holds the priority arrays of all writable points, keyed by ref. It
// is safe for concurrent use. The zero value is ready to use.
type Table struct {
	mu     sync.Mutex
	points map[drivers.PointRef]*array
}

// NewTable returns an empty Table.
func NewTable() *Table { return &Table{} }

// Set puts cmd in slot of ref, replacing what was there. The command must
// carry a value and must not expire at or before its Set time.
func (t *Table) Set(ref drivers.PointRef, slot Slot, cmd Command) error {
	if !slot.Valid() {
		return fmt.Errorf("set %s at %s: %w", ref, slot, ErrInvalidSlot)
	}
	if cmd.Value.IsZero() {
		return fmt.Errorf("set %s at %s: %w", ref, slot, ErrNoValue)
	}
	if !cmd.Expires.IsZero() && cmd.Expired(cmd.Set) {
		return fmt.Errorf("set %s at %s to %s: expires %s, set %s: %w",
			ref, slot, cmd.Value, cmd.Expires.Format(time.RFC3339), cmd.Set.Format(time.RFC3339), ErrAlreadyEnded)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.points == nil {
		t.points = make(map[drivers.PointRef]*array)
	}
	a, ok := t.points[ref]
	if !ok {
		a = new(array)
		t.points[ref] = a
	}
	c := cmd
	a[slot] = &c
	return nil
}

// Relinquish empties slot of ref and returns what it held (expired or not).
func (t *Table) Relinquish(ref drivers.PointRef, slot Slot) (Command, bool) {
	if !slot.Valid() {
		return Command{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.points[ref]
	if !ok || a[slot] == nil {
		return Command{}, false
	}
	c := *a[slot]
	a[slot] = nil
	return c, true
}

// Effective returns the command of the highest slot of ref that holds an
// unexpired command at now, and that slot; ok is false when every slot is
// empty or expired.
func (t *Table) Effective(ref drivers.PointRef, now time.Time) (cmd Command, slot Slot, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, found := t.points[ref]
	if !found {
		return Command{}, 0, false
	}
	for i, c := range a {
		if c != nil && !c.Expired(now) {
			return *c, Slot(i), true
		}
	}
	return Command{}, 0, false
}

// Slots lists all NumSlots slots of ref, highest first, as of now; expired
// commands show as Empty.
func (t *Table) Slots(ref drivers.PointRef, now time.Time) []SlotState {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]SlotState, NumSlots)
	a := t.points[ref]
	for i := range out {
		out[i].Slot = Slot(i)
		if a == nil || a[i] == nil || a[i].Expired(now) {
			out[i].Empty = true
			continue
		}
		out[i].Command = *a[i]
	}
	return out
}

// Expire removes the commands of ref that have expired at now and returns
// them, highest slot first. Each expired command is returned once.
func (t *Table) Expire(ref drivers.PointRef, now time.Time) []Expired {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.expireLocked(ref, now, nil)
}

// ExpireAll is Expire for every point, sorted by ref then slot.
func (t *Table) ExpireAll(now time.Time) []Expired {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Expired
	for _, ref := range t.refsLocked() {
		out = t.expireLocked(ref, now, out)
	}
	return out
}

func (t *Table) expireLocked(ref drivers.PointRef, now time.Time, out []Expired) []Expired {
	a, ok := t.points[ref]
	if !ok {
		return out
	}
	for i, c := range a {
		if c != nil && c.Expired(now) {
			out = append(out, Expired{Ref: ref, Slot: Slot(i), Command: *c})
			a[i] = nil
		}
	}
	return out
}

// NextExpiry returns the earliest expiry after now among the commands of
// ref; a reconciler sleeps until then to hand control back on time.
func (t *Table) NextExpiry(ref drivers.PointRef, now time.Time) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var next time.Time
	a, ok := t.points[ref]
	if !ok {
		return next, false
	}
	for _, c := range a {
		if c == nil || c.Expires.IsZero() || c.Expired(now) {
			continue
		}
		if next.IsZero() || c.Expires.Before(next) {
			next = c.Expires
		}
	}
	return next, !next.IsZero()
}

// Refs returns the points that have ever been Set, sorted by device then
// point.
func (t *Table) Refs() []drivers.PointRef {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.refsLocked()
}

func (t *Table) refsLocked() []drivers.PointRef {
	refs := make([]drivers.PointRef, 0, len(t.points))
	for r := range t.points {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Device != refs[j].Device {
			return refs[i].Device < refs[j].Device
		}
		return refs[i].Point < refs[j].Point
	})
	return refs
}
