package schedule

import (
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/rules"
)

func TestFromConfigDemoCenter(t *testing.T) {
	cfg, err := config.Load("../../configs/demo-center.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Windows) != 1 || s.Windows[0].Name != "sign-at-night" || s.Windows[0].Start.String() != "sunset-15m" {
		t.Errorf("windows: %+v", s.Windows)
	}
	names := map[string]rules.Job{}
	for _, j := range s.Jobs {
		names[j.Name] = j
	}
	if j := names["half-mast"]; j.Flag == nil || j.Flag.State != rules.FlagHalf || len(j.Days.Only) != 1 {
		t.Errorf("half-mast job: %+v", j)
	}
	if j := names["morning-news"]; j.Cron == nil || j.Broadcast == nil || j.Grace != 5*time.Minute {
		t.Errorf("morning-news job: %+v", j)
	}
	if len(s.Flagpoles) != 1 || s.Flagpoles[0].WindLimit != 17.2 {
		t.Errorf("flagpoles: %+v", s.Flagpoles)
	}
	if len(s.Calendar.Entries) != 3 || s.Calendar.Entries[0].From != (rules.Date{Year: 2026, Month: 12, Day: 13}) {
		t.Errorf("calendar: %+v", s.Calendar.Entries)
	}
	ev, err := rules.NewEvaluator(s)
	if err != nil {
		t.Fatal(err)
	}
	midnight := time.Date(2026, 12, 13, 0, 0, 0, 0, cfg.Center.Location)
	w, _ := ev.Desired(midnight, rules.Inputs{Trusted: true}).Point(drivers.PointRef{Device: "sign", Point: "power"})
	if on, _ := w.Value.AsBool(); !on {
		t.Errorf("sign at midnight: %+v, want on", w)
	}
}
