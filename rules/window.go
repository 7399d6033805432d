package rules

// Window rules are level-triggered: between two time expressions a window
// wants its Set values; outside it wants its Otherwise values, or nothing
// (the slot is relinquished). Conditions on points gate a window.

import (
	"time"

	"github.com/beacon-edge/beacon/drivers"
)

// Setting is one value a rule wants for a point.
type Setting struct {
	Point drivers.PointRef
	Value drivers.Value
}

// PointState is a point's current value and the instant it took that value.
// The caller (the point store) tracks Since; rules only reads it.
type PointState struct {
	Value drivers.Value
	Since time.Time
}

// Condition holds when Point has had Value without a break for at least For:
// "the hall has been empty for 15 min" is {hall.occupied, false, 15m}.
type Condition struct {
	Point drivers.PointRef
	Value drivers.Value
	For   time.Duration
}

// Holds reports whether the condition holds at t. A point with no value, or
// whose Since lies after t, does not satisfy it.
func (c Condition) Holds(t time.Time, points map[drivers.PointRef]PointState) bool {
	ps, ok := points[c.Point]
	if !ok || ps.Value.IsZero() || !drivers.Equal(ps.Value, c.Value, 0) {
		return false
	}
	return !ps.Since.After(t) && t.Sub(ps.Since) >= c.For
}

// Window is a level-triggered rule.
//
// An occurrence of a window belongs to the day it starts on: on an allowed
// day d it runs from Start on d to End on d, or, when that End is not after
// Start, to End on d+1 (so [sunset-15m, sunrise+15m] and [22:00, 06:00] cross
// midnight, and [07:00, 07:00] lasts 24 h). Days and the calendar are
// checked for d only.
//
// Wall-clock ends on DST days follow WallTime: a time the zone skips is the
// instant of the change, a repeated time its first occurrence.
//
// Polar days, where a sun anchor has no event, use stand-ins at the solar
// midnights around the day (solar noon ∓ 12 h), chosen so that the night, or
// the day, fills all 24 hours:
//   - polar night (sun always below the event's altitude): the setting event
//     is the solar midnight before the day, the rising event the one after.
//     A [sunset-15m, sunrise+15m] window is on all day and all night;
//     [sunrise, sunset] never opens.
//   - polar day (sun always above): the rising event is the solar midnight
//     before, the setting event the one after. [sunset, sunrise] never
//     opens; [sunset-15m, sunrise+15m] is on only for the 30 min of its
//     offsets around solar midnight, the limit of its last ordinary night.
//
// Jobs, unlike windows, have no stand-ins: an "at: sunrise" job does not run
// on a day without a sunrise (see Job).
type Window struct {
	Name string
	// Always makes a window with no times: it is open all of every allowed
	// day while its Conditions hold. Start and End are ignored.
	Always     bool
	Start, End TimeExpr
	Days       DayFilter
	// Conditions must all hold for the window to be open.
	Conditions []Condition
	Set        []Setting
	// Otherwise is wanted while the window is closed; a point the window
	// sets but Otherwise does not name is relinquished.
	Otherwise []Setting
}

// occurrence is one run of a window, anchored on a day.
type occurrence struct {
	start, end time.Time // end exclusive; start == end: empty
	allowed    bool
	reason     string // why not allowed, or which calendar tag allowed it
	note       string // a polar stand-in was used
}

func (o occurrence) contains(t time.Time) bool {
	return o.allowed && !t.Before(o.start) && t.Before(o.end)
}

// resolve returns the instant of e on date d. When e is a sun event the day
// lacks, status says why and, without standIn, t is zero; with standIn the
// polar stand-ins documented on Window apply and note says so.
func resolve(e TimeExpr, d Date, sunOf func(Date) SunDay, loc *time.Location, standIn bool) (t time.Time, status SunStatus, note string) {
	if e.Anchor == AnchorClock {
		return WallTime(d, e.Clock, loc), SunOccurs, ""
	}
	sun := sunOf(d)
	ev := sun.Event(e.Anchor)
	if ev.OK() {
		return ev.Time.Add(e.Offset), SunOccurs, ""
	}
	if !standIn {
		return time.Time{}, ev.Status, ""
	}
	rising := e.Anchor == AnchorSunrise || e.Anchor == AnchorDawn
	// Solar midnights around d: after is noon(d)+12h, before is
	// noon(d−1)+12h, so a stand-in on d+1 and one on d meet exactly.
	after := sun.Noon.Add(12 * time.Hour)
	before := sunOf(d.AddDays(-1)).Noon.Add(12 * time.Hour)
	var at time.Time
	switch {
	case ev.Status == SunAlwaysBelow && rising:
		at = after // night all day: the sun "rises" at the end of the day
	case ev.Status == SunAlwaysBelow:
		at = before // and "sets" at its start
	case rising:
		at = before // light all day: it rises at the start
	default:
		at = after // and sets at the end
	}
	polar := "sun stays below"
	if ev.Status == SunAlwaysAbove {
		polar = "sun stays above"
	}
	return at.Add(e.Offset), ev.Status, polar + ": no " + e.Anchor.String() + ", solar midnight used"
}

// occurrenceOn computes the window's occurrence anchored on day d; sunOf
// gives the sun of any day.
func (w *Window) occurrenceOn(d Date, c Center, cal Calendar, sunOf func(Date) SunDay) occurrence {
	loc := c.loc()
	var o occurrence
	o.allowed, o.reason = w.Days.Allows(d, cal)
	if o.allowed {
		o.reason = w.Days.reason(d, cal)
	}
	if w.Always {
		o.start, o.end = d.Midnight(loc), d.AddDays(1).Midnight(loc)
		return o
	}
	start, _, n1 := resolve(w.Start, d, sunOf, loc, true)
	end, _, n2 := resolve(w.End, d, sunOf, loc, true)
	if !end.After(start) {
		end, _, n2 = resolve(w.End, d.AddDays(1), sunOf, loc, true)
	}
	if !end.After(start) {
		end = start // empty, e.g. [sunset, sunrise] in polar day
	}
	o.start, o.end = start, end
	switch {
	case n1 != "" && n2 != "" && n1 != n2:
		o.note = n1 + "; " + n2
	case n1 != "":
		o.note = n1
	default:
		o.note = n2
	}
	return o
}
