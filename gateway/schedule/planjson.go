package schedule

import (
	"time"

	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/rules"
)

// PlanJSON is a plan as `beacon plan --format json` prints it and the API
// serves it, so scripts read either.
type PlanJSON struct {
	Center  string      `json:"center"`
	Zone    string      `json:"timezone"`
	From    time.Time   `json:"from"`
	To      time.Time   `json:"to"`
	Initial []PlanEntry `json:"initial"`
	Days    []PlanDay   `json:"days"`
	Entries []PlanEntry `json:"entries"`
}

// PlanDay is one day's sun times (HH:MM:SS local, or "none" in polar day
// or night) and calendar notes.
type PlanDay struct {
	Date    string   `json:"date"`
	Dawn    string   `json:"dawn"`
	Sunrise string   `json:"sunrise"`
	Sunset  string   `json:"sunset"`
	Dusk    string   `json:"dusk"`
	Notes   []string `json:"calendar,omitempty"`
}

// PlanEntry is one change of desired state or one job instant.
type PlanEntry struct {
	At      *time.Time `json:"at,omitempty"`
	Kind    string     `json:"kind"`
	Rule    string     `json:"rule,omitempty"`
	Target  string     `json:"target,omitempty"`
	Value   string     `json:"value,omitempty"`
	Steps   []string   `json:"steps,omitempty"`
	Reason  string     `json:"reason,omitempty"`
	Warning string     `json:"warning,omitempty"`
}

// SunClock is a sun event as HH:MM:SS local time, or "none".
func SunClock(e rules.SunEvent) string {
	if !e.OK() {
		return "none"
	}
	return e.Time.Format("15:04:05")
}

// WantValue is a desired value as text, "relinquish" when the schedule
// wants nothing.
func WantValue(w rules.Want) string {
	if w.Relinquish() {
		return "relinquish"
	}
	return w.Value.String()
}

// Plan converts a timeline into its JSON form.
func Plan(cfg *config.Config, tl rules.Timeline) PlanJSON {
	p := PlanJSON{Center: cfg.Center.ID, Zone: cfg.Center.Timezone, From: tl.From, To: tl.To,
		Initial: []PlanEntry{}, Days: []PlanDay{}, Entries: []PlanEntry{}}
	for _, w := range tl.Initial.Points {
		p.Initial = append(p.Initial, PlanEntry{Kind: rules.PlanSet, Rule: w.Rule, Target: w.Point.String(), Value: WantValue(w), Reason: w.Reason})
	}
	for _, f := range tl.Initial.Flags {
		p.Initial = append(p.Initial, PlanEntry{Kind: rules.PlanFlag, Rule: f.Rule, Target: f.Device, Value: f.State.String(), Reason: f.Reason})
	}
	for _, d := range tl.Days {
		p.Days = append(p.Days, PlanDay{Date: d.Date.String(), Dawn: SunClock(d.Sun.Dawn), Sunrise: SunClock(d.Sun.Sunrise),
			Sunset: SunClock(d.Sun.Sunset), Dusk: SunClock(d.Sun.Dusk), Notes: d.Notes})
	}
	for _, e := range tl.Entries {
		at := e.At
		je := PlanEntry{At: &at, Kind: e.Kind, Rule: e.Rule, Target: e.Target, Value: e.Value, Reason: e.Reason, Warning: e.Warning}
		for _, st := range e.Steps {
			je.Steps = append(je.Steps, st.String())
		}
		p.Entries = append(p.Entries, je)
	}
	return p
}
