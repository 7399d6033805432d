package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/beacon-edge/beacon/gateway/schedule"
	"github.com/beacon-edge/beacon/rules"
)

// The timeline: what happened and what is planned around now, for the
// page's 24-hour chart. Lanes are the scheduled points and flags, each a
// list of planned segments; events are what the gateway did (device writes,
// broadcasts, people's actions).

type segmentJSON struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Value string    `json:"value"`
	Rule  string    `json:"rule,omitempty"`
}

type laneJSON struct {
	Target  string        `json:"target"`
	Kind    string        `json:"kind"` // set or flag
	Planned []segmentJSON `json:"planned"`
}

type eventJSON struct {
	At     time.Time `json:"at"`
	End    time.Time `json:"end,omitzero"`
	Kind   string    `json:"kind"` // write, broadcast, action, planned-broadcast
	Target string    `json:"target"`
	Value  string    `json:"value"`
	By     string    `json:"by,omitempty"`
	Result string    `json:"result,omitempty"`
}

type timelineJSON struct {
	From    time.Time   `json:"from"`
	To      time.Time   `json:"to"`
	Now     time.Time   `json:"now"`
	Sunrise []time.Time `json:"sunrise"`
	Sunset  []time.Time `json:"sunset"`
	Lanes   []laneJSON  `json:"lanes"`
	Events  []eventJSON `json:"events"`
}

func (s *Server) timeline(w http.ResponseWriter, r *http.Request) {
	hours := 24
	if v := r.URL.Query().Get("hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 168 {
			writeError(w, http.StatusBadRequest, "hours must be 1 to 168", FieldError{Field: "hours", Message: "give 1 to 168"})
			return
		}
		hours = n
	}
	cfg := s.config()
	ev, err := s.evaluator(cfg)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "build schedule: "+err.Error())
		return
	}
	now := s.clk.Now()
	span := time.Duration(hours) * time.Hour
	from, to := now.Add(-span/2), now.Add(span/2)
	loc := cfg.Center.Location
	out := timelineJSON{From: s.local(from), To: s.local(to), Now: s.local(now), Sunrise: []time.Time{}, Sunset: []time.Time{},
		Lanes: []laneJSON{}, Events: []eventJSON{}}
	days := int(to.Sub(from).Hours()/24) + 2
	tl := ev.Plan(from, days, rules.Inputs{Trusted: true})
	for _, d := range tl.Days {
		for _, e := range []struct {
			ev   rules.SunEvent
			into *[]time.Time
		}{{d.Sun.Sunrise, &out.Sunrise}, {d.Sun.Sunset, &out.Sunset}} {
			if e.ev.OK() && e.ev.Time.After(from) && e.ev.Time.Before(to) {
				*e.into = append(*e.into, s.local(e.ev.Time))
			}
		}
	}
	// Planned segments: the state at the plan's start, then each change.
	lanes := map[string]*laneJSON{}
	var order []string
	open := func(target, kind, value, rule string, at time.Time) {
		l, ok := lanes[target]
		if !ok {
			l = &laneJSON{Target: target, Kind: kind, Planned: []segmentJSON{}}
			lanes[target] = l
			order = append(order, target)
		}
		if n := len(l.Planned); n > 0 {
			l.Planned[n-1].To = at
		}
		l.Planned = append(l.Planned, segmentJSON{From: at, Value: value, Rule: rule})
	}
	for _, w := range tl.Initial.Points {
		open(w.Point.String(), rules.PlanSet, schedule.WantValue(w), w.Rule, tl.From)
	}
	for _, f := range tl.Initial.Flags {
		open(f.Device, rules.PlanFlag, f.State.String(), f.Rule, tl.From)
	}
	for _, e := range tl.Entries {
		switch e.Kind {
		case rules.PlanSet:
			if e.Target != "" {
				open(e.Target, e.Kind, e.Value, e.Rule, e.At)
			}
		case rules.PlanFlag:
			open(e.Target, e.Kind, e.Value, e.Rule, e.At)
		case rules.PlanBroadcast, rules.PlanJob:
			if e.At.After(from) && e.At.Before(to) {
				out.Events = append(out.Events, eventJSON{At: s.local(e.At), Kind: "planned-" + e.Kind, Target: e.Target, Value: e.Value, By: "rule:" + e.Rule, Result: e.Warning})
			}
		}
	}
	for _, target := range order {
		l := lanes[target]
		var segs []segmentJSON
		for _, sg := range l.Planned {
			if sg.To.IsZero() {
				sg.To = tl.To
			}
			if !sg.To.After(from) || !sg.From.Before(to) {
				continue
			}
			if sg.From.Before(from) {
				sg.From = from
			}
			if sg.To.After(to) {
				sg.To = to
			}
			sg.From, sg.To = sg.From.In(loc), sg.To.In(loc)
			segs = append(segs, sg)
		}
		l.Planned = segs
		out.Lanes = append(out.Lanes, *l)
	}
	s.wmu.Lock()
	for _, wr := range s.writes {
		if wr.Time.After(from) {
			out.Events = append(out.Events, eventJSON{At: s.local(wr.Time), Kind: "write", Target: wr.Ref.String(), Value: wr.Value.String(), By: wr.Author, Result: wr.Result.String()})
		}
	}
	s.wmu.Unlock()
	recs, _ := s.o.Gateway.Broadcasts()
	for _, rec := range recs {
		if rec.End.After(from) {
			out.Events = append(out.Events, eventJSON{At: s.local(rec.Start), End: s.local(rec.End), Kind: "broadcast", Target: rec.Device, Value: rec.What(), By: rec.Source, Result: string(rec.Result)})
		}
	}
	for _, a := range s.o.Audit.Since(from) {
		if a.Action != ActionDeviceWrite {
			out.Events = append(out.Events, eventJSON{At: s.local(a.Time), Kind: "action", Target: a.Target, Value: a.Action + " " + a.After, By: a.User, Result: a.Result})
		}
	}
	writeJSON(w, http.StatusOK, out)
}
