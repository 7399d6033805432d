// Package kinds is the middle layer of Beacon (DESIGN.md, "Three layers"):
// it knows what a point means for each kind of device. Rules say *when* and
// what is wanted ("sign on", "flag to half-mast", "broadcast clip X");
// drivers say *how* on the wire; a kind turns an intent into point commands
// and measurements into facts — a sign is lit when its current says so, a
// half-mast goes to the top first, a broadcast is amplifier on, warm-up,
// zones, volume, play, wait, off.
//
// Kinds read measurements from the point store and ask for values through
// priority slots; the reconciler does the writing and read-back. They take
// an injected clock and never sleep blindly.
package kinds

import (
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/priority"
)

// Points is the read side of the point store that kinds need.
type Points interface {
	Get(ref drivers.PointRef) (points.Point, bool)
}

// Commands is the write side: a kind asks for a value in a priority slot
// and the reconciler converges the device to it.
type Commands interface {
	// Command puts value in slot of ref, authored by author, and wakes the
	// reconciler.
	Command(ref drivers.PointRef, slot priority.Slot, value drivers.Value, author string) error
	// Release empties slot of ref.
	Release(ref drivers.PointRef, slot priority.Slot)
	// Effective returns the value the point is being driven to, if any.
	Effective(ref drivers.PointRef) (drivers.Value, priority.Slot, bool)
}

// goodNumber returns a point's value as a number when it is good.
func goodNumber(p points.Point, ok bool) (float64, bool) {
	if !ok || p.Quality != points.Good {
		return 0, false
	}
	return p.Value.AsNumber()
}

// goodBool returns a point's value as a bool when it is good.
func goodBool(p points.Point, ok bool) (bool, bool) {
	if !ok || p.Quality != points.Good {
		return false, false
	}
	return p.Value.AsBool()
}

// Alarm is a condition a person must look at, on one device.
type Alarm struct {
	Device  string
	Code    string // stable identifier, e.g. "partly-dark", "motor-jam"
	Message string
	Since   time.Time
}

// Alarms is the set of active alarms of a center. Raising an active alarm
// or clearing an inactive one does nothing, so kinds may call them on every
// evaluation; each transition is logged once. Safe for concurrent use.
type Alarms struct {
	mu     sync.Mutex
	active map[string]Alarm
	log    *slog.Logger
	// OnChange, when set, hears every raise and clear (telemetry, MQTT).
	OnChange func(a Alarm, raised bool)
}

// NewAlarms returns an empty alarm set that logs transitions to logger
// (nil: discard).
func NewAlarms(logger *slog.Logger) *Alarms {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Alarms{active: map[string]Alarm{}, log: logger}
}

func alarmKey(device, code string) string { return device + "/" + code }

// Raise makes an alarm active from now, unless it already is.
func (as *Alarms) Raise(now time.Time, device, code, format string, args ...any) {
	as.mu.Lock()
	k := alarmKey(device, code)
	if _, ok := as.active[k]; ok {
		as.mu.Unlock()
		return
	}
	a := Alarm{Device: device, Code: code, Message: fmt.Sprintf(format, args...), Since: now}
	as.active[k] = a
	hook := as.OnChange
	as.mu.Unlock()
	as.log.Warn("alarm raised", "device", device, "alarm", code, "message", a.Message)
	if hook != nil {
		hook(a, true)
	}
}

// Clear ends an alarm, if active.
func (as *Alarms) Clear(device, code string) {
	as.mu.Lock()
	k := alarmKey(device, code)
	a, ok := as.active[k]
	if ok {
		delete(as.active, k)
	}
	hook := as.OnChange
	as.mu.Unlock()
	if !ok {
		return
	}
	as.log.Info("alarm cleared", "device", device, "alarm", code)
	if hook != nil {
		hook(a, false)
	}
}

// Active reports whether an alarm is active.
func (as *Alarms) Active(device, code string) bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	_, ok := as.active[alarmKey(device, code)]
	return ok
}

// List returns the active alarms sorted by device and code.
func (as *Alarms) List() []Alarm {
	as.mu.Lock()
	defer as.mu.Unlock()
	out := make([]Alarm, 0, len(as.active))
	for _, a := range as.active {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Device != out[j].Device {
			return out[i].Device < out[j].Device
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// debounce tracks how long a condition has held, so that an alarm is raised
// only for a condition that lasts (a sign just switched on draws its
// current one poll later).
type debounce struct {
	since map[string]time.Time
}

// held records whether cond holds at now and reports whether it has held
// for at least d.
func (db *debounce) held(key string, cond bool, now time.Time, d time.Duration) bool {
	if db.since == nil {
		db.since = map[string]time.Time{}
	}
	if !cond {
		delete(db.since, key)
		return false
	}
	start, ok := db.since[key]
	if !ok {
		db.since[key] = now
		start = now
	}
	return now.Sub(start) >= d
}
