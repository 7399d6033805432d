package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/gateway/schedule"
	"github.com/beacon-edge/beacon/gateway/telemetry"
	"github.com/beacon-edge/beacon/kinds"
	"github.com/beacon-edge/beacon/rules"
)

// The read side: status, points, plan, timeline, nights, broadcasts,
// audit. JSON field names are lower_snake; times are RFC 3339 in the
// center's zone; values are JSON booleans, numbers or strings.

// jsonValue turns a point value into a JSON value (null when none).
func jsonValue(v drivers.Value) any {
	switch v.Kind() {
	case drivers.KindBool:
		b, _ := v.AsBool()
		return b
	case drivers.KindNumber:
		f, _ := v.AsNumber()
		return f
	case drivers.KindString:
		s, _ := v.AsString()
		return s
	}
	return nil
}

func (s *Server) local(t time.Time) time.Time {
	if loc := s.o.Config.Center.Location; loc != nil {
		return t.In(loc)
	}
	return t
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	t := caller(r)
	writeJSON(w, http.StatusOK, map[string]string{"name": t.Name, "role": t.Role.String()})
}

type centerJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	County    string    `json:"county"`
	Timezone  string    `json:"timezone"`
	Now       time.Time `json:"now"`
	Simulated bool      `json:"simulated"`
}

type signJSON struct {
	Device      string   `json:"device"`
	State       string   `json:"state"` // lit, partly-dark, dark, unknown
	Lit         bool     `json:"lit"`
	CurrentAmps *float64 `json:"current_a"`
	Commanded   *bool    `json:"commanded"`
	PowerOn     *bool    `json:"power_on"`
}

type flagJSON struct {
	Device      string   `json:"device"`
	PositionPct *float64 `json:"position_pct"`
	Target      string   `json:"target"`
	Moving      bool     `json:"moving"`
	Step        string   `json:"step,omitempty"`
	LastError   string   `json:"last_error,omitempty"`
	HoursFlown  float64  `json:"hours_flown"`
}

type roomJSON struct {
	Device   string    `json:"device"`
	Room     string    `json:"room"`
	Known    bool      `json:"known"`
	Occupied bool      `json:"occupied"`
	Count    *float64  `json:"count,omitempty"`
	Since    time.Time `json:"since,omitzero"`
}

type paJSON struct {
	Device    string    `json:"device"`
	Playing   bool      `json:"playing"`
	What      string    `json:"what,omitempty"`
	Source    string    `json:"source,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Clips     []string  `json:"clips"`
	Zones     []int     `json:"zones"`
	Volume    int       `json:"volume"`
	Emergency bool      `json:"emergency,omitempty"`
}

type alarmJSON struct {
	Device  string    `json:"device"`
	Code    string    `json:"code"`
	Message string    `json:"message"`
	Since   time.Time `json:"since,omitzero"`
}

type statusJSON struct {
	Center centerJSON  `json:"center"`
	Signs  []signJSON  `json:"signs"`
	Flags  []flagJSON  `json:"flags"`
	Rooms  []roomJSON  `json:"rooms"`
	PAs    []paJSON    `json:"pas"`
	Alarms []alarmJSON `json:"alarms"`
}

func ptr[T any](v T) *T { return &v }

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	g, cfg := s.o.Gateway, s.o.Config
	now := s.clk.Now()
	c := cfg.Center
	out := statusJSON{Center: centerJSON{ID: c.ID, Name: c.Name, County: c.County, Timezone: c.Timezone, Now: s.local(now), Simulated: s.o.Simulated},
		Signs: []signJSON{}, Flags: []flagJSON{}, Rooms: []roomJSON{}, PAs: []paJSON{}, Alarms: []alarmJSON{}}
	signs, rooms := g.SignStatus(), g.RoomStatus()
	for _, d := range cfg.Devices {
		switch d.Kind {
		case config.KindSign:
			st, ok := signs[d.Name]
			sj := signJSON{Device: d.Name, State: string(kinds.SignUnknown)}
			if ok {
				sj.State, sj.Lit = string(st.State), st.Lit()
				if st.CurrentKnown {
					sj.CurrentAmps = ptr(st.CurrentAmps)
				}
				if st.CommandKnown {
					sj.Commanded = ptr(st.Commanded)
				}
				if st.PowerKnown {
					sj.PowerOn = ptr(st.PowerOn)
				}
			}
			out.Signs = append(out.Signs, sj)
		case config.KindFlagpole:
			fj := flagJSON{Device: d.Name}
			if f := g.Flagpole(d.Name); f != nil {
				st := f.Status()
				if st.PositionKnown {
					fj.PositionPct = ptr(st.PositionPct)
				}
				fj.Target, fj.Moving, fj.Step, fj.LastError, fj.HoursFlown = string(st.Target), st.Moving, st.Step, st.LastError, st.HoursFlown
			}
			out.Flags = append(out.Flags, fj)
		case config.KindOccupancy:
			rj := roomJSON{Device: d.Name}
			if d.Occupancy != nil {
				rj.Room = d.Occupancy.Room
			}
			if st, ok := rooms[d.Name]; ok {
				rj.Known, rj.Occupied = st.Known, st.Occupied
				if st.CountKnown {
					rj.Count = ptr(st.Count)
				}
				if !st.Since.IsZero() {
					rj.Since = s.local(st.Since)
				}
			}
			out.Rooms = append(out.Rooms, rj)
		case config.KindPA:
			pj := paJSON{Device: d.Name, Clips: []string{}, Zones: []int{}}
			if d.PA != nil {
				for _, c := range d.PA.Clips {
					pj.Clips = append(pj.Clips, c.Name)
				}
				pj.Zones, pj.Volume = append(pj.Zones, d.PA.Zones...), d.PA.Volume
			}
			if pa := g.PA(d.Name); pa != nil {
				if rec, ok := pa.Playing(); ok {
					pj.Playing, pj.What, pj.Source, pj.Since, pj.Emergency = true, rec.What(), rec.Source, s.local(rec.Start), rec.Emergency
				}
			}
			out.PAs = append(out.PAs, pj)
		}
	}
	for _, a := range g.Alarms().List() {
		out.Alarms = append(out.Alarms, alarmJSON{Device: a.Device, Code: a.Code, Message: a.Message, Since: s.local(a.Since)})
	}
	for _, st := range g.Reconciler().Alarms() {
		out.Alarms = append(out.Alarms, alarmJSON{Device: st.Ref.Device, Code: "write-failed",
			Message: st.Ref.String() + ": " + st.LastError})
	}
	writeJSON(w, http.StatusOK, out)
}

type commandJSON struct {
	Slot    string    `json:"slot"`
	Value   any       `json:"value"`
	Author  string    `json:"author"`
	Expires time.Time `json:"expires,omitzero"`
	Set     time.Time `json:"set,omitzero"`
}

type pointJSON struct {
	Point     string       `json:"point"`
	Device    string       `json:"device"`
	Name      string       `json:"name"`
	Kind      string       `json:"kind"` // the device's kind
	Type      string       `json:"type"` // bool, number or string
	Unit      string       `json:"unit,omitempty"`
	Writable  bool         `json:"writable"`
	Value     any          `json:"value"`
	Quality   string       `json:"quality"`
	Time      time.Time    `json:"time,omitzero"`
	Error     string       `json:"error,omitempty"`
	Effective *commandJSON `json:"effective,omitempty"`
	Alarm     bool         `json:"alarm"`
	Failures  int          `json:"failures,omitempty"`
	LastError string       `json:"write_error,omitempty"`
	// Slots is the whole priority array, for installers.
	Slots []commandJSON `json:"slots,omitempty"`
}

func valueKindName(k drivers.Kind) string {
	switch k {
	case drivers.KindBool:
		return "bool"
	case drivers.KindString:
		return "string"
	}
	return "number"
}

func (s *Server) command(slot priority.Slot, c priority.Command) *commandJSON {
	cj := &commandJSON{Slot: slot.String(), Value: jsonValue(c.Value), Author: c.Author}
	if !c.Expires.IsZero() {
		cj.Expires = s.local(c.Expires)
	}
	if !c.Set.IsZero() {
		cj.Set = s.local(c.Set)
	}
	return cj
}

func (s *Server) points(w http.ResponseWriter, r *http.Request) {
	g, cfg := s.o.Gateway, s.o.Config
	now := s.clk.Now()
	raw := caller(r).Role >= Installer
	out := []pointJSON{}
	for _, d := range cfg.Devices {
		for _, p := range d.Points {
			ref := p.Ref()
			pj := pointJSON{Point: ref.String(), Device: d.Name, Name: p.Name, Kind: d.Kind, Type: valueKindName(p.Type.ValueKind()),
				Unit: p.Unit, Writable: p.Writable(), Quality: "unknown"}
			if st, ok := g.Store().Get(ref); ok {
				pj.Value, pj.Quality, pj.Error = jsonValue(st.Value), st.Quality.String(), st.Err
				if !st.Time.IsZero() {
					pj.Time = s.local(st.Time)
				}
			}
			if p.Writable() {
				if c, slot, ok := g.Priorities().Effective(ref, now); ok {
					pj.Effective = s.command(slot, c)
				}
				if rs, ok := g.Reconciler().Status(ref); ok {
					pj.Alarm, pj.Failures, pj.LastError = rs.Alarm, rs.Failures, rs.LastError
				}
				if raw {
					for _, sl := range g.Priorities().Slots(ref, now) {
						if !sl.Empty {
							pj.Slots = append(pj.Slots, *s.command(sl.Slot, sl.Command))
						}
					}
				}
			}
			out = append(out, pj)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// evaluator builds the evaluator of the schedules in force.
func (s *Server) evaluator(cfg *config.Config) (*rules.Evaluator, error) {
	sch, err := schedule.FromConfig(cfg)
	if err != nil {
		return nil, err
	}
	return rules.NewEvaluator(sch)
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request) {
	cfg := s.config()
	q := r.URL.Query()
	days := 2
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 31 {
			writeError(w, http.StatusBadRequest, "days must be 1 to 31", FieldError{Field: "days", Message: "give 1 to 31"})
			return
		}
		days = n
	}
	loc := cfg.Center.Location
	start := rules.DateOf(s.clk.Now().In(loc))
	if v := q.Get("from"); v != "" {
		d, err := rules.ParseDate(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), FieldError{Field: "from", Message: "write YYYY-MM-DD"})
			return
		}
		start = d
	}
	ev, err := s.evaluator(cfg)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "build schedule: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, schedule.Plan(cfg, ev.Plan(start.Midnight(loc), days, rules.Inputs{Trusted: true})))
}

func (s *Server) nights(w http.ResponseWriter, r *http.Request) {
	out := []telemetry.SignNight{}
	if s.o.Nights != nil {
		ns, err := s.o.Nights()
		if err != nil {
			writeError(w, http.StatusInternalServerError, "read nightly summaries: "+err.Error())
			return
		}
		n := 7
		if v, err := strconv.Atoi(r.URL.Query().Get("n")); err == nil && v > 0 {
			n = v
		}
		if len(ns) > n {
			ns = ns[len(ns)-n:]
		}
		for _, x := range ns {
			x.Start, x.End = s.local(x.Start), s.local(x.End)
			out = append(out, x)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type broadcastJSON struct {
	Device    string    `json:"device"`
	What      string    `json:"what"`
	Source    string    `json:"source"`
	Emergency bool      `json:"emergency,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end,omitzero"`
	Result    string    `json:"result,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Zones     []int     `json:"zones,omitempty"`
	Volume    int       `json:"volume"`
}

type broadcastsJSON struct {
	Done   []broadcastJSON `json:"done"`   // newest first
	Queued []broadcastJSON `json:"queued"` // waiting, in play order
	Due    []broadcastJSON `json:"due"`    // scheduled in the next 48 h
}

func (s *Server) broadcasts(w http.ResponseWriter, r *http.Request) {
	recs, queued := s.o.Gateway.Broadcasts()
	out := broadcastsJSON{Done: []broadcastJSON{}, Queued: []broadcastJSON{}, Due: []broadcastJSON{}}
	for i := len(recs) - 1; i >= 0; i-- {
		rec := recs[i]
		out.Done = append(out.Done, broadcastJSON{Device: rec.Device, What: rec.What(), Source: rec.Source, Emergency: rec.Emergency,
			Start: s.local(rec.Start), End: s.local(rec.End), Result: string(rec.Result), Reason: rec.Reason, Zones: rec.Zones, Volume: rec.Volume})
	}
	for _, q := range queued {
		src := q.Job
		if src == "" {
			src = q.ID
		}
		out.Queued = append(out.Queued, broadcastJSON{Device: q.Broadcast.Device, What: q.Broadcast.What(), Source: src, Emergency: q.Emergency,
			Start: s.local(q.At), Zones: q.Broadcast.Zones, Volume: q.Broadcast.Volume})
	}
	cfg := s.config()
	if ev, err := s.evaluator(cfg); err == nil {
		now := s.clk.Now()
		tl := ev.Plan(now, 3, rules.Inputs{Trusted: true})
		for _, e := range tl.Entries {
			if e.Kind != rules.PlanBroadcast || e.At.Before(now) || e.At.After(now.Add(48*time.Hour)) {
				continue
			}
			out.Due = append(out.Due, broadcastJSON{Device: e.Target, What: e.Value, Source: e.Rule, Start: s.local(e.At), Reason: e.Warning})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	n := 200
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 {
		n = v
	}
	entries := s.o.Audit.Recent(n)
	if r.URL.Query().Get("users") == "1" {
		kept := entries[:0:0]
		for _, e := range entries {
			if e.Action != ActionDeviceWrite {
				kept = append(kept, e)
			}
		}
		entries = kept
	}
	for i := range entries {
		entries[i].Time = s.local(entries[i].Time)
	}
	writeJSON(w, http.StatusOK, entries)
}
