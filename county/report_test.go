package county

import (
	"fmt"
	"testing"
	"time"
)

// The report's figures are exactly those of the injected faults, computed
// by expectNight from the schedule alone.
func TestReportMatchesInjectedFaults(t *testing.T) {
	target, plans := seededCounty(t)
	s := newTestService(t, target)
	from, to := day0, day0.AddDate(0, 0, nightsDone) // nights 0…4; 4 is not over at simNow
	r, err := s.Report(t.Context(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Night{}
	for _, n := range r.Nights {
		got[n.Center+"/"+n.Date] = n
	}
	want := map[string]Night{}
	for _, p := range plans {
		if p.simulated || p.county != testCounty {
			continue
		}
		for n := range nightsDone {
			w := expectNight(p, n)
			want[w.Center+"/"+w.Date] = w
		}
	}
	if len(got) != len(want) {
		t.Errorf("report has %d nights, want %d (24 centers × %d nights)", len(got), len(want), nightsDone)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing from the report", k)
			continue
		}
		if !g.Start.Equal(w.Start) || !g.End.Equal(w.End) {
			t.Errorf("%s: window %v–%v, want %v–%v", k, g.Start, g.End, w.Start, w.End)
		}
		g.Start, g.End = w.Start, w.End
		if g != w {
			t.Errorf("%s:\n got %+v\nwant %+v", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: in the report, not expected (simulated, another county, or a night not over)", k)
		}
	}
}

// Named cases: the faults as the operator reads them, per night and per
// center over the range.
func TestReportFaultCases(t *testing.T) {
	target, plans := seededCounty(t)
	s := newTestService(t, target)
	r, err := s.Report(t.Context(), day0, day0.AddDate(0, 0, nightsDone-1))
	if err != nil {
		t.Fatal(err)
	}
	req := func(c string, n int) int {
		for _, p := range plans {
			if p.id == c {
				w := p.window(n)
				return int(w.to.Sub(w.from) / time.Minute)
			}
		}
		t.Fatalf("no plan %s", c)
		return 0
	}
	date := func(n int) string { return day0.AddDate(0, 0, n).Format(dateLayout) }
	night := func(c string, n int) Night {
		for _, x := range r.Nights {
			if x.Center == c && x.Date == date(n) {
				return x
			}
		}
		t.Fatalf("no night %s %s", c, date(n))
		return Night{}
	}
	tests := []struct {
		name               string
		center             string
		night              int
		lit, dark, unknown int
		reported           bool
	}{
		{"sign dark 01:00-03:00 is 120 dark minutes", "c01", 1, req("c01", 1) - 120, 120, 0, true},
		{"partly dark strip (60 %) 22:00-02:00 is 240 dark minutes", "c02", 2, req("c02", 2) - 240, 240, 0, true},
		{"gateway off all night, reported after restart: all unknown", "c03", 1, 0, 0, req("c03", 1), true},
		{"gateway gone, never reported: all unknown over last night's window", "c04", 2, 0, 0, req("c04", 1), false},
		{"failed reads 23:00-23:30 are 30 unknown minutes", "c05", 0, req("c05", 0) - 30, 0, 30, true},
		{"dark all night", "c07", 3, 0, req("c07", 3), 0, true},
		{"a good night", "c10", 2, req("c10", 2), 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := night(tc.center, tc.night)
			if n.Lit != tc.lit || n.Dark != tc.dark || n.Unknown != tc.unknown || n.Reported != tc.reported {
				t.Errorf("lit %d dark %d unknown %d reported %v; want %d %d %d %v", n.Lit, n.Dark, n.Unknown, n.Reported, tc.lit, tc.dark, tc.unknown, tc.reported)
			}
			if n.Lit+n.Dark+n.Unknown != n.Required {
				t.Errorf("lit+dark+unknown = %d, required %d", n.Lit+n.Dark+n.Unknown, n.Required)
			}
		})
	}

	sums := map[string]CenterSummary{}
	for _, c := range r.Centers {
		sums[c.Center] = c
	}
	sumTests := []struct {
		name               string
		center             string
		fullyLit, noReport int
		worst              string
		dark, unknown      int
	}{
		{"one dark spell", "c01", 3, 0, date(1), 120, 0},
		{"gateway gone for two nights", "c04", 2, 2, date(2), 0, req("c04", 1) * 2},
		{"off one night", "c03", 3, 0, date(1), 0, req("c03", 1)},
		{"all good: worst is the earliest", "c10", 4, 0, date(0), 0, 0},
	}
	for _, tc := range sumTests {
		t.Run("summary/"+tc.name, func(t *testing.T) {
			c := sums[tc.center]
			if c.Nights != nightsDone || c.FullyLit != tc.fullyLit || c.NoReport != tc.noReport || c.Worst != tc.worst || c.Dark != tc.dark || c.Unknown != tc.unknown {
				t.Errorf("got %+v\nwant nights %d fully lit %d no report %d worst %s dark %d unknown %d",
					c, nightsDone, tc.fullyLit, tc.noReport, tc.worst, tc.dark, tc.unknown)
			}
		})
	}
	if len(r.Centers) != 24 {
		t.Errorf("%d centers in the summary, want 24: %v", len(r.Centers), fmt.Sprint(r.Centers))
	}
}

// The demo's telemetry (simulated=true) appears only when asked for.
func TestReportIncludeSimulated(t *testing.T) {
	target, _ := seededCounty(t)
	tests := []struct {
		name    string
		include bool
		want    int // nights of center "demo"
	}{
		{"excluded by default", false, 0},
		{"included on request", true, nightsDone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{URL: target.URL.String(), Bucket: target.Bucket, County: testCounty, Location: cst,
				Clock: newTestService(t, target).cfg.Clock, IncludeSimulated: tc.include})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r, err := s.Report(t.Context(), day0, day0.AddDate(0, 0, nightsDone-1))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, x := range r.Nights {
				if x.Center == "demo" {
					n++
					if x.Dark != x.Required {
						t.Errorf("demo night %s: dark %d of %d, want all dark", x.Date, x.Dark, x.Required)
					}
				}
			}
			if n != tc.want {
				t.Errorf("%d demo nights, want %d", n, tc.want)
			}
		})
	}
}
