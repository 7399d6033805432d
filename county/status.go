package county

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/query"
)

// States of a sign or a center now, worst first: the order of the
// dashboard.
const (
	StateDark    = "dark"    // measured not lit inside its required window
	StateOffline = "offline" // no heartbeat for Config.OfflineAfter
	StateUnknown = "unknown" // gateway up, but no good recent reading of the sign
	StateLit     = "lit"
	StateOff     = "off" // not lit outside its required window, as wanted
)

func stateRank(s string) int {
	switch s {
	case StateDark:
		return 0
	case StateOffline:
		return 1
	case StateUnknown:
		return 2
	case StateLit:
		return 3
	}
	return 4
}

// SignStatus is one sign now.
type SignStatus struct {
	Device      string    `json:"sign"`
	State       string    `json:"state"`
	Since       time.Time `json:"since,omitzero"` // dark since (the last lit reading), unknown since (the last good one)
	LastSample  time.Time `json:"last_sample,omitzero"`
	CurrentAmps float64   `json:"current_a"`
	InWindow    bool      `json:"in_window"` // commanded on, or inside its estimated required window
	WindowStart time.Time `json:"window_start,omitzero"`
}

// CenterStatus is one center now.
type CenterStatus struct {
	Center        string       `json:"center"`
	State         string       `json:"state"` // the worst of its signs, or offline
	Since         time.Time    `json:"since,omitzero"`
	LastHeartbeat time.Time    `json:"last_heartbeat,omitzero"`
	Signs         []SignStatus `json:"signs"`
	FlagPosition  *float64     `json:"flag_position,omitempty"` // %, latest reading
	FlagTime      time.Time    `json:"flag_time,omitzero"`
	Broadcast     *Broadcast   `json:"last_broadcast,omitempty"`
	LastNight     *Night       `json:"last_night,omitempty"` // all signs of the latest reported or due night
}

// Broadcast is a center's latest broadcast.
type Broadcast struct {
	Time     time.Time `json:"time"`
	Clip     string    `json:"clip"`
	Source   string    `json:"source"`
	Outcome  string    `json:"outcome"`
	Duration float64   `json:"duration_s"`
}

// Status is the county now: every center, worst first, and the report
// of the last nights the dashboard draws.
type Status struct {
	Now     time.Time      `json:"now"`
	Centers []CenterStatus `json:"centers"`
	Report  *Report        `json:"-"`
}

type signNow struct {
	last, lastLit, lastGood time.Time
	lit, good               bool
	commanded               *bool
	amps                    float64
}

// Status reads every center's state now and the report of the last
// nights (nights ≥ 1) for last night's compliance and the heatmap.
func (s *Service) Status(ctx context.Context, nights int) (*Status, error) {
	now := s.Now()
	today := s.nightOf(now) // the night in progress (or this afternoon's)
	to, _ := ParseDate(today)
	from := to.AddDate(0, 0, -nights)
	var (
		rep              *Report
		signs            map[signKey]*signNow
		flags            map[string]*CenterStatus
		errR, errS, errF error
	)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); rep, errR = s.Report(ctx, from, to) }()
	go func() { defer wg.Done(); signs, errS = s.querySigns(ctx, now) }()
	go func() { defer wg.Done(); flags, errF = s.queryFlagsAndBroadcasts(ctx, now) }()
	wg.Wait()
	for _, err := range []error{errR, errS, errF} {
		if err != nil {
			return nil, err
		}
	}
	st := &Status{Now: now.UTC(), Report: rep}
	centers := map[string]*CenterStatus{}
	get := func(c string) *CenterStatus {
		cs := centers[c]
		if cs == nil {
			cs = &CenterStatus{Center: c, LastHeartbeat: rep.Seen[c]}
			if f := flags[c]; f != nil {
				cs.FlagPosition, cs.FlagTime, cs.Broadcast = f.FlagPosition, f.FlagTime, f.Broadcast
			}
			centers[c] = cs
		}
		return cs
	}
	for c := range rep.Seen {
		get(c)
	}
	// The latest night of each sign in the report, for "last night" and
	// for tonight's estimated window.
	latest := map[signKey]Night{}
	for _, n := range rep.Nights {
		k := signKey{n.Center, n.Sign}
		if n.Date >= latest[k].Date {
			latest[k] = n
		}
	}
	for k, sn := range signs {
		cs := get(k.center)
		ss := SignStatus{Device: k.sign, LastSample: sn.last, CurrentAmps: sn.amps}
		if ln, ok := latest[k]; ok {
			days := int(s.noon(today, 0).Sub(s.noon(ln.Date, 0)).Round(24*time.Hour) / (24 * time.Hour))
			ws, we := ln.Start.In(s.cfg.Location).AddDate(0, 0, days), ln.End.In(s.cfg.Location).AddDate(0, 0, days)
			if !now.Before(ws) && now.Before(we) {
				ss.InWindow, ss.WindowStart = true, ws.UTC()
			}
		}
		if sn.commanded != nil && *sn.commanded {
			ss.InWindow = true
		}
		switch {
		case now.Sub(sn.last) > s.cfg.StaleAfter || !sn.good:
			ss.State, ss.Since = StateUnknown, sn.lastGood
		case sn.lit:
			ss.State = StateLit
		case ss.InWindow:
			ss.State, ss.Since = StateDark, sn.lastLit
			if ss.Since.Before(ss.WindowStart) {
				ss.Since = ss.WindowStart
			}
		default:
			ss.State = StateOff
		}
		cs.Signs = append(cs.Signs, ss)
	}
	byCenterNight := map[string]*Night{}
	for _, n := range rep.Nights {
		if n.Date == rep.To || n.End.After(now) {
			continue // tonight is not over
		}
		cur := byCenterNight[n.Center]
		if cur == nil || n.Date > cur.Date {
			c := n
			byCenterNight[n.Center] = &c
		} else if n.Date == cur.Date {
			cur.Required += n.Required
			cur.Lit += n.Lit
			cur.Dark += n.Dark
			cur.Unknown += n.Unknown
			cur.Reported = cur.Reported && n.Reported
			cur.Sign = ""
			if cur.Required > 0 {
				cur.Compliance = float64(cur.Lit) / float64(cur.Required)
			}
		}
	}
	for _, cs := range centers {
		cs.LastNight = byCenterNight[cs.Center]
		sort.Slice(cs.Signs, func(i, j int) bool { return cs.Signs[i].Device < cs.Signs[j].Device })
		cs.State = StateOff
		if len(cs.Signs) == 0 {
			cs.State = StateUnknown
		}
		for _, ss := range cs.Signs {
			if stateRank(ss.State) < stateRank(cs.State) {
				cs.State, cs.Since = ss.State, ss.Since
			}
		}
		if now.Sub(cs.LastHeartbeat) > s.cfg.OfflineAfter && cs.State != StateDark {
			cs.State, cs.Since = StateOffline, cs.LastHeartbeat
			for i := range cs.Signs {
				if cs.Signs[i].State == StateUnknown {
					cs.Signs[i].State = StateOffline
				}
			}
		}
		st.Centers = append(st.Centers, *cs)
	}
	sort.Slice(st.Centers, func(i, j int) bool {
		a, b := st.Centers[i], st.Centers[j]
		if ra, rb := stateRank(a.State), stateRank(b.State); ra != rb {
			return ra < rb
		}
		return a.Center < b.Center
	})
	return st, nil
}

// querySigns reads each sign's latest reading, latest lit reading and
// latest good reading over StatusLookback.
func (s *Service) querySigns(ctx context.Context, now time.Time) (map[signKey]*signNow, error) {
	flux := `data = ` + s.base(now.Add(-s.cfg.StatusLookback), now.Add(time.Second)) + `
  |> filter(fn: (r) => r._measurement == "sign")
  |> keep(columns: ["_time", "_value", "_field", "center", "device"])
data |> filter(fn: (r) => r._field == "lit" or r._field == "current" or r._field == "commanded" or r._field == "quality") |> last() |> yield(name: "last")
data |> filter(fn: (r) => r._field == "lit") |> filter(fn: (r) => r._value == true) |> last() |> yield(name: "lastlit")
data |> filter(fn: (r) => r._field == "quality") |> filter(fn: (r) => r._value == "good") |> last() |> yield(name: "lastgood")`
	out := map[signKey]*signNow{}
	lastTimes := map[signKey]map[string]time.Time{}
	vals := map[signKey]map[string]any{}
	err := s.run(ctx, "signs now", flux, func(r *query.FluxRecord) {
		k := signKey{str(r, "center"), str(r, "device")}
		sn := out[k]
		if sn == nil {
			sn = &signNow{}
			out[k] = sn
			lastTimes[k], vals[k] = map[string]time.Time{}, map[string]any{}
		}
		switch r.Result() {
		case "lastlit":
			sn.lastLit = r.Time()
		case "lastgood":
			sn.lastGood = r.Time()
		default:
			lastTimes[k][r.Field()] = r.Time()
			vals[k][r.Field()] = r.Value()
		}
	})
	if err != nil {
		return nil, err
	}
	for k, sn := range out {
		sn.last = lastTimes[k]["quality"]
		q, _ := vals[k]["quality"].(string)
		sn.good = q == "good"
		// lit and current are written only with a good reading: they
		// belong to the latest sample only if they have its time.
		if sn.good && lastTimes[k]["lit"].Equal(sn.last) {
			sn.lit, _ = vals[k]["lit"].(bool)
			sn.amps, _ = vals[k]["current"].(float64)
		}
		if c, ok := vals[k]["commanded"].(bool); ok && lastTimes[k]["commanded"].Equal(sn.last) {
			sn.commanded = &c
		}
	}
	return out, nil
}

// queryFlagsAndBroadcasts reads each center's latest flag position and
// latest broadcast over Lookback.
func (s *Service) queryFlagsAndBroadcasts(ctx context.Context, now time.Time) (map[string]*CenterStatus, error) {
	flux := s.base(now.Add(-s.cfg.Lookback), now.Add(time.Second)) + `
  |> filter(fn: (r) => (r._measurement == "flag" and r._field == "position") or r._measurement == "broadcast")
  |> keep(columns: ["_time", "_value", "_field", "_measurement", "center", "device"])
  |> last()`
	out := map[string]*CenterStatus{}
	bcs := map[string]map[time.Time]*Broadcast{}
	err := s.run(ctx, "flags and broadcasts", flux, func(r *query.FluxRecord) {
		c := str(r, "center")
		cs := out[c]
		if cs == nil {
			cs = &CenterStatus{Center: c}
			out[c] = cs
			bcs[c] = map[time.Time]*Broadcast{}
		}
		switch r.Measurement() {
		case "flag":
			if v, ok := num(r, "_value"); ok && r.Time().After(cs.FlagTime) {
				cs.FlagPosition, cs.FlagTime = &v, r.Time()
			}
		case "broadcast":
			b := bcs[c][r.Time()]
			if b == nil {
				b = &Broadcast{Time: r.Time()}
				bcs[c][r.Time()] = b
			}
			switch r.Field() {
			case "clip":
				b.Clip, _ = r.Value().(string)
			case "source":
				b.Source, _ = r.Value().(string)
			case "outcome":
				b.Outcome, _ = r.Value().(string)
			case "duration_s":
				b.Duration, _ = num(r, "_value")
			}
		}
	})
	for c, m := range bcs {
		for _, b := range m {
			if cur := out[c].Broadcast; cur == nil || b.Time.After(cur.Time) {
				out[c].Broadcast = b
			}
		}
	}
	return out, err
}
