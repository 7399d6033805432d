package rules

// Plan: the timeline `beacon plan` prints — what each device will be told
// and when, with sun times and calendar reasons, conflicts and overlaps
// flagged. It is built from the same Evaluator the gateway runs, so the plan
// and the gateway cannot disagree.

import (
	"fmt"
	"slices"
	"time"
)

// Plan entry kinds.
const (
	PlanSet       = "set"       // a point's desired value changes
	PlanFlag      = "flag"      // a flag's desired state changes
	PlanBroadcast = "broadcast" // a broadcast job's instant
	PlanJob       = "job"       // another job's instant (set actions)
	PlanSkip      = "skip"      // a job does not run that day, by calendar or sun
)

// PlanEntry is one line of a plan.
type PlanEntry struct {
	At     time.Time
	Kind   string
	Rule   string
	Target string // device.point or device
	Value  string // the value, flag state, or what is broadcast
	Reason string
	// Warning flags a conflict, an overlap, a broadcast refused in quiet
	// hours, or queued behind another.
	Warning string
	// Want and Flag are the new desired values of set and flag entries.
	Want *Want     `json:"-"`
	Flag *FlagWant `json:"-"`
	// Steps are the flag movements from the previous desired state.
	Steps []FlagStep `json:"-"`
}

// PlanDay is one day's sun and calendar.
type PlanDay struct {
	Date  Date
	Sun   SunDay
	Notes []string // calendar entries: "half-mast: National Memorial Day"
}

// Timeline is a plan over [From, To).
type Timeline struct {
	From, To time.Time
	Initial  State // desired state at From
	Days     []PlanDay
	Entries  []PlanEntry // ascending
}

// Plan returns the timeline of days calendar days from the start of from's
// day. Point conditions and wind read in; with in.Points and in.Wind empty
// the plan is the schedule alone.
func (e *Evaluator) Plan(from time.Time, days int, in Inputs) Timeline {
	c := e.s.Center
	loc := c.loc()
	first := DateOf(from.In(loc))
	start := first.Midnight(loc)
	end := first.AddDays(days).Midnight(loc)
	tl := Timeline{From: start, To: end, Initial: e.Desired(start, in)}
	for d := first; d.Before(first.AddDays(days)); d = d.AddDays(1) {
		tl.Days = append(tl.Days, PlanDay{Date: d, Sun: e.Sun(d), Notes: e.s.Calendar.Notes(d)})
	}
	tl.Entries = append(tl.Entries, e.stateChanges(start, end, in, tl.Initial)...)
	tl.Entries = append(tl.Entries, e.jobEntries(start, end, first, days)...)
	slices.SortStableFunc(tl.Entries, func(a, b PlanEntry) int { return a.At.Compare(b.At) })
	return tl
}

// Boundaries returns every instant in (from, to] at which the desired state
// may change: window ends, flag actions, condition and wind-hold expiries.
func (e *Evaluator) Boundaries(from, to time.Time, in Inputs) []time.Time {
	loc := e.s.Center.loc()
	var bs []time.Time
	add := func(t time.Time) {
		if t.After(from) && !t.After(to) {
			bs = append(bs, t)
		}
	}
	e.mu.Lock()
	for d := DateOf(from.In(loc)).AddDays(-2); !DateOf(to.In(loc)).AddDays(1).Before(d); d = d.AddDays(1) {
		dp := e.day(d)
		for _, o := range dp.occ {
			if o.allowed {
				add(o.start)
				add(o.end)
			}
		}
		for _, a := range dp.flags {
			add(a.at)
		}
	}
	e.mu.Unlock()
	for _, w := range e.s.Windows {
		for _, cond := range w.Conditions {
			if ps, ok := in.Points[cond.Point]; ok {
				add(ps.Since.Add(cond.For))
			}
		}
	}
	for dev, w := range in.Wind {
		if !w.CalmSince.IsZero() {
			add(w.CalmSince.Add(e.poles[dev].WindResume))
		}
	}
	slices.SortFunc(bs, time.Time.Compare)
	return slices.CompactFunc(bs, time.Time.Equal)
}

func (e *Evaluator) stateChanges(start, end time.Time, in Inputs, prev State) []PlanEntry {
	var out []PlanEntry
	var cur State
	for _, b := range e.Boundaries(start, end.Add(-time.Nanosecond), in) {
		e.Evaluate(b, in, &cur)
		for i, w := range cur.Points {
			old := prev.Points[i]
			if old.Value.Kind() == w.Value.Kind() && (w.Value.IsZero() || sameValue(old, w)) {
				continue
			}
			w := w
			v := w.Value.String()
			if w.Relinquish() {
				v = "relinquish"
			}
			out = append(out, PlanEntry{At: b, Kind: PlanSet, Rule: w.Rule, Target: w.Point.String(), Value: v, Reason: w.Reason, Want: &w})
		}
		for i, f := range cur.Flags {
			old := prev.Flags[i]
			if old.State == f.State {
				continue
			}
			f := f
			out = append(out, PlanEntry{At: b, Kind: PlanFlag, Rule: f.Rule, Target: f.Device, Value: f.State.String(),
				Reason: f.Reason, Flag: &f, Steps: FlagSteps(old.State, f.State)})
		}
		if len(cur.Conflicts) > 0 {
			out = append(out, PlanEntry{At: b, Kind: PlanSet, Warning: "conflict: " + cur.Conflicts[0]})
		}
		prev = State{Points: slices.Clone(cur.Points), Flags: slices.Clone(cur.Flags)}
	}
	return out
}

func sameValue(a, b Want) bool { return a.Value.String() == b.Value.String() }

// jobEntries lists job instants, calendar skips, and broadcast outcomes.
func (e *Evaluator) jobEntries(start, end time.Time, first Date, days int) []PlanEntry {
	c := e.s.Center
	var out []PlanEntry
	var reqs []BroadcastRequest
	occ := occurrencesBetween(e.s.Jobs, c, e.s.Calendar, start.Add(-time.Nanosecond), end.Add(-time.Nanosecond), e.Sun)
	byName := map[string]*Job{}
	for i := range e.s.Jobs {
		byName[e.s.Jobs[i].Name] = &e.s.Jobs[i]
	}
	for _, o := range occ {
		j := byName[o.Job]
		if j.Broadcast != nil {
			reqs = append(reqs, BroadcastRequest{ID: o.Job + "@" + o.At.Format(time.RFC3339), Job: o.Job, At: o.At, Grace: j.Grace, Broadcast: *j.Broadcast})
		}
		if len(j.Set) > 0 {
			for _, s := range j.Set {
				out = append(out, PlanEntry{At: o.At, Kind: PlanJob, Rule: j.Name, Target: s.Point.String(), Value: s.Value.String(), Reason: o.Reason})
			}
		}
	}
	quiet := func(t time.Time) bool { return e.s.Quiet != nil && e.s.Quiet.Contains(t, c, e.s.Calendar) }
	for _, r := range PlanBroadcasts(reqs, quiet) {
		pe := PlanEntry{At: r.Request.At, Kind: PlanBroadcast, Rule: r.Request.Job, Target: r.Request.Broadcast.Device,
			Value: fmt.Sprintf("%s zones %v volume %d", r.Request.Broadcast.What(), r.Request.Broadcast.Zones, r.Request.Broadcast.Volume)}
		switch {
		case r.Status != BroadcastPlayed:
			pe.Warning = r.Status.String() + ": " + r.Reason
		case r.Start.After(r.Request.At):
			pe.Warning = fmt.Sprintf("overlap: queued, starts %s", r.Start.Format("15:04:05"))
		}
		out = append(out, pe)
	}
	for d := first; d.Before(first.AddDays(days)); d = d.AddDays(1) {
		sun := e.Sun(d)
		for i := range e.s.Jobs {
			j := &e.s.Jobs[i]
			if _, why := j.instantsOn(d, c, e.s.Calendar, sun); why != "" && !isWeekdaySkip(why) && !isOnlySkip(why) {
				out = append(out, PlanEntry{At: d.Midnight(c.loc()), Kind: PlanSkip, Rule: j.Name, Reason: why})
			}
		}
	}
	return out
}

func isWeekdaySkip(why string) bool { return len(why) > 7 && why[:7] == "not on " }
func isOnlySkip(why string) bool    { return len(why) > 5 && why[:5] == "only " }
