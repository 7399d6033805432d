package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/kinds"
	"github.com/beacon-edge/beacon/rules"
)

func loadDemoSun(t *testing.T, d rules.Date) rules.SunDay {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// configs/demo-center.yaml: 22.47 N, 113.03 E.
	return rules.SunTimes(rules.Center{Location: loc, Lat: 22.47, Lon: 113.03}, d)
}

// watchCoil records the simulated time at which the sign's power coil
// first reads on.
func watchCoil(c *center, stop <-chan struct{}) <-chan time.Time {
	out := make(chan time.Time, 1)
	go func() {
		defer close(out)
		for {
			if v, _ := c.sim.Value("sign", "power"); v.String() == "true" {
				out <- c.clk.Now()
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return out
}

func TestSignTurnsOnAtSunsetMinus15(t *testing.T) {
	day := rules.Date{Year: 2026, Month: time.December, Day: 1}
	on := loadDemoSun(t, day).Sunset.Time.Add(-15 * time.Minute)
	c := startCenter(t, on.Add(-40*time.Second))
	c.eventually(t, 30*time.Second, "sign off before the window (otherwise: false)", func() bool {
		v, _ := c.sim.Value("sign", "power")
		return v.String() == "false" && c.gw.SignStatus()["sign"].State == kinds.SignDark
	})
	stop := make(chan struct{})
	defer close(stop)
	coilOn := watchCoil(c, stop)
	c.eventually(t, time.Minute, "sign measured lit after sunset-15m", func() bool {
		return c.gw.SignStatus()["sign"].State == kinds.SignLit
	})
	at := <-coilOn
	if at.Before(on) {
		t.Fatalf("sign switched on at %v, before sunset-15m (%v)", at, on)
	}
	// Within one poll interval of the sign (2 s), plus the schedule's 1 s
	// tick and one write.
	if late := at.Sub(on); late > 3*time.Second {
		t.Errorf("sign switched on %v after sunset-15m, want within one poll (2 s) and a tick", late)
	}
	st := c.gw.SignStatus()["sign"]
	if st.CurrentAmps < 2.3 {
		t.Errorf("lit with %v A", st.CurrentAmps)
	}
}

func TestRestartAt2amRelightsTheSign(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	c := startCenter(t, time.Date(2026, 12, 2, 1, 59, 0, 0, loc))
	c.eventually(t, time.Minute, "sign lit at night", func() bool { return c.gw.SignStatus()["sign"].State == kinds.SignLit })
	c.eventually(t, 2*time.Minute, "02:00", func() bool { return !c.clk.Now().Before(time.Date(2026, 12, 2, 2, 0, 0, 0, loc)) })
	c.stopGateway(t)
	// While the gateway is down the sign is switched off (a relay dropped
	// out, a hand on the switch).
	if err := c.sim.SetValue("sign", "power", drivers.Bool(false)); err != nil {
		t.Fatal(err)
	}
	c.eventually(t, 10*time.Second, "sign dark while the gateway is down", func() bool {
		v, _ := c.sim.Value("sign", "current")
		n, _ := v.AsNumber()
		return n == 0
	})
	restart := c.clk.Now()
	c.startGateway(t)
	stop := make(chan struct{})
	defer close(stop)
	at, ok := <-watchCoil(c, stop)
	if !ok {
		t.Fatal("coil never switched on")
	}
	if took := at.Sub(restart); took > 5*time.Second {
		t.Errorf("sign relit %v after the restart, want within 5 s", took)
	}
	c.eventually(t, 10*time.Second, "sign measured lit again", func() bool { return c.gw.SignStatus()["sign"].State == kinds.SignLit })
}

func TestHalfMastDayRunsTheEtiquette(t *testing.T) {
	// 2026-12-13 is a half-mast day in the demo calendar. The gateway
	// starts before sunset: the flag's level for the day is half-mast, so
	// it goes up and down to half; at sunset it goes to the top and down.
	day := rules.Date{Year: 2026, Month: time.December, Day: 13}
	sunset := loadDemoSun(t, day).Sunset.Time
	c := startCenter(t, sunset.Add(-90*time.Second))
	stop := make(chan struct{})
	trace := flagTrace(c, stop)
	flag := c.gw.Flagpole("flag")
	c.eventually(t, 5*time.Minute, "flag lowered after sunset", func() bool {
		st := flag.Status()
		return c.clk.Now().After(sunset) && !st.Moving && st.Target == kinds.FlagLower && st.PositionPct < 2
	})
	close(stop)
	tr := <-trace
	assertFlagPath(t, tr)
}

func TestQuietHoursAndEmergencyPreemption(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	// Monday 2026-12-14, just before the 07:30 morning news.
	c := startCenter(t, time.Date(2026, 12, 14, 7, 29, 40, 0, loc))
	c.eventually(t, 2*time.Minute, "morning news playing", func() bool {
		v, _ := c.sim.Value("pa", "playing")
		return v.String() == "true"
	})
	if err := c.gw.Broadcast(rules.Broadcast{Device: "pa", Clip: "fire-drill"}, true, "manager"); err != nil {
		t.Fatal(err)
	}
	c.eventually(t, 3*time.Minute, "two broadcasts recorded", func() bool {
		recs, _ := c.gw.Broadcasts()
		return len(recs) >= 2
	})
	recs, _ := c.gw.Broadcasts()
	if recs[0].Clip != "morning-news" || recs[0].Result != kinds.Interrupted {
		t.Errorf("first record %s %s (%s), want morning-news interrupted", recs[0].Clip, recs[0].Result, recs[0].Reason)
	}
	if recs[1].Clip != "fire-drill" || recs[1].Result != kinds.Played || !recs[1].Emergency {
		t.Errorf("second record %s %s (%s), want the emergency fire-drill played", recs[1].Clip, recs[1].Result, recs[1].Reason)
	}
}

func TestBroadcastInQuietHoursIsRefused(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	c := startCenter(t, time.Date(2026, 12, 14, 22, 0, 0, 0, loc))
	if err := c.gw.Broadcast(rules.Broadcast{Device: "pa", Clip: "evening-notice"}, false, "manager"); err != nil {
		t.Fatal(err)
	}
	recs, _ := c.gw.Broadcasts()
	if len(recs) != 1 || recs[0].Result != kinds.Failed || recs[0].Reason != "refused: quiet hours" {
		t.Fatalf("records %+v, want one refused in quiet hours", recs)
	}
	if err := c.gw.Broadcast(rules.Broadcast{Device: "pa", Clip: "fire-drill"}, true, "manager"); err != nil {
		t.Fatal(err)
	}
	c.eventually(t, 2*time.Minute, "emergency played in quiet hours", func() bool {
		recs, _ := c.gw.Broadcasts()
		return len(recs) == 2 && recs[1].Result == kinds.Played
	})
}

func TestFirstStartReportsNoEarlierNights(t *testing.T) {
	d := rules.Date{Year: 2026, Month: time.December, Day: 2}
	end := loadDemoSun(t, d).Sunrise.Time.Add(15 * time.Minute)
	c := startCenter(t, end.Add(-20*time.Second))
	c.eventually(t, time.Minute, "the night's end", func() bool { return c.clk.Now().After(end.Add(3 * time.Second)) })
	got := c.reportedNights()
	if len(got) != 1 || !got[0].end.Equal(end) {
		t.Fatalf("a first start reported %+v, want only the night ending at %v", got, end)
	}
}

func TestSignWindowsAreReportedOnceEachIncludingMissedOnes(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	d := func(day int) rules.Date { return rules.Date{Year: 2026, Month: time.December, Day: day} }
	end := loadDemoSun(t, d(2)).Sunrise.Time.Add(15 * time.Minute)
	// The gateway last ran on the evening of Nov 30 (its state says it
	// reported nights up to 20:00); it is started again just before dawn
	// on Dec 2. It reports the night that ended on the 1st, which it was
	// down for, then the night that ends on the 2nd, each once.
	lastRun := time.Date(2026, 11, 30, 20, 0, 0, 0, loc)
	c := startCenterWith(t, end.Add(-20*time.Second), func(dir string) {
		state := fmt.Sprintf(`{"reported_up_to":%q}`, lastRun.Format(time.RFC3339))
		if err := os.WriteFile(filepath.Join(dir, "nights.json"), []byte(state), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	c.eventually(t, time.Minute, "two nights reported", func() bool { return len(c.reportedNights()) >= 2 })
	c.eventually(t, 10*time.Second, "a few more ticks", func() bool { return c.clk.Now().After(end.Add(5 * time.Second)) })
	// The night of Nov 30 ended on Dec 1, after the last report: it is
	// reported whole, from its start before the gateway stopped.
	want := []night{
		{"sign", loadDemoSun(t, rules.Date{Year: 2026, Month: time.November, Day: 30}).Sunset.Time.Add(-15 * time.Minute), loadDemoSun(t, d(1)).Sunrise.Time.Add(15 * time.Minute)},
		{"sign", loadDemoSun(t, d(1)).Sunset.Time.Add(-15 * time.Minute), end},
	}
	got := c.reportedNights()
	if len(got) != len(want) {
		t.Fatalf("reported %d nights, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].device != want[i].device || !got[i].start.Equal(want[i].start) || !got[i].end.Equal(want[i].end) {
			t.Errorf("night %d = %s %v → %v, want %v → %v", i, got[i].device,
				got[i].start.In(loc), got[i].end.In(loc), want[i].start.In(loc), want[i].end.In(loc))
		}
	}
}

func TestOverrideOutlivesARestart(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	c := startCenter(t, time.Date(2026, 12, 2, 21, 0, 0, 0, loc))
	power := drivers.PointRef{Device: "sign", Point: "power"}
	c.eventually(t, time.Minute, "sign lit at night", func() bool { return c.gw.SignStatus()["sign"].State == kinds.SignLit })
	// A manager switches the sign off for a two-hour event.
	expires := c.clk.Now().Add(2 * time.Hour)
	if err := c.gw.Priorities().Set(power, priority.Manual, priority.Command{Value: drivers.Bool(false), Author: "user:li", Set: c.clk.Now(), Expires: expires}); err != nil {
		t.Fatal(err)
	}
	c.gw.Reconciler().Trigger(power)
	c.eventually(t, 10*time.Second, "sign off", func() bool { v, _ := c.sim.Value("sign", "power"); return v.String() == "false" })
	c.stopGateway(t)
	c.startGateway(t)
	cmd, slot, ok := c.gw.Priorities().Effective(power, c.clk.Now())
	if !ok || slot != priority.Manual || cmd.Author != "user:li" || !cmd.Expires.Equal(expires) {
		t.Fatalf("after the restart the effective command is %+v in %s (%v), want the manager's override", cmd, slot, ok)
	}
	// The schedule (sign on at night) must not relight it: after the
	// restarted gateway's first reconcile pass and two polls of the sign,
	// the coil is still off.
	restarted := c.clk.Now()
	c.eventually(t, 10*time.Second, "two polls after the restart", func() bool {
		p, ok := c.gw.Store().Get(power)
		return ok && p.Time.After(restarted.Add(2*time.Second))
	})
	if v, _ := c.sim.Value("sign", "power"); v.String() != "false" {
		t.Fatalf("the restarted gateway relit the sign despite the override")
	}
}

func TestUntrustedClockKeepsTheSignLitAndFiresNoJob(t *testing.T) {
	// A board without a real-time clock boots in 2000; by that clock it
	// is noon, when the schedule would want the sign off and the flag up.
	c := startCenter(t, time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC))
	c.eventually(t, 30*time.Second, "sign lit on its safe value", func() bool {
		return c.gw.SignStatus()["sign"].State == kinds.SignLit
	})
	// While untrusted the schedule wants each point's safe value: on.
	cmd, slot, ok := c.gw.Priorities().Effective(drivers.PointRef{Device: "sign", Point: "power"}, c.clk.Now())
	if v, _ := cmd.Value.AsBool(); !ok || !v {
		t.Fatalf("sign.power effective %+v in %s (%v), want on", cmd, slot, ok)
	}
	// No flag movement and no broadcast while the clock is untrusted.
	c.eventually(t, 30*time.Second, "a minute of the untrusted clock", func() bool {
		return c.clk.Now().After(time.Date(2000, 1, 1, 12, 1, 0, 0, time.UTC))
	})
	if st := c.gw.Flagpole("flag").Status(); st.Moving || st.Target != "" {
		t.Errorf("flag asked to move on an untrusted clock: %+v", st)
	}
	if recs, queued := c.gw.Broadcasts(); len(recs) != 0 || len(queued) != 0 {
		t.Errorf("broadcasts on an untrusted clock: %+v %+v", recs, queued)
	}
}
