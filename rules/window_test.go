package rules

import (
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/internal/clock"
)

func TestWallTime(t *testing.T) {
	ny, berlin, shanghai := mustZone(t, "America/New_York"), mustZone(t, "Europe/Berlin"), mustZone(t, "Asia/Shanghai")
	tests := []struct {
		name  string
		loc   *time.Location
		date  Date
		clock string
		want  string // UTC
	}{
		{"NY ordinary", ny, Date{2026, 3, 7}, "02:30", "2026-03-07T07:30:00Z"},
		{"NY skipped hour runs at the change", ny, Date{2026, 3, 8}, "02:30", "2026-03-08T07:00:00Z"},
		{"NY skipped hour start", ny, Date{2026, 3, 8}, "02:00", "2026-03-08T07:00:00Z"},
		{"NY after the gap", ny, Date{2026, 3, 8}, "03:00", "2026-03-08T07:00:00Z"},
		{"NY repeated hour: first (EDT)", ny, Date{2026, 11, 1}, "01:30", "2026-11-01T05:30:00Z"},
		{"Berlin skipped hour", berlin, Date{2026, 3, 29}, "02:30", "2026-03-29T01:00:00Z"},
		{"Berlin repeated hour: first (CEST)", berlin, Date{2026, 10, 25}, "02:30", "2026-10-25T00:30:00Z"},
		{"Shanghai no DST", shanghai, Date{2026, 3, 8}, "02:30", "2026-03-07T18:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseTimeExpr(tt.clock)
			if err != nil {
				t.Fatal(err)
			}
			got := WallTime(tt.date, e.Clock, tt.loc)
			if want, _ := time.Parse(time.RFC3339, tt.want); !got.Equal(want) {
				t.Errorf("WallTime(%s %s) = %s, want %s", tt.date, tt.clock, got.UTC().Format(time.RFC3339), tt.want)
			}
		})
	}
}

var (
	signPower = drivers.PointRef{Device: "sign", Point: "power"}
	hallLight = drivers.PointRef{Device: "hall-lights", Point: "power"}
	hallOcc   = drivers.PointRef{Device: "hall", Point: "occupied"}
)

func mustExpr(t testing.TB, s string) TimeExpr {
	t.Helper()
	e, err := ParseTimeExpr(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func onOff(t testing.TB, start, end string) Window {
	return Window{Name: "w", Start: mustExpr(t, start), End: mustExpr(t, end),
		Set: []Setting{{signPower, drivers.Bool(true)}}, Otherwise: []Setting{{signPower, drivers.Bool(false)}}}
}

// simulateDay walks a fake clock minute by minute over the local day d and
// returns the on minutes and the first and last instant the sign is on.
func simulateDay(t *testing.T, ev *Evaluator, d Date, in Inputs) (minutes int, first, last time.Time) {
	t.Helper()
	loc := ev.Schedule().Center.loc()
	fake := clock.NewFake(d.Midnight(loc))
	end := d.AddDays(1).Midnight(loc)
	var st State
	for ; fake.Now().Before(end); fake.Advance(time.Minute) {
		now := fake.Now()
		ev.Evaluate(now, in, &st)
		w, ok := st.Point(signPower)
		if !ok {
			t.Fatal("sign.power not in state")
		}
		if on, _ := w.Value.AsBool(); on && !w.Relinquish() {
			if minutes == 0 {
				first = now
			}
			last = now
			minutes++
		}
	}
	return minutes, first, last
}

func TestWindowsOverSimulatedDays(t *testing.T) {
	ny, berlin, shanghai := mustZone(t, "America/New_York"), mustZone(t, "Europe/Berlin"), mustZone(t, "Asia/Shanghai")
	longyearbyen := mustZone(t, "Arctic/Longyearbyen")
	tests := []struct {
		name        string
		center      Center
		window      Window
		date        Date
		wantMinutes int
		wantFirst   string // local HH:MM, "" = not checked
		wantLast    string
	}{
		// 00:00–06:00 of the 23-hour day (EST→EDT at 02:00) is 5 h, then 22:00–24:00.
		{"NY night window on spring-forward day", Center{ny, 40.7, -74}, onOff(t, "22:00", "06:00"), Date{2026, 3, 8}, 5*60 + 2*60, "00:00", "23:59"},
		// 25-hour day: 00:00–06:00 is 7 h of real time, plus 22:00–24:00.
		{"NY night window on fall-back day", Center{ny, 40.7, -74}, onOff(t, "22:00", "06:00"), Date{2026, 11, 1}, 7*60 + 2*60, "00:00", "23:59"},
		{"Berlin night window on spring-forward day", Center{berlin, 52.5, 13.4}, onOff(t, "22:00", "06:00"), Date{2026, 3, 29}, 5*60 + 2*60, "", ""},
		{"Berlin night window on fall-back day", Center{berlin, 52.5, 13.4}, onOff(t, "22:00", "06:00"), Date{2026, 10, 25}, 7*60 + 2*60, "", ""},
		{"Shanghai night window", Center{shanghai, 22.47, 113.03}, onOff(t, "22:00", "06:00"), Date{2026, 3, 8}, 8 * 60, "00:00", "23:59"},
		// A window inside the skipped hour ends at the change: 01:30 EST → 03:00 EDT is 30 min.
		{"NY window into the skipped hour", Center{ny, 40.7, -74}, onOff(t, "01:30", "02:30"), Date{2026, 3, 8}, 30, "01:30", "01:59"},
		// Berlin's repeated hour: 01:30 CEST → 02:30 first occurrence (CEST) is 60 min.
		{"Berlin window into the repeated hour", Center{berlin, 52.5, 13.4}, onOff(t, "01:30", "02:30"), Date{2026, 10, 25}, 60, "01:30", "02:29"},
		{"daytime window", Center{shanghai, 22.47, 113.03}, onOff(t, "08:00", "17:30"), Date{2026, 6, 1}, 9*60 + 30, "08:00", "17:29"},
		{"24-hour window", Center{shanghai, 22.47, 113.03}, onOff(t, "07:00", "07:00"), Date{2026, 6, 1}, 24 * 60, "00:00", "23:59"},
		// Polar night at Longyearbyen (78.2 N): no sunrise, the sign is on all day.
		{"polar night sign on all day", Center{longyearbyen, 78.22, 15.65}, onOff(t, "sunset-15m", "sunrise+15m"), Date{2026, 12, 15}, 24 * 60, "00:00", "23:59"},
		// Polar day: only the 30 min of the offsets around solar midnight.
		{"polar day sign on 30 min", Center{longyearbyen, 78.22, 15.65}, onOff(t, "sunset-15m", "sunrise+15m"), Date{2026, 6, 21}, 30, "", ""},
		{"polar day bare sunset-sunrise never opens", Center{longyearbyen, 78.22, 15.65}, onOff(t, "sunset", "sunrise"), Date{2026, 6, 21}, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := NewEvaluator(Schedule{Center: tt.center, Windows: []Window{tt.window}})
			if err != nil {
				t.Fatal(err)
			}
			n, first, last := simulateDay(t, ev, tt.date, Inputs{Trusted: true})
			if n != tt.wantMinutes {
				t.Errorf("on for %d min, want %d", n, tt.wantMinutes)
			}
			if tt.wantFirst != "" && first.Format("15:04") != tt.wantFirst {
				t.Errorf("first on minute %s, want %s", first.Format("15:04"), tt.wantFirst)
			}
			if tt.wantLast != "" && last.Format("15:04") != tt.wantLast {
				t.Errorf("last on minute %s, want %s", last.Format("15:04"), tt.wantLast)
			}
		})
	}
}

// TestSunWindowFollowsSunTimes checks the demo sign window at the demo
// center against SunTimes on a memorial day: off at sunrise+15m, on at
// sunset-15m.
func TestSunWindowFollowsSunTimes(t *testing.T) {
	c := Center{mustZone(t, "Asia/Shanghai"), 22.47, 113.03}
	ev, err := NewEvaluator(Schedule{Center: c, Windows: []Window{onOff(t, "sunset-15m", "sunrise+15m")}})
	if err != nil {
		t.Fatal(err)
	}
	d := Date{2026, 12, 13}
	sun := SunTimes(c, d)
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"just before sunrise+15m", sun.Sunrise.Time.Add(15*time.Minute - time.Second), true},
		{"at sunrise+15m", sun.Sunrise.Time.Add(15 * time.Minute), false},
		{"noon", sun.Noon, false},
		{"just before sunset-15m", sun.Sunset.Time.Add(-15*time.Minute - time.Second), false},
		{"at sunset-15m", sun.Sunset.Time.Add(-15 * time.Minute), true},
		{"midnight", d.AddDays(1).Midnight(c.Location), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := ev.Desired(tt.at, Inputs{Trusted: true}).Point(signPower)
			if got, _ := w.Value.AsBool(); got != tt.want {
				t.Errorf("at %s: sign %v, want %v (%+v)", tt.at, got, tt.want, w)
			}
		})
	}
}

func TestCalendarAndDayFilters(t *testing.T) {
	cal := Calendar{Entries: []CalendarEntry{
		{From: Date{2026, 12, 13}, To: Date{2026, 12, 13}, Tags: []string{"half-mast"}, Note: "National Memorial Day"},
		{From: Date{2000, 10, 1}, To: Date{2000, 10, 1}, Yearly: true, Tags: []string{"holiday"}, Note: "National Day"},
		{From: Date{2027, 2, 16}, To: Date{2027, 2, 22}, Tags: []string{"holiday", "no-broadcast"}, Note: "Spring Festival"},
		{From: Date{2000, 12, 30}, To: Date{2000, 1, 2}, Yearly: true, Tags: []string{"new-year"}},
		{From: Date{2000, 2, 29}, To: Date{2000, 2, 29}, Yearly: true, Tags: []string{"leap"}},
	}}
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	tests := []struct {
		name   string
		filter DayFilter
		date   Date
		want   bool
		why    string
	}{
		{"no filter", DayFilter{}, Date{2026, 12, 12}, true, ""},
		{"weekday on Monday", DayFilter{Weekdays: weekdays}, Date{2026, 11, 30}, true, ""},
		{"weekday on Saturday", DayFilter{Weekdays: weekdays}, Date{2026, 12, 12}, false, "not on Sat"},
		{"only half-mast on the day", DayFilter{Only: []string{"half-mast"}}, Date{2026, 12, 13}, true, ""},
		{"only half-mast the day after", DayFilter{Only: []string{"half-mast"}}, Date{2026, 12, 14}, false, "only half-mast"},
		{"yearly holiday another year", DayFilter{Except: []string{"holiday"}}, Date{2031, 10, 1}, false, "except holiday (National Day)"},
		{"range inside", DayFilter{Except: []string{"no-broadcast"}}, Date{2027, 2, 18}, false, "except no-broadcast (Spring Festival)"},
		{"range last day inclusive", DayFilter{Except: []string{"no-broadcast"}}, Date{2027, 2, 22}, false, "except no-broadcast (Spring Festival)"},
		{"range day after", DayFilter{Except: []string{"no-broadcast"}}, Date{2027, 2, 23}, true, ""},
		{"yearly range wraps new year", DayFilter{Only: []string{"new-year"}}, Date{2028, 1, 2}, true, ""},
		{"yearly range wraps: outside", DayFilter{Only: []string{"new-year"}}, Date{2028, 1, 3}, false, "only new-year"},
		{"except wins over only", DayFilter{Only: []string{"holiday"}, Except: []string{"no-broadcast"}}, Date{2027, 2, 16}, false, "except no-broadcast (Spring Festival)"},
		{"leap day yearly in a leap year", DayFilter{Only: []string{"leap"}}, Date{2028, 2, 29}, true, ""},
		{"leap day yearly not on Mar 1", DayFilter{Only: []string{"leap"}}, Date{2027, 3, 1}, false, "only leap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := tt.filter.Allows(tt.date, cal)
			if got != tt.want || why != tt.why {
				t.Errorf("Allows(%s) = %v %q, want %v %q", tt.date, got, why, tt.want, tt.why)
			}
		})
	}
}

// TestConditionHallLightsOff: "hall lights off after the room has been
// empty for 15 min" as an always-window with a condition.
func TestConditionHallLightsOff(t *testing.T) {
	c := Center{Location: time.UTC}
	ev, err := NewEvaluator(Schedule{Center: c, Windows: []Window{{
		Name: "hall-lights-off", Always: true,
		Conditions: []Condition{{Point: hallOcc, Value: drivers.Bool(false), For: 15 * time.Minute}},
		Set:        []Setting{{hallLight, drivers.Bool(false)}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	emptied := time.Date(2026, 5, 4, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		at     time.Time
		points map[drivers.PointRef]PointState
		want   drivers.Value // zero: relinquished
	}{
		{"empty 14m59s", emptied.Add(15*time.Minute - time.Second), map[drivers.PointRef]PointState{hallOcc: {drivers.Bool(false), emptied}}, drivers.Value{}},
		{"empty 15m", emptied.Add(15 * time.Minute), map[drivers.PointRef]PointState{hallOcc: {drivers.Bool(false), emptied}}, drivers.Bool(false)},
		{"occupied for an hour", emptied.Add(time.Hour), map[drivers.PointRef]PointState{hallOcc: {drivers.Bool(true), emptied}}, drivers.Value{}},
		{"no sensor value", emptied.Add(time.Hour), nil, drivers.Value{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := ev.Desired(tt.at, Inputs{Trusted: true, Points: tt.points}).Point(hallLight)
			if w.Value.Kind() != tt.want.Kind() || !drivers.Equal(w.Value, tt.want, 0) {
				t.Errorf("hall lights want %#v, got %#v (%+v)", tt.want, w.Value, w)
			}
		})
	}
}

func TestUntrustedClockGivesSafeState(t *testing.T) {
	c := Center{mustZone(t, "Asia/Shanghai"), 22.47, 113.03}
	raise := mustExpr(t, "sunrise")
	ev, err := NewEvaluator(Schedule{
		Center:  c,
		Windows: []Window{onOff(t, "sunset-15m", "sunrise+15m"), {Name: "hall", Start: mustExpr(t, "08:00"), End: mustExpr(t, "20:00"), Set: []Setting{{hallLight, drivers.Bool(true)}}}},
		Jobs:    []Job{{Name: "flag-up", At: &raise, Flag: &FlagAction{"flag", FlagRaised}}},
		Safe:    []Setting{{signPower, drivers.Bool(true)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	noon := time.Date(2026, 6, 1, 12, 0, 0, 0, c.Location)
	st := ev.Desired(noon, Inputs{Trusted: false})
	if w, _ := st.Point(signPower); !drivers.Equal(w.Value, drivers.Bool(true), 0) {
		t.Errorf("untrusted: sign %+v, want its safe value true", w)
	}
	if w, _ := st.Point(hallLight); !w.Relinquish() {
		t.Errorf("untrusted: hall lights %+v, want relinquished (no safe value)", w)
	}
	if f, _ := st.Flag("flag"); f.State != FlagHold {
		t.Errorf("untrusted: flag %+v, want hold", f)
	}
	trusted := ev.Desired(noon, Inputs{Trusted: true})
	if w, _ := trusted.Point(signPower); !drivers.Equal(w.Value, drivers.Bool(false), 0) {
		t.Errorf("trusted at noon: sign %+v, want false", w)
	}
}
