package county

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/query"
)

// Night is one sign's figures for one night (DESIGN.md, Uptime
// definitions): minutes of its required window [Start, End) that were lit,
// dark or unknown.
type Night struct {
	Center     string    `json:"center"`
	Sign       string    `json:"sign"`  // the sign device; "" for a center whose sign never reported
	Date       string    `json:"night"` // local date the window starts on, YYYY-MM-DD
	Start      time.Time `json:"window_start"`
	End        time.Time `json:"window_end"`
	Required   int       `json:"required_min"`
	Lit        int       `json:"lit_min"`
	Dark       int       `json:"dark_min"`
	Unknown    int       `json:"unknown_min"`
	Compliance float64   `json:"compliance"` // Lit / Required, 0–1
	// Reported is false when the gateway never sent the night's summary:
	// the window is estimated (Estimate says how) and every minute of it
	// is unknown.
	Reported bool   `json:"reported"`
	Estimate string `json:"estimate,omitempty"` // "previous night", "next night", "county", "default"
}

// FullyLit reports whether every required minute was lit.
func (n Night) FullyLit() bool { return n.Required > 0 && n.Lit == n.Required }

// CenterSummary is a center over a report's range, all its signs together.
type CenterSummary struct {
	Center     string  `json:"center"`
	Nights     int     `json:"nights"`      // nights in the range
	FullyLit   int     `json:"fully_lit"`   // nights on which every sign was lit for its whole window
	NoReport   int     `json:"no_report"`   // nights with a missing summary (some sign)
	Worst      string  `json:"worst_night"` // the night with the lowest compliance (earliest on a tie)
	WorstComp  float64 `json:"worst_compliance"`
	Required   int     `json:"required_min"`
	Lit        int     `json:"lit_min"`
	Dark       int     `json:"dark_min"`
	Unknown    int     `json:"unknown_min"`
	Compliance float64 `json:"compliance"` // Lit / Required over the range
}

// Report is the county's uptime report over the nights From…To.
type Report struct {
	County    string          `json:"county"`
	From      string          `json:"from"` // first night, YYYY-MM-DD
	To        string          `json:"to"`   // last night
	Generated time.Time       `json:"generated"`
	Dates     []string        `json:"nights"`
	Nights    []Night         `json:"rows"` // by center, sign, night
	Centers   []CenterSummary `json:"centers"`
	// Seen is, per center, its latest heartbeat (zero when none in the
	// lookback); the dashboard uses it.
	Seen map[string]time.Time `json:"-"`
}

// Date is a calendar date in the county's time zone.
const dateLayout = "2006-01-02"

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD: %w", s, err)
	}
	return d, nil
}

// nightOf is the local date of the night a window starting at t belongs
// to: windows starting from noon to the next noon share a night.
func (s *Service) nightOf(t time.Time) string {
	return t.In(s.cfg.Location).Add(-12 * time.Hour).Format(dateLayout)
}

// noon returns local noon of date d (YYYY-MM-DD) plus days.
func (s *Service) noon(d string, days int) time.Time {
	t, _ := time.ParseInLocation(dateLayout, d, s.cfg.Location)
	return time.Date(t.Year(), t.Month(), t.Day()+days, 12, 0, 0, 0, s.cfg.Location)
}

// signKey names one sign of one center.
type signKey struct{ center, sign string }

// presence is what the county knows of a center: when it was first and
// last heard of in the lookback.
type presence struct {
	first, last   time.Time // any heartbeat, sign sample or summary
	lastHeartbeat time.Time
}

// Report builds the report for the nights from…to (local dates, both
// included). Nights whose window has not ended (plus ReportGrace) are left
// out.
func (s *Service) Report(ctx context.Context, from, to time.Time) (*Report, error) {
	fromD, toD := from.Format(dateLayout), to.Format(dateLayout)
	if toD < fromD {
		return nil, fmt.Errorf("report: --to %s is before --from %s", toD, fromD)
	}
	start := s.noon(fromD, 0).Add(-s.cfg.Lookback)
	stop := s.noon(toD, 1).Add(s.cfg.Lookback) // a later night may tell a missing night's window
	if now := s.Now(); stop.After(now) {
		stop = now.Add(time.Second)
	}
	if !stop.After(start) {
		stop = start.Add(time.Second)
	}
	var (
		reported []Night
		seen     map[string]*presence
		signs    map[signKey]bool
	)
	var wg sync.WaitGroup
	var errN, errP error
	wg.Add(2)
	go func() { defer wg.Done(); reported, errN = s.queryNights(ctx, start, stop) }()
	go func() { defer wg.Done(); seen, signs, errP = s.queryPresence(ctx, start, stop) }()
	wg.Wait()
	if err := errors.Join(errN, errP); err != nil {
		return nil, err
	}
	r := s.assemble(fromD, toD, reported, seen, signs)
	return r, nil
}

// queryNights reads every sign_night of the county in [start, stop).
func (s *Service) queryNights(ctx context.Context, start, stop time.Time) ([]Night, error) {
	flux := s.base(start, stop) + `
  |> filter(fn: (r) => r._measurement == "sign_night")
  |> filter(fn: (r) => r._field == "required_min" or r._field == "lit_min" or r._field == "dark_min" or r._field == "unknown_min" or r._field == "window_end")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> keep(columns: ["_time", "center", "device", "required_min", "lit_min", "dark_min", "unknown_min", "window_end"])`
	var out []Night
	err := s.run(ctx, "sign_night", flux, func(r *query.FluxRecord) {
		end, _ := num(r, "window_end")
		n := Night{Center: str(r, "center"), Sign: str(r, "device"), Start: r.Time().UTC(), End: time.Unix(0, int64(end)).UTC(),
			Required: intv(r, "required_min"), Lit: intv(r, "lit_min"), Dark: intv(r, "dark_min"), Unknown: intv(r, "unknown_min"), Reported: true}
		n.Date = s.nightOf(n.Start)
		if n.Required > 0 {
			n.Compliance = float64(n.Lit) / float64(n.Required)
		}
		out = append(out, n)
	})
	return out, err
}

// queryPresence finds the county's centers from their heartbeats in
// [start, stop): when each was first and last heard of. (Signs and the
// centers' first nights come from the summaries; reading sign samples
// here too made the report 1.6× slower for no center the heartbeats miss.)
func (s *Service) queryPresence(ctx context.Context, start, stop time.Time) (map[string]*presence, map[signKey]bool, error) {
	flux := `data = ` + s.base(start, stop) + `
  |> filter(fn: (r) => r._measurement == "gateway" and r._field == "uptime_s")
  |> keep(columns: ["_time", "_value", "_measurement", "_field", "center", "device"])
data |> first() |> yield(name: "first")
data |> last() |> yield(name: "last")`
	seen := map[string]*presence{}
	signs := map[signKey]bool{}
	err := s.run(ctx, "centers", flux, func(r *query.FluxRecord) {
		c := str(r, "center")
		if c == "" {
			return
		}
		p := seen[c]
		if p == nil {
			p = &presence{}
			seen[c] = p
		}
		t := r.Time()
		if p.first.IsZero() || t.Before(p.first) {
			p.first = t
		}
		if t.After(p.last) {
			p.last = t
		}
		switch r.Measurement() {
		case "gateway":
			if t.After(p.lastHeartbeat) {
				p.lastHeartbeat = t
			}
		case "sign", "sign_night":
			signs[signKey{c, str(r, "device")}] = true
		}
	})
	return seen, signs, err
}

// assemble puts the reported nights in the range and fills in the nights
// a known sign did not report (see docs/COUNTY.md, Missing nights).
func (s *Service) assemble(fromD, toD string, reported []Night, seen map[string]*presence, signs map[signKey]bool) *Report {
	now := s.Now()
	r := &Report{County: s.cfg.County, From: fromD, To: toD, Generated: now.UTC(), Seen: map[string]time.Time{}}
	for d := fromD; d <= toD; d = s.noon(d, 1).Format(dateLayout) {
		r.Dates = append(r.Dates, d)
	}
	// Every sign's reported nights, by date; and every date's windows, for
	// signs that never reported one.
	bySign := map[signKey]map[string]Night{}
	byDate := map[string][]Night{}
	for _, n := range reported {
		k := signKey{n.Center, n.Sign}
		if bySign[k] == nil {
			bySign[k] = map[string]Night{}
		}
		bySign[k][n.Date] = n
		byDate[n.Date] = append(byDate[n.Date], n)
		signs[k] = true
	}
	for _, n := range reported {
		p := seen[n.Center]
		if p == nil {
			p = &presence{first: n.Start, last: n.Start}
			seen[n.Center] = p
		}
		if n.Start.Before(p.first) {
			p.first = n.Start
		}
	}
	for c, p := range seen {
		r.Seen[c] = p.lastHeartbeat
	}
	// A center known only from heartbeats gets one unnamed sign.
	centerHasSign := map[string]bool{}
	for k := range signs {
		centerHasSign[k.center] = true
	}
	for c := range seen {
		if !centerHasSign[c] {
			signs[signKey{c, ""}] = true
		}
	}
	keys := make([]signKey, 0, len(signs))
	for k := range signs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].center != keys[j].center {
			return keys[i].center < keys[j].center
		}
		return keys[i].sign < keys[j].sign
	})
	for _, k := range keys {
		mine := bySign[k]
		var first time.Time
		if p := seen[k.center]; p != nil {
			first = p.first
		}
		for _, d := range r.Dates {
			if n, ok := mine[d]; ok {
				r.Nights = append(r.Nights, n)
				continue
			}
			n := s.estimate(k, d, mine, byDate[d])
			// Not yet due, or before the center existed: not a missing night.
			if n.End.Add(s.cfg.ReportGrace).After(now) || !first.IsZero() && n.End.Before(first) {
				continue
			}
			r.Nights = append(r.Nights, n)
		}
	}
	r.Centers = summarize(r.Nights)
	return r
}

// estimate is a missing night of a sign: every minute unknown, over the
// window of the sign's nearest reported night (the previous one on a tie)
// moved to this date; else the median window of the county's signs that
// night; else the default window.
func (s *Service) estimate(k signKey, d string, mine map[string]Night, sameNight []Night) Night {
	n := Night{Center: k.center, Sign: k.sign, Date: d}
	day0 := s.noon(d, 0)
	best, bestDist := Night{}, -1
	for _, m := range mine {
		days := int(s.noon(m.Date, 0).Sub(day0).Round(24*time.Hour) / (24 * time.Hour))
		dist := days
		if dist < 0 {
			dist = -dist
		}
		if bestDist < 0 || dist < bestDist || dist == bestDist && m.Date < best.Date {
			best, bestDist = m, dist
		}
	}
	switch {
	case bestDist > 0:
		// The same local clock times, moved by whole days.
		days := int(s.noon(best.Date, 0).Sub(day0).Round(24*time.Hour) / (24 * time.Hour))
		n.Start = best.Start.In(s.cfg.Location).AddDate(0, 0, -days).UTC()
		n.End = best.End.In(s.cfg.Location).AddDate(0, 0, -days).UTC()
		n.Estimate = "next night"
		if best.Date < d {
			n.Estimate = "previous night"
		}
	case len(sameNight) > 0:
		starts := make([]time.Time, len(sameNight))
		ends := make([]time.Time, len(sameNight))
		for i, m := range sameNight {
			starts[i], ends[i] = m.Start, m.End
		}
		sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
		sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
		n.Start, n.End = starts[len(starts)/2], ends[len(ends)/2]
		n.Estimate = "county"
	default:
		mid := s.noon(d, 0).Add(-12 * time.Hour)
		n.Start, n.End = mid.Add(s.cfg.DefaultWindow[0]).UTC(), mid.Add(s.cfg.DefaultWindow[1]).UTC()
		n.Estimate = "default"
	}
	n.Required = int((n.End.Sub(n.Start) + time.Minute - 1) / time.Minute)
	n.Unknown = n.Required
	return n
}

// summarize folds nights into one summary per center, by center name.
func summarize(nights []Night) []CenterSummary {
	type dayAgg struct{ req, lit int }
	byCenter := map[string]*CenterSummary{}
	days := map[string]map[string]*dayAgg{}
	noReport := map[string]map[string]bool{}
	for _, n := range nights {
		c := byCenter[n.Center]
		if c == nil {
			c = &CenterSummary{Center: n.Center}
			byCenter[n.Center] = c
			days[n.Center] = map[string]*dayAgg{}
			noReport[n.Center] = map[string]bool{}
		}
		c.Required += n.Required
		c.Lit += n.Lit
		c.Dark += n.Dark
		c.Unknown += n.Unknown
		a := days[n.Center][n.Date]
		if a == nil {
			a = &dayAgg{}
			days[n.Center][n.Date] = a
		}
		a.req += n.Required
		a.lit += n.Lit
		if !n.Reported {
			noReport[n.Center][n.Date] = true
		}
	}
	out := make([]CenterSummary, 0, len(byCenter))
	for name, c := range byCenter {
		dates := make([]string, 0, len(days[name]))
		for d := range days[name] {
			dates = append(dates, d)
		}
		sort.Strings(dates)
		c.Nights = len(dates)
		c.NoReport = len(noReport[name])
		c.WorstComp = 2
		for _, d := range dates {
			a := days[name][d]
			comp := 0.0
			if a.req > 0 {
				comp = float64(a.lit) / float64(a.req)
			}
			if a.req > 0 && a.lit == a.req {
				c.FullyLit++
			}
			if comp < c.WorstComp {
				c.Worst, c.WorstComp = d, comp
			}
		}
		if c.WorstComp > 1 {
			c.WorstComp = 0
		}
		if c.Required > 0 {
			c.Compliance = float64(c.Lit) / float64(c.Required)
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Center < out[j].Center })
	return out
}
