package rules

import (
	"slices"
	"testing"
	"time"
)

func TestFlagSteps(t *testing.T) {
	tests := []struct {
		name     string
		from, to FlagState
		want     []FlagStep
	}{
		{"raise", FlagLowered, FlagRaised, []FlagStep{StepTop}},
		{"half-mast from the bottom goes to the top first", FlagLowered, FlagHalf, []FlagStep{StepTop, StepHalf}},
		{"half-mast from the top", FlagRaised, FlagHalf, []FlagStep{StepHalf}},
		{"lowering from half-mast goes to the top first", FlagHalf, FlagLowered, []FlagStep{StepTop, StepBottom}},
		{"lower from the top", FlagRaised, FlagLowered, []FlagStep{StepBottom}},
		{"half to full", FlagHalf, FlagRaised, []FlagStep{StepTop}},
		{"unknown to lowered goes to the top first", FlagUnknown, FlagLowered, []FlagStep{StepTop, StepBottom}},
		{"unknown to half", FlagUnknown, FlagHalf, []FlagStep{StepTop, StepHalf}},
		{"already there", FlagHalf, FlagHalf, nil},
		{"hold never moves", FlagRaised, FlagHold, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FlagSteps(tt.from, tt.to); !slices.Equal(got, tt.want) {
				t.Errorf("FlagSteps(%v, %v) = %v, want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

// TestFlagDesiredState walks the demo flag through an ordinary day, the
// half-mast day and a gale.
func TestFlagDesiredState(t *testing.T) {
	ev := demoEvaluator(t)
	c := ev.Schedule().Center
	ordinary, memorial := Date{2026, 12, 12}, Date{2026, 12, 13}
	sunO, sunM := SunTimes(c, ordinary), SunTimes(c, memorial)
	gust := sunM.Noon // the gale ends at noon on the memorial day
	tests := []struct {
		name string
		at   time.Time
		wind Wind
		want FlagState
		rule string
	}{
		{"before sunrise", sunO.Sunrise.Time.Add(-time.Minute), Wind{}, FlagLowered, "flag-down"},
		{"at sunrise", sunO.Sunrise.Time, Wind{}, FlagRaised, "flag-up"},
		{"afternoon", sunO.Noon.Add(3 * time.Hour), Wind{}, FlagRaised, "flag-up"},
		{"after sunset", sunO.Sunset.Time.Add(time.Second), Wind{}, FlagLowered, "flag-down"},
		{"memorial day sunrise: raised first", sunM.Sunrise.Time, Wind{}, FlagRaised, "flag-up"},
		{"memorial day sunrise+1m: half", sunM.Sunrise.Time.Add(time.Minute), Wind{}, FlagHalf, "half-mast"},
		{"memorial day sunset: lowered", sunM.Sunset.Time, Wind{}, FlagLowered, "flag-down"},
		{"gale lowers the flag", gust, Wind{Valid: true, Speed: 20}, FlagLowered, "wind"},
		{"calm for 9 min: still held", gust.Add(9 * time.Minute), Wind{Valid: true, Speed: 5, CalmSince: gust}, FlagLowered, "wind"},
		{"calm for 10 min: schedule resumes (half)", gust.Add(10 * time.Minute), Wind{Valid: true, Speed: 5, CalmSince: gust}, FlagHalf, "half-mast"},
		{"no wind sensor: schedule", gust, Wind{Valid: false, Speed: 40}, FlagHalf, "half-mast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := ev.Desired(tt.at, Inputs{Trusted: true, Wind: map[string]Wind{"flag": tt.wind}})
			f, ok := st.Flag("flag")
			if !ok || f.State != tt.want || f.Rule != tt.rule {
				t.Errorf("at %s: flag %+v, want %v by %s", tt.at.Format(time.DateTime), f, tt.want, tt.rule)
			}
		})
	}
}
