package rules

// The Evaluator computes a center's desired state — every scheduled point's
// wanted value and every flag's wanted state — as a pure function of (time,
// calendar, point values, wind, clock trust). It memoises per-day sun times
// and window occurrences, which changes its speed, never its answers.

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
)

// Schedule is everything the rules of one center say.
type Schedule struct {
	Center    Center
	Calendar  Calendar
	Windows   []Window
	Jobs      []Job
	Flagpoles []Flagpole
	// Safe is each point's safe value, wanted while the clock is untrusted.
	Safe []Setting
	// Quiet are the quiet hours of scheduled broadcasts; nil: none.
	Quiet *QuietHours
}

// Inputs are the non-time inputs of the desired state.
type Inputs struct {
	// Trusted is the clock verdict (Trust.Check). Untrusted: every point
	// wants its safe value (or is relinquished) and flags hold.
	Trusted bool
	// Points are the current values the Conditions read.
	Points map[drivers.PointRef]PointState
	// Wind by flagpole device.
	Wind map[string]Wind
}

// Want is the desired value of one point. A zero Value means relinquish:
// the schedule wants nothing, and lower priority slots apply.
type Want struct {
	Point  drivers.PointRef
	Value  drivers.Value
	Rule   string // the window deciding, "" when relinquished
	Reason string
}

// Relinquish reports whether the schedule leaves the point alone.
func (w Want) Relinquish() bool { return w.Value.IsZero() }

// State is the desired state at one instant.
type State struct {
	Points []Want     // in order of first mention in Windows, then Safe
	Flags  []FlagWant // in order of first mention in Flagpoles, then jobs
	// Conflicts lists open windows that want different values for the same
	// point; the first window in schedule order wins.
	Conflicts []string
}

// Point returns the want for ref.
func (s State) Point(ref drivers.PointRef) (Want, bool) {
	for _, w := range s.Points {
		if w.Point == ref {
			return w, true
		}
	}
	return Want{}, false
}

// Flag returns the want for a flagpole.
func (s State) Flag(device string) (FlagWant, bool) {
	for _, f := range s.Flags {
		if f.Device == device {
			return f, true
		}
	}
	return FlagWant{}, false
}

// Equal reports whether two states want the same values and flag states
// (reasons aside).
func (s State) Equal(o State) bool {
	if len(s.Points) != len(o.Points) || len(s.Flags) != len(o.Flags) {
		return false
	}
	for i := range s.Points {
		a, b := s.Points[i], o.Points[i]
		if a.Point != b.Point || a.Value.Kind() != b.Value.Kind() || !drivers.Equal(a.Value, b.Value, 0) {
			return false
		}
	}
	for i := range s.Flags {
		if s.Flags[i].Device != o.Flags[i].Device || s.Flags[i].State != o.Flags[i].State {
			return false
		}
	}
	return true
}

type pointUse struct {
	window    int
	value     drivers.Value
	otherwise bool
}

type managedPoint struct {
	ref  drivers.PointRef
	uses []pointUse
	safe drivers.Value
}

type flagAct struct {
	at     time.Time
	device string
	state  FlagState
	job    string
	reason string
}

type dayPlan struct {
	sun   SunDay
	occ   []occurrence // per window
	flags []flagAct    // ascending
}

// flagLookback bounds the search for the flag action in effect: a polar
// day or night can last months.
const flagLookback = 370

// Evaluator evaluates a Schedule. Safe for concurrent use.
type Evaluator struct {
	s       Schedule
	points  []managedPoint
	devices []string // flagpoles
	poles   map[string]Flagpole

	mu       sync.Mutex
	days     map[Date]*dayPlan
	lastDate Date
	last     [4]*dayPlan // days lastDate-2 … lastDate+1
}

// NewEvaluator checks s and prepares it.
func NewEvaluator(s Schedule) (*Evaluator, error) {
	e := &Evaluator{s: s, days: map[Date]*dayPlan{}, poles: map[string]Flagpole{}}
	for i := range s.Jobs {
		if err := s.Jobs[i].Validate(); err != nil {
			return nil, err
		}
	}
	find := func(ref drivers.PointRef) *managedPoint {
		for i := range e.points {
			if e.points[i].ref == ref {
				return &e.points[i]
			}
		}
		e.points = append(e.points, managedPoint{ref: ref})
		return &e.points[len(e.points)-1]
	}
	for wi, w := range s.Windows {
		if len(w.Set) == 0 {
			return nil, fmt.Errorf("window %s: sets nothing", w.Name)
		}
		for _, st := range w.Set {
			p := find(st.Point)
			p.uses = append(p.uses, pointUse{window: wi, value: st.Value})
		}
		for _, st := range w.Otherwise {
			p := find(st.Point)
			p.uses = append(p.uses, pointUse{window: wi, value: st.Value, otherwise: true})
		}
	}
	for _, st := range s.Safe {
		find(st.Point).safe = st.Value
	}
	for _, p := range s.Flagpoles {
		e.poles[p.Device] = p
		if !slices.Contains(e.devices, p.Device) {
			e.devices = append(e.devices, p.Device)
		}
	}
	for _, j := range s.Jobs {
		if j.Flag != nil && !slices.Contains(e.devices, j.Flag.Device) {
			e.devices = append(e.devices, j.Flag.Device)
		}
	}
	return e, nil
}

// Schedule returns the schedule evaluated.
func (e *Evaluator) Schedule() Schedule { return e.s }

// Sun returns the sun times of date d at the center (memoised).
func (e *Evaluator) Sun(d Date) SunDay {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.day(d).sun
}

// day returns the plan of date d; e.mu held.
func (e *Evaluator) day(d Date) *dayPlan {
	if p, ok := e.days[d]; ok {
		return p
	}
	if len(e.days) > 2000 {
		clear(e.days)
		e.lastDate = Date{}
	}
	c := e.s.Center
	p := &dayPlan{sun: SunTimes(c, d)}
	sunOf := func(x Date) SunDay {
		if x == d {
			return p.sun
		}
		if q, ok := e.days[x]; ok {
			return q.sun
		}
		return SunTimes(c, x)
	}
	p.occ = make([]occurrence, len(e.s.Windows))
	for i := range e.s.Windows {
		p.occ[i] = e.s.Windows[i].occurrenceOn(d, c, e.s.Calendar, sunOf)
	}
	for i := range e.s.Jobs {
		j := &e.s.Jobs[i]
		if j.Flag == nil {
			continue
		}
		occ, _ := j.instantsOn(d, c, e.s.Calendar, p.sun)
		for _, o := range occ {
			p.flags = append(p.flags, flagAct{at: o.At, device: j.Flag.Device, state: j.Flag.State, job: j.Name, reason: o.Reason})
		}
	}
	slices.SortStableFunc(p.flags, func(a, b flagAct) int { return a.at.Compare(b.at) })
	e.days[d] = p
	return p
}

// around returns the days around d whose occurrences can reach d; e.mu held.
func (e *Evaluator) around(d Date) [4]*dayPlan {
	if d != e.lastDate || e.last[0] == nil {
		for i := range e.last {
			e.last[i] = e.day(d.AddDays(i - 2))
		}
		e.lastDate = d
	}
	return e.last
}

// Desired returns the desired state at t.
func (e *Evaluator) Desired(t time.Time, in Inputs) State {
	var st State
	e.Evaluate(t, in, &st)
	return st
}

// Evaluate writes the desired state at t into st, reusing its slices.
func (e *Evaluator) Evaluate(t time.Time, in Inputs, st *State) {
	st.Points, st.Flags, st.Conflicts = st.Points[:0], st.Flags[:0], st.Conflicts[:0]
	if !in.Trusted {
		for _, p := range e.points {
			st.Points = append(st.Points, Want{Point: p.ref, Value: p.safe, Reason: "clock not trusted: safe state"})
		}
		for _, dev := range e.devices {
			st.Flags = append(st.Flags, FlagWant{Device: dev, State: FlagHold, Reason: "clock not trusted: no movement"})
		}
		return
	}
	d := DateOf(t.In(e.s.Center.loc()))
	e.mu.Lock()
	days := e.around(d)
	var buf [64]int8 // per window: 0 closed, 1 open
	var open []int8
	if n := len(e.s.Windows); n <= len(buf) {
		open = buf[:n]
	} else {
		open = make([]int8, n)
	}
	var why [64]*occurrence
	for i := range e.s.Windows {
		w := &e.s.Windows[i]
		for k := range days { // d+1 too: sunrise-12h can start the day before
			if o := &days[k].occ[i]; o.contains(t) {
				open[i] = 1
				if i < len(why) {
					why[i] = o
				}
				break
			}
		}
		if open[i] == 1 {
			for _, c := range w.Conditions {
				if !c.Holds(t, in.Points) {
					open[i] = 0
					break
				}
			}
		}
	}
	for pi := range e.points {
		p := &e.points[pi]
		want := Want{Point: p.ref}
		chosen := -1
		for ui := range p.uses {
			u := &p.uses[ui]
			if u.otherwise || open[u.window] == 0 {
				continue
			}
			if chosen < 0 {
				chosen = u.window
				want.Value, want.Rule = u.value, e.s.Windows[u.window].Name
				if u.window < len(why) && why[u.window] != nil {
					want.Reason = joinReason(why[u.window].reason, why[u.window].note)
				}
				continue
			}
			if !drivers.Equal(want.Value, u.value, 0) {
				st.Conflicts = append(st.Conflicts, fmt.Sprintf("%s: %s wants %s, %s wants %s; %s wins",
					p.ref, want.Rule, want.Value, e.s.Windows[u.window].Name, u.value, want.Rule))
			}
		}
		if chosen < 0 {
			for ui := range p.uses {
				u := &p.uses[ui]
				if u.otherwise && open[u.window] == 0 {
					want.Value, want.Rule, want.Reason = u.value, e.s.Windows[u.window].Name, "otherwise"
					break
				}
			}
		}
		st.Points = append(st.Points, want)
	}
	for _, dev := range e.devices {
		st.Flags = append(st.Flags, e.flagWant(t, d, dev, in.Wind[dev], days))
	}
	e.mu.Unlock()
}

// flagWant is the desired state of one flagpole at t; e.mu held.
func (e *Evaluator) flagWant(t time.Time, d Date, dev string, w Wind, days [4]*dayPlan) FlagWant {
	if hold, why := e.poles[dev].windHold(t, w); hold {
		return FlagWant{Device: dev, State: FlagLowered, Rule: "wind", Reason: why}
	}
	search := func(dp *dayPlan) (FlagWant, bool) {
		for k := len(dp.flags) - 1; k >= 0; k-- {
			a := &dp.flags[k]
			if a.device == dev && !a.at.After(t) {
				return FlagWant{Device: dev, State: a.state, Rule: a.job, Since: a.at, Reason: a.reason}, true
			}
		}
		return FlagWant{}, false
	}
	for k := 3; k >= 0; k-- {
		if fw, ok := search(days[k]); ok {
			return fw
		}
	}
	for back := 3; back <= flagLookback; back++ {
		if fw, ok := search(e.day(d.AddDays(-back))); ok {
			return fw
		}
	}
	return FlagWant{Device: dev, State: FlagLowered, Reason: "no flag action in the last year"}
}

func joinReason(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
