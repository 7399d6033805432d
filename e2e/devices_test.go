package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/kinds"
	"github.com/beacon-edge/beacon/sim"
)

var evening = time.Date(2026, 11, 30, 18, 30, 0, 0, time.FixedZone("CST", 8*3600))

func TestSignIsLitAndProvenByItsCurrent(t *testing.T) {
	c := startCenter(t, evening)
	c.eventually(t, 10*time.Second, "sign measured lit", func() bool {
		st, ok := c.gw.SignStatus()["sign"]
		return ok && st.State == kinds.SignLit && st.CurrentAmps > 2.3 && st.CurrentAmps < 2.5
	})
	on, err := c.sim.Value("sign", "power")
	if b, _ := on.AsBool(); err != nil || !b {
		t.Fatalf("simulated power coil = %v, %v; want on", on, err)
	}
}

func TestPartlyDarkSignRaisesAnAlarm(t *testing.T) {
	c := startCenter(t, evening)
	c.eventually(t, 10*time.Second, "sign lit", func() bool { return c.gw.SignStatus()["sign"].State == kinds.SignLit })
	if err := c.sim.SetFault("sign", sim.FaultPartlyDark, true); err != nil {
		t.Fatal(err)
	}
	c.eventually(t, kinds.SignAlarmAfter+10*time.Second, "partly-dark alarm", func() bool {
		return c.gw.Alarms().Active("sign", kinds.AlarmPartlyDark)
	})
	if st := c.gw.SignStatus()["sign"]; st.State != kinds.SignPartlyDark {
		t.Errorf("sign state %s, want partly-dark", st.State)
	}
	if err := c.sim.SetFault("sign", sim.FaultPartlyDark, false); err != nil {
		t.Fatal(err)
	}
	c.eventually(t, 10*time.Second, "alarm cleared after repair", func() bool {
		return !c.gw.Alarms().Active("sign", kinds.AlarmPartlyDark)
	})
}

func TestStuckRelayIsCaughtByTheCurrent(t *testing.T) {
	c := startCenter(t, evening)
	power := drivers.PointRef{Device: "sign", Point: "power"}
	c.eventually(t, 10*time.Second, "sign lit", func() bool { return c.gw.SignStatus()["sign"].State == kinds.SignLit })
	if err := c.sim.SetFault("sign", sim.FaultRelayStuck, true); err != nil {
		t.Fatal(err)
	}
	// A manager switches the sign off for an event; the relay does not open.
	if err := c.gw.Commands().Command(power, priority.Manual, drivers.Bool(false), "manager"); err != nil {
		t.Fatal(err)
	}
	c.eventually(t, kinds.SignAlarmAfter+10*time.Second, "lit-while-off alarm", func() bool {
		return c.gw.Alarms().Active("sign", kinds.AlarmLitWhileOff)
	})
	if coil, _ := c.sim.Value("sign", "power"); coil.String() != "false" {
		t.Errorf("coil = %v; the command was written, the relay is what is stuck", coil)
	}
}

// flagTrace records the simulated flag's position until stop is closed.
func flagTrace(c *center, stop <-chan struct{}) <-chan []float64 {
	out := make(chan []float64, 1)
	go func() {
		var trace []float64
		for {
			v, _ := c.sim.Value("flag", "position")
			pos, _ := v.AsNumber()
			trace = append(trace, pos)
			select {
			case <-stop:
				out <- trace
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return out
}

func TestHalfMastEtiquette(t *testing.T) {
	c := startCenter(t, evening)
	flag := c.gw.Flagpole("flag")
	c.eventually(t, 10*time.Second, "flag position known", func() bool {
		p, ok := c.gw.Store().Get(drivers.PointRef{Device: "flag", Point: "position"})
		return ok && p.Quality == points.Good
	})
	scheduleSettled(t, c)
	stop := make(chan struct{})
	trace := flagTrace(c, stop)
	flag.Request(kinds.FlagHalf)
	c.eventually(t, 2*time.Minute, "flag at half-mast", func() bool {
		st := flag.Status()
		return !st.Moving && st.Target == kinds.FlagHalf && st.PositionPct > 48 && st.PositionPct < 52
	})
	// Lowering from half-mast goes to the top first.
	flag.Request(kinds.FlagLower)
	c.eventually(t, 2*time.Minute, "flag lowered", func() bool {
		st := flag.Status()
		return !st.Moving && st.Target == kinds.FlagLower && st.PositionPct < 2
	})
	close(stop)
	tr := <-trace
	// The trace must go 0 → 100 → 50 → 100 → 0.
	assertFlagPath(t, tr)
	if st := flag.Status(); st.LastError != "" {
		t.Errorf("last error %q", st.LastError)
	}
}

func TestFlagMotorJamStopsTheMotorAndRaisesAnAlarm(t *testing.T) {
	c := startCenter(t, evening)
	flag := c.gw.Flagpole("flag")
	c.eventually(t, 10*time.Second, "flag position known", func() bool { _, ok := flagPos(c); return ok })
	scheduleSettled(t, c)
	if err := c.sim.SetFault("flag", sim.FaultMotorJam, true); err != nil {
		t.Fatal(err)
	}
	flag.Request(kinds.FlagRaise)
	c.eventually(t, time.Minute, "jam or motor-fault alarm", func() bool {
		return c.gw.Alarms().Active("flag", kinds.AlarmMotorFault) || c.gw.Alarms().Active("flag", kinds.AlarmMotorJam)
	})
	c.eventually(t, 10*time.Second, "motor commanded to stop", func() bool {
		v, _ := c.sim.Value("flag", "command")
		n, _ := v.AsNumber()
		return n == kinds.FlagCmdStop
	})
	if st := flag.Status(); st.Moving || st.LastError == "" {
		t.Errorf("status after jam: %+v", st)
	}
}

// assertFlagPath checks that a flag's position trace went to the top,
// down to half-mast, to the top again and to the bottom, in that order.
func assertFlagPath(t *testing.T, trace []float64) {
	t.Helper()
	phases := []func(float64) bool{
		func(p float64) bool { return p >= 99.9 },        // top
		func(p float64) bool { return p > 48 && p < 52 }, // half
		func(p float64) bool { return p >= 99.9 },        // top again
		func(p float64) bool { return p <= 0.1 },         // bottom
	}
	i := 0
	for _, p := range trace {
		if i < len(phases) && phases[i](p) {
			i++
		}
	}
	if i != len(phases) {
		t.Fatalf("flag path reached only %d of top, half, top, bottom", i)
	}
}

// scheduleSettled waits until the schedule's own flag decision for the
// evening (lowered) is carried out, so that a test's manual requests are
// not followed by it.
func scheduleSettled(t *testing.T, c *center) {
	t.Helper()
	c.eventually(t, time.Minute, "the schedule's evening flag state", func() bool {
		st := c.gw.Flagpole("flag").Status()
		return st.Target == kinds.FlagLower && !st.Moving
	})
}

func flagPos(c *center) (float64, bool) {
	p, ok := c.gw.Store().Get(drivers.PointRef{Device: "flag", Point: "position"})
	if !ok || p.Quality != points.Good {
		return 0, false
	}
	return p.Value.AsNumber()
}

func TestOfflineDeviceGoesStaleAndRecovers(t *testing.T) {
	c := startCenter(t, evening)
	current := drivers.PointRef{Device: "sign", Point: "current"}
	good := func() bool { p, _ := c.gw.Store().Get(current); return p.Quality == points.Good }
	c.eventually(t, 10*time.Second, "current good", good)
	if err := c.sim.SetFault("sign", sim.FaultOffline, true); err != nil {
		t.Fatal(err)
	}
	c.eventually(t, time.Minute, "current no longer good", func() bool { return !good() })
	p, _ := c.gw.Store().Get(current)
	if p.Quality != points.Stale && p.Quality != points.Bad {
		t.Fatalf("quality %s, want stale or bad", p.Quality)
	}
	c.eventually(t, 5*time.Second, "sign state unknown while its device is offline", func() bool {
		return c.gw.SignStatus()["sign"].State == kinds.SignUnknown
	})
	if err := c.sim.SetFault("sign", sim.FaultOffline, false); err != nil {
		t.Fatal(err)
	}
	c.eventually(t, 2*time.Minute, "current good again", good)
}

func TestBroadcastPlaysAndEmergencyPreempts(t *testing.T) {
	c := startCenter(t, evening)
	pa := c.gw.PA("pa")
	c.eventually(t, 15*time.Second, "PA points read", func() bool {
		p, _ := c.gw.Store().Get(drivers.PointRef{Device: "pa", Point: "playing"})
		return p.Quality == points.Good
	})
	rec := pa.Play(context.Background(), kinds.Broadcast{Clip: "evening-notice", Zones: []int{1, 2}, Volume: 55, Source: "test"})
	if rec.Result != kinds.Played {
		t.Fatalf("broadcast %s: %s", rec.Result, rec.Reason)
	}
	if d := rec.Duration(); d < 25*time.Second || d > 45*time.Second {
		t.Errorf("broadcast of a 25 s clip held the PA %v", d)
	}
	c.eventually(t, 15*time.Second, "amplifier off and zone relays open after the broadcast", func() bool {
		power, _ := c.sim.Value("pa", "power")
		zone1, _ := c.sim.Value("pa", "zone1")
		zone2, _ := c.sim.Value("pa", "zone2")
		return power.String() == "false" && zone1.String() == "false" && zone2.String() == "false"
	})

	// A scheduled broadcast is pre-empted: its context is cancelled with
	// the emergency as the cause.
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan kinds.BroadcastRecord, 1)
	go func() { done <- pa.Play(ctx, kinds.Broadcast{Clip: "morning-news", Source: "morning-news"}) }()
	c.eventually(t, 20*time.Second, "scheduled clip playing", func() bool {
		v, _ := c.sim.Value("pa", "playing")
		return v.String() == "true"
	})
	cancel(errPreempted)
	scheduled := <-done
	if scheduled.Result != kinds.Interrupted || scheduled.Reason != errPreempted.Error() {
		t.Fatalf("scheduled broadcast: %s (%s), want interrupted by the emergency", scheduled.Result, scheduled.Reason)
	}
	emergency := pa.Play(context.Background(), kinds.Broadcast{Clip: "fire-drill", Emergency: true, Source: "manager"})
	if emergency.Result != kinds.Played {
		t.Fatalf("emergency broadcast %s: %s", emergency.Result, emergency.Reason)
	}
}

type preemptError struct{}

func (preemptError) Error() string { return "pre-empted by an emergency announcement" }

var errPreempted error = preemptError{}

func TestFlagHoursSurviveARestartAndCallForANewFlag(t *testing.T) {
	noon := time.Date(2026, 12, 1, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))
	// The demo flag is replaced after 2000 h; this one has flown all but
	// 36 s of them before the gateway restarts.
	c := startCenterWith(t, noon, func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "flags.json"), []byte(`{"flag": 1999.99}`), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	c.eventually(t, 3*time.Minute, "replace-flag notice", func() bool { return c.gw.Alarms().Active("flag", kinds.AlarmReplaceFlag) })
	c.stopGateway(t)
	b, err := os.ReadFile(filepath.Join(c.stateDir, "flags.json"))
	if err != nil {
		t.Fatal(err)
	}
	var hours map[string]float64
	if err := json.Unmarshal(b, &hours); err != nil || hours["flag"] < 2000 {
		t.Fatalf("flags.json after stop = %s (%v), want the flag past 2000 h", b, err)
	}
}
