package rules

import (
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
)

// demoSchedule mirrors configs/demo-center.yaml: a sign window, flag up and
// down at sunrise and sunset, half-mast on a calendar day, a weekday
// broadcast outside quiet hours, and a wind limit.
func demoSchedule(t testing.TB) Schedule {
	c := Center{mustZone(t, "Asia/Shanghai"), 22.47, 113.03}
	sunrise, sunset, halfAt := mustExpr(t, "sunrise"), mustExpr(t, "sunset"), mustExpr(t, "sunrise+1m")
	news, err := ParseCronSpec("30 7 * * 1-5")
	if err != nil {
		t.Fatal(err)
	}
	return Schedule{
		Center: c,
		Calendar: Calendar{Entries: []CalendarEntry{
			{From: Date{2026, 12, 13}, To: Date{2026, 12, 13}, Tags: []string{"half-mast"}, Note: "National Memorial Day"},
			{From: Date{2000, 10, 1}, To: Date{2000, 10, 1}, Yearly: true, Tags: []string{"holiday"}, Note: "National Day"},
			{From: Date{2027, 2, 16}, To: Date{2027, 2, 22}, Tags: []string{"holiday", "no-broadcast"}, Note: "Spring Festival"},
		}},
		Windows: []Window{{
			Name: "sign-at-night", Start: mustExpr(t, "sunset-15m"), End: mustExpr(t, "sunrise+15m"),
			Set: []Setting{{signPower, drivers.Bool(true)}}, Otherwise: []Setting{{signPower, drivers.Bool(false)}},
		}},
		Jobs: []Job{
			{Name: "flag-up", At: &sunrise, Grace: 10 * time.Minute, Flag: &FlagAction{"flag", FlagRaised}},
			{Name: "flag-down", At: &sunset, Grace: 10 * time.Minute, Flag: &FlagAction{"flag", FlagLowered}},
			{Name: "half-mast", At: &halfAt, Grace: 10 * time.Minute, Days: DayFilter{Only: []string{"half-mast"}}, Flag: &FlagAction{"flag", FlagHalf}},
			{Name: "morning-news", Cron: news, Grace: 5 * time.Minute, Days: DayFilter{Except: []string{"no-broadcast"}},
				Broadcast: &Broadcast{Device: "pa", Clip: "morning-news", Zones: []int{1, 2, 3}, Volume: 55, Length: 3 * time.Minute}},
		},
		Flagpoles: []Flagpole{{Device: "flag", WindLimit: 17.2, WindResume: 10 * time.Minute}},
		Safe:      []Setting{{signPower, drivers.Bool(true)}},
		Quiet:     &QuietHours{Start: mustExpr(t, "22:00"), End: mustExpr(t, "07:00")},
	}
}

func demoEvaluator(t testing.TB) *Evaluator {
	ev, err := NewEvaluator(demoSchedule(t))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
