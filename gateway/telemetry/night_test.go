package telemetry

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/gateway/points"
)

var (
	shanghai   = time.FixedZone("CST", 8*3600)
	nightStart = time.Date(2026, 6, 1, 18, 0, 0, 0, shanghai)
	nightEnd   = time.Date(2026, 6, 2, 6, 0, 0, 0, shanghai)
)

const simEvery = 30 * time.Second

// simNight is the test night of sign "sign", one reading every 30 s over
// 18:00–06:00: lit, but dark 21:00–21:10, the gateway down (no readings)
// 23:00–00:30, and the sign's driver failing 03:00–03:05.
func simNight() []SignState {
	var out []SignState
	at := func(h, m int) time.Time {
		d := time.Date(2026, 6, 1, h, m, 0, 0, shanghai)
		if h < 12 {
			d = d.AddDate(0, 0, 1)
		}
		return d
	}
	for t := nightStart; t.Before(nightEnd); t = t.Add(simEvery) {
		s := SignState{Device: "sign", Time: t, Quality: points.Good, CurrentAmps: 2.31, Lit: true}
		switch {
		case !t.Before(at(23, 0)) && t.Before(at(0, 30)):
			continue
		case !t.Before(at(21, 0)) && t.Before(at(21, 10)):
			s.CurrentAmps, s.Lit = 0.42, false
		case !t.Before(at(3, 0)) && t.Before(at(3, 5)):
			s.Quality, s.CurrentAmps, s.Lit = points.Bad, 0, false
		}
		out = append(out, s)
	}
	return out
}

// The figures of simNight with StaleAfter 90 s:
//   - dark: 21:00–21:09, 10 minutes;
//   - unknown: 23:01–00:29 (the 22:59:30 reading stands until 23:01:00),
//     89 minutes, and 03:00–03:04, 5 minutes;
//   - lit: the other 720 − 10 − 94 = 616.
var simNightWant = SignNight{Device: "sign", Start: nightStart.UTC(), End: nightEnd.UTC(),
	Required: 720, Lit: 616, Dark: 10, Unknown: 94, Compliance: 616.0 / 720}

func TestClassifyMinutes(t *testing.T) {
	s := time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC)
	ns := func(d time.Duration) int64 { return s.Add(d).UnixNano() }
	seg := func(from, to time.Duration, st byte) segment { return segment{ns(from), ns(to), st} }
	m := time.Minute
	tests := []struct {
		name                    string
		end                     time.Duration
		segs                    []segment
		req, lit, dark, unknown int
	}{
		{"nothing reported", 10 * m, nil, 10, 0, 0, 10},
		{"all lit", 10 * m, []segment{seg(-m, 11*m, stateLit)}, 10, 10, 0, 0},
		{"a lit gap of 1s makes the minute unknown", 3 * m, []segment{seg(0, 90*time.Second, stateLit), seg(91*time.Second, 3*m, stateLit)}, 3, 2, 0, 1},
		{"one dark second makes the minute dark", 3 * m, []segment{seg(0, 70*time.Second, stateLit), seg(70*time.Second, 71*time.Second, stateDark), seg(71*time.Second, 3*m, stateLit)}, 3, 2, 1, 0},
		{"failed reading is unknown", 2 * m, []segment{seg(0, m, stateUnknown), seg(m, 2*m, stateLit)}, 2, 1, 0, 1},
		{"partial last minute counts", 90 * time.Second, []segment{seg(0, 90*time.Second, stateLit)}, 2, 2, 0, 0},
		{"empty window", 0, nil, 0, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := classify("sign", s, s.Add(tc.end), tc.segs, 0)
			if n.Required != tc.req || n.Lit != tc.lit || n.Dark != tc.dark || n.Unknown != tc.unknown {
				t.Errorf("got required %d lit %d dark %d unknown %d; want %d %d %d %d",
					n.Required, n.Lit, n.Dark, n.Unknown, tc.req, tc.lit, tc.dark, tc.unknown)
			}
		})
	}
}

func recordNight(t *testing.T, rec *Recorder, states []SignState) {
	t.Helper()
	for _, s := range states {
		if err := rec.Sign(s); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSignNightWithOutageInTheMiddle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	o := openTestOutbox(t, path, OutboxOptions{})
	rec, err := NewRecorder(o, testSource, RecorderOptions{StaleAfter: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	states := simNight()
	// A reading before the window stands for its first moment; one after
	// it is not counted.
	recordNight(t, rec, []SignState{{Device: "sign", Time: nightStart.Add(-30 * time.Second), Quality: points.Good, Lit: true}})
	recordNight(t, rec, states)
	recordNight(t, rec, []SignState{{Device: "sign", Time: nightEnd, Quality: points.Good, Lit: false}})
	// Another sign's history does not leak in.
	recordNight(t, rec, []SignState{{Device: "sign2", Time: nightStart.Add(time.Hour), Quality: points.Good, Lit: false}})

	n, err := rec.CloseNight(ctx, "sign", nightStart, nightEnd)
	if err != nil {
		t.Fatal(err)
	}
	if n != simNightWant {
		t.Fatalf("night = %+v\nwant    %+v", n, simNightWant)
	}
	before := o.Stats()
	again, err := rec.CloseNight(ctx, "sign", nightStart, nightEnd)
	if err != nil || again != n {
		t.Fatalf("second CloseNight = %+v, %v; want the first", again, err)
	}
	if after := o.Stats(); after.Depth() != before.Depth() {
		t.Errorf("second CloseNight appended: depth %d → %d", before.Depth(), after.Depth())
	}
	// 1 + len(states) + 1 + 1 sign points and one sign_night.
	if got, want := o.Stats().Points, uint64(len(states)+4); got != want {
		t.Errorf("outbox holds %d points, want %d", got, want)
	}
	ns, err := rec.Nights()
	if err != nil || len(ns) != 1 || ns[0] != n {
		t.Errorf("Nights = %+v, %v", ns, err)
	}

	// The history survives a restart, and the run in progress continues.
	o.Close()
	o2 := openTestOutbox(t, path, OutboxOptions{})
	rec2, err := NewRecorder(o2, testSource, RecorderOptions{StaleAfter: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if last, ok := rec2.LastSign("sign"); !ok || !last.Equal(nightEnd) {
		t.Errorf("LastSign after restart = %v %v, want %v", last, ok, nightEnd)
	}
	n2, err := rec2.Night("sign", nightStart, nightEnd)
	if err != nil || n2 != simNightWant {
		t.Errorf("Night after restart = %+v, %v", n2, err)
	}
	file := filepath.Join(t.TempDir(), "nights.json")
	if err := WriteNightsFile(file, ns); err != nil {
		t.Fatal(err)
	}
	back, err := ReadNightsFile(file)
	if err != nil || len(back) != 1 || !back[0].Start.Equal(n.Start) || back[0].Lit != 616 {
		t.Errorf("ReadNightsFile = %+v, %v", back, err)
	}
}

func TestSwitchOnAllowance(t *testing.T) {
	s := time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC)
	ns := func(d time.Duration) int64 { return s.Add(d).UnixNano() }
	seg := func(from, to time.Duration, st byte) segment { return segment{ns(from), ns(to), st} }
	sec := time.Second
	tests := []struct {
		name            string
		allowance       time.Duration
		segs            []segment
		lit, dark, unkn int
	}{
		{"switched on within the allowance: lit", 6 * sec,
			[]segment{seg(-10*sec, 4*sec, stateDark), seg(4*sec, 3*time.Minute, stateLit)}, 3, 0, 0},
		{"no allowance: the dark seconds count", 0,
			[]segment{seg(-10*sec, 4*sec, stateDark), seg(4*sec, 3*time.Minute, stateLit)}, 2, 1, 0},
		{"still dark after the allowance: dark", 6 * sec,
			[]segment{seg(-10*sec, 8*sec, stateDark), seg(8*sec, 3*time.Minute, stateLit)}, 2, 1, 0},
		{"a long stale window is capped at 30 s", 3 * time.Minute,
			[]segment{seg(-10*sec, 40*sec, stateDark), seg(40*sec, 3*time.Minute, stateLit)}, 2, 1, 0},
		{"nothing after the allowance: unknown, not lit", 3 * time.Minute,
			[]segment{seg(-10*sec, 20*sec, stateLit)}, 0, 0, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := classify("sign", s, s.Add(3*time.Minute), tc.segs, tc.allowance)
			if n.Lit != tc.lit || n.Dark != tc.dark || n.Unknown != tc.unkn {
				t.Errorf("lit %d dark %d unknown %d, want %d %d %d", n.Lit, n.Dark, n.Unknown, tc.lit, tc.dark, tc.unkn)
			}
		})
	}
}
