package rules

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
)

// TestDesiredEqualsReplay is the property: the desired state at t equals the
// state reached from the plan's initial state by applying every transition
// the plan lists up to t. 3000 seeded random instants over four weeks
// spanning the half-mast day, in Shanghai and in New York across its DST
// change, and at Longyearbyen into polar night.
func TestDesiredEqualsReplay(t *testing.T) {
	demo := demoSchedule(t)
	ny := demo
	ny.Center = Center{mustZone(t, "America/New_York"), 40.7, -74}
	polar := demo
	polar.Center = Center{mustZone(t, "Arctic/Longyearbyen"), 78.22, 15.65}
	tests := []struct {
		name  string
		s     Schedule
		from  time.Time
		days  int
		quiet bool
	}{
		{"demo Shanghai", demo, time.Date(2026, 12, 1, 0, 0, 0, 0, demo.Center.Location), 28, false},
		{"New York over fall-back", ny, time.Date(2026, 10, 20, 0, 0, 0, 0, ny.Center.Location), 28, false},
		{"Longyearbyen into polar night", polar, time.Date(2026, 10, 15, 0, 0, 0, 0, polar.Center.Location), 28, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := NewEvaluator(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			in := Inputs{Trusted: true}
			tl := ev.Plan(tt.from, tt.days, in)
			rng := rand.New(rand.NewPCG(1, 2))
			span := tl.To.Sub(tl.From)
			for range 1000 {
				at := tl.From.Add(time.Duration(rng.Int64N(int64(span))))
				replayed := replay(tl, at)
				if want := ev.Desired(at, in); !replayed.Equal(want) {
					t.Fatalf("at %s: replayed %+v\nwant %+v", at, replayed, want)
				}
			}
		})
	}
}

func replay(tl Timeline, at time.Time) State {
	st := State{Points: append([]Want(nil), tl.Initial.Points...), Flags: append([]FlagWant(nil), tl.Initial.Flags...)}
	for _, e := range tl.Entries {
		if e.At.After(at) {
			break
		}
		if e.Want != nil {
			for i := range st.Points {
				if st.Points[i].Point == e.Want.Point {
					st.Points[i] = *e.Want
				}
			}
		}
		if e.Flag != nil {
			for i := range st.Flags {
				if st.Flags[i].Device == e.Flag.Device {
					st.Flags[i] = *e.Flag
				}
			}
		}
	}
	return st
}

// TestPlanDemoWeek checks what `beacon plan` shows for the demo center over
// the week with the memorial day: the sign on every night, flag raises and
// lowers, half-mast with its calendar reason, weekday broadcasts.
func TestPlanDemoWeek(t *testing.T) {
	ev := demoEvaluator(t)
	from := time.Date(2026, 12, 10, 0, 0, 0, 0, ev.Schedule().Center.Location)
	tl := ev.Plan(from, 7, Inputs{Trusted: true})
	count := map[string]int{}
	for _, e := range tl.Entries {
		key := e.Kind + " " + e.Target + " " + e.Value
		if e.Kind == PlanBroadcast {
			key = e.Kind + " " + e.Rule
		}
		count[key]++
		if e.Kind == PlanFlag && e.Value == "half" && !strings.Contains(e.Reason, "National Memorial Day") {
			t.Errorf("half-mast entry without its calendar reason: %+v", e)
		}
		if e.Warning != "" {
			t.Errorf("unexpected warning: %+v", e)
		}
	}
	want := map[string]int{
		"set sign.power true":    7,
		"set sign.power false":   7,
		"flag flag raised":       7,
		"flag flag lowered":      7,
		"flag flag half":         1,
		"broadcast morning-news": 5, // Dec 10, 11, 14, 15, 16
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%q: %d entries, want %d (all: %v)", k, count[k], n, count)
		}
	}
	if len(tl.Days) != 7 || !tl.Days[3].Sun.Sunset.OK() || len(tl.Days[3].Notes) != 1 {
		t.Errorf("days: %+v", tl.Days)
	}
	// Half-mast steps: from the top (raised a minute before) straight to half.
	for _, e := range tl.Entries {
		if e.Kind == PlanFlag && e.Value == "half" && (len(e.Steps) != 1 || e.Steps[0] != StepHalf) {
			t.Errorf("half-mast steps %v, want [half]", e.Steps)
		}
		if e.Kind == PlanFlag && e.Value == "lowered" && e.At.Day() == 13 && len(e.Steps) != 2 {
			t.Errorf("lowering from half-mast: steps %v, want [top bottom]", e.Steps)
		}
	}
}

func TestPlanFlagsConflictsAndQuietHours(t *testing.T) {
	s := demoSchedule(t)
	s.Windows = append(s.Windows, Window{Name: "sign-off-evening", Start: mustExpr(t, "19:00"), End: mustExpr(t, "20:00"),
		Set: []Setting{{signPower, drivers.Bool(false)}}})
	late, _ := ParseCronSpec("30 22 * * *")
	s.Jobs = append(s.Jobs, Job{Name: "late-news", Cron: late, Grace: time.Minute, Broadcast: &Broadcast{Device: "pa", Clip: "late"}})
	ev, err := NewEvaluator(s)
	if err != nil {
		t.Fatal(err)
	}
	tl := ev.Plan(time.Date(2026, 12, 1, 0, 0, 0, 0, s.Center.Location), 1, Inputs{Trusted: true})
	var conflict, refused bool
	for _, e := range tl.Entries {
		conflict = conflict || strings.HasPrefix(e.Warning, "conflict: sign.power: sign-at-night wants true, sign-off-evening wants false")
		refused = refused || (e.Rule == "late-news" && e.Warning == "refused: quiet hours")
	}
	if !conflict || !refused {
		t.Errorf("conflict flagged %v, quiet-hours refusal flagged %v: %+v", conflict, refused, tl.Entries)
	}
}

// BenchmarkEvaluateYearByMinute evaluates the demo center's rules minute by
// minute over a whole year (525,600 evaluations per op).
func BenchmarkEvaluateYearByMinute(b *testing.B) {
	s := demoSchedule(b)
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, s.Center.Location)
	end := start.AddDate(1, 0, 0)
	in := Inputs{Trusted: true}
	var st State
	for b.Loop() {
		ev, err := NewEvaluator(s)
		if err != nil {
			b.Fatal(err)
		}
		for t := start; t.Before(end); t = t.Add(time.Minute) {
			ev.Evaluate(t, in, &st)
		}
	}
}
