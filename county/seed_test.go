package county

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/telemetry"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/internal/influxtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	influxtest.StopShared()
	os.Exit(code)
}

// The simulated county: centers in Asia/Shanghai (UTC+8, no DST) over
// nights 0…3 (complete) and night 4 in progress at "now", 02:00.
var (
	cst      = time.FixedZone("CST", 8*3600)
	day0     = time.Date(2026, 5, 4, 0, 0, 0, 0, cst) // night 0 is 2026-05-04
	simStart = day0.Add(12 * time.Hour)
	simNow   = day0.AddDate(0, 0, 5).Add(2 * time.Hour) // night 4, 02:00
)

const (
	testCounty   = "qingshan"
	nightsDone   = 4 // nights 0…3 end before simNow
	samplePeriod = time.Minute
	staleAfter   = 3 * samplePeriod // 3 × the poll, as the gateway's Sink does
	nominalAmps  = 2.4
	litFraction  = 0.7
)

// at is local time h:m of the morning (h < 12) or evening of night n.
func at(n, h, m int) time.Time {
	d := day0.AddDate(0, 0, n)
	if h < 12 {
		d = d.AddDate(0, 0, 1)
	}
	return d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// span is [from, to).
type span struct{ from, to time.Time }

func (s span) has(t time.Time) bool { return !t.Before(s.from) && t.Before(s.to) }

// overlapMin is the minutes two minute-aligned spans share.
func overlapMin(a, b span) int {
	from, to := a.from, a.to
	if b.from.After(from) {
		from = b.from
	}
	if b.to.Before(to) {
		to = b.to
	}
	if !to.After(from) {
		return 0
	}
	return int(to.Sub(from) / time.Minute)
}

// plan is one simulated center: its required windows and injected faults.
type plan struct {
	id        string
	county    string
	simulated bool
	offset    time.Duration // its window starts later by this much (its own sunset)
	dark      []span        // sign measured dark (current 0.3 A)
	partly    []span        // partly dark strip: current at 60 % of nominal
	badRead   []span        // the sign's driver fails: quality bad
	down      []span        // gateway not running: no samples, no heartbeats
	deadFrom  time.Time     // gateway gone for good from here (zero: never)
}

// window is the required window of night n: sunset-ish, 2 minutes later
// each night, and dawn 2 minutes earlier.
func (p plan) window(n int) span {
	return span{at(n, 18, 0).Add(p.offset + time.Duration(2*n)*time.Minute), at(n, 6, 0).Add(-time.Duration(2*n) * time.Minute)}
}

func (p plan) up(t time.Time) bool {
	if !p.deadFrom.IsZero() && !t.Before(p.deadFrom) {
		return false
	}
	for _, s := range p.down {
		if s.has(t) {
			return false
		}
	}
	return true
}

func in(ss []span, t time.Time) bool {
	for _, s := range ss {
		if s.has(t) {
			return true
		}
	}
	return false
}

// testPlans is the seeded county: 24 centers, most of them fine, with the
// faults the report must show exactly, plus a simulated center and one of
// another county that it must not show at all.
func testPlans() []plan {
	var ps []plan
	for i := 1; i <= 24; i++ {
		ps = append(ps, plan{id: fmt.Sprintf("c%02d", i), county: testCounty, offset: time.Duration(i%5) * time.Minute})
	}
	// c01: sign dark 01:00–03:00 on night 1, and dark now (since 01:00 of night 4).
	ps[0].dark = []span{{at(1, 1, 0), at(1, 3, 0)}, {at(4, 1, 0), at(4, 3, 0)}}
	// c02: partly dark strip (60 %) 22:00–02:00 on night 2, and since 22:00 tonight.
	ps[1].partly = []span{{at(2, 22, 0), at(2, 2, 0)}, {at(4, 22, 0), at(4, 8, 0)}}
	// c03: gateway off all of night 1 (17:00–08:00); reports the night after its restart.
	ps[2].down = []span{{at(1, 17, 0), at(1, 8, 0)}}
	// c04: gateway gone for good from 17:00 before night 2: never reports nights 2, 3.
	ps[3].deadFrom = at(2, 17, 0)
	// c05: the sign's driver fails 23:00–23:30 on night 0.
	ps[4].badRead = []span{{at(0, 23, 0), at(0, 23, 30)}}
	// c06: gateway offline since 00:30 tonight (an hour and a half at "now").
	ps[5].down = []span{{at(4, 0, 30), at(4, 8, 0)}}
	// c07: dark all of night 3.
	ps[6].dark = []span{{at(3, 12, 0), at(3, 12, 0).Add(24 * time.Hour)}}
	ps = append(ps,
		plan{id: "demo", county: testCounty, simulated: true, dark: []span{{simStart, simNow}}},
		plan{id: "elsewhere", county: "other", dark: []span{{simStart, simNow}}})
	return ps
}

// expectNight is what the report must say of plan p's night n, computed
// from the injected schedule alone.
func expectNight(p plan, n int) Night {
	w := p.window(n)
	want := Night{Center: p.id, Sign: "sign", Date: day0.AddDate(0, 0, n).Format(dateLayout), Start: w.from.UTC(), End: w.to.UTC(), Reported: true}
	if !p.deadFrom.IsZero() && !w.to.Before(p.deadFrom) {
		// Never reported: the window of the last reported night, moved.
		last := 0
		for k := range n {
			if p.window(k).to.Before(p.deadFrom) {
				last = k
			}
		}
		lw := p.window(last)
		est := span{lw.from.AddDate(0, 0, n-last), lw.to.AddDate(0, 0, n-last)}
		want.Start, want.End, want.Reported, want.Estimate = est.from.UTC(), est.to.UTC(), false, "previous night"
		want.Required = int(est.to.Sub(est.from) / time.Minute)
		want.Unknown = want.Required
		return want
	}
	want.Required = int(w.to.Sub(w.from) / time.Minute)
	for _, s := range append(append([]span{}, p.dark...), p.partly...) {
		want.Dark += overlapMin(w, s)
	}
	for _, s := range append(append([]span{}, p.badRead...), p.down...) {
		want.Unknown += overlapMin(w, s)
	}
	want.Lit = want.Required - want.Dark - want.Unknown
	want.Compliance = float64(want.Lit) / float64(want.Required)
	return want
}

// seedCenter runs one center's gateway telemetry — the real Recorder,
// Outbox, Forwarder and InfluxWriter — on a fake clock from simStart to
// simNow: a sign sample and a heartbeat each minute while the gateway is
// up, CloseNight at the end of each window (or, after a restart, for the
// windows it missed), a flag position and a broadcast each morning.
func seedCenter(ctx context.Context, dir string, influx InfluxTarget, p plan) error {
	o, err := telemetry.OpenOutbox(filepath.Join(dir, p.id+".outbox.db"), telemetry.OutboxOptions{SyncEvery: 20 * time.Millisecond})
	if err != nil {
		return err
	}
	defer o.Close()
	src := telemetry.Source{County: p.county, Center: p.id, Simulated: p.simulated}
	rec, err := telemetry.NewRecorder(o, src, telemetry.RecorderOptions{StaleAfter: staleAfter})
	if err != nil {
		return err
	}
	w := telemetry.NewInfluxWriter(telemetry.InfluxOptions{URL: influx.URL, Bucket: influx.Bucket, Timeout: 30 * time.Second})
	defer w.Close()
	fwdCtx, stopFwd := context.WithCancel(ctx)
	fwd := telemetry.NewForwarder(o, w, telemetry.ForwarderOptions{Batch: 5000, Flush: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond})
	fwdErr := make(chan error, 1)
	go func() { fwdErr <- fwd.Run(fwdCtx) }()
	defer func() { stopFwd(); <-fwdErr }()

	clk := clock.NewFake(simStart)
	bootedAt := simStart
	wasUp := true
	reported := map[int]bool{}
	closeDue := func(now time.Time) error {
		for n := 0; n <= nightsDone; n++ {
			if w := p.window(n); !reported[n] && !w.to.After(now) && now.Sub(w.to) < 48*time.Hour {
				if _, err := rec.CloseNight(ctx, "sign", w.from, w.to); err != nil {
					return err
				}
				reported[n] = true
			}
		}
		return nil
	}
	for now := clk.Now(); now.Before(simNow); clk.Advance(samplePeriod) {
		now = clk.Now()
		if !p.up(now) {
			wasUp = false
			continue
		}
		if !wasUp {
			bootedAt, wasUp = now, true
		}
		night := -1
		for n := 0; n <= nightsDone; n++ {
			if p.window(n).has(now) {
				night = n
			}
		}
		on := night >= 0
		st := telemetry.SignState{Device: "sign", Time: now, Quality: points.Good, Commanded: &on}
		switch {
		case in(p.badRead, now):
			st.Quality = points.Bad
		case !on:
			st.CurrentAmps = 0
		case in(p.dark, now):
			st.CurrentAmps = 0.3
		case in(p.partly, now):
			st.CurrentAmps = 0.6 * nominalAmps
		default:
			st.CurrentAmps = nominalAmps
		}
		st.Lit = st.Quality == points.Good && st.CurrentAmps >= litFraction*nominalAmps // as telemetry.Sink judges
		if err := rec.Sign(st); err != nil {
			return err
		}
		hb := telemetry.Heartbeat{Time: now, Uptime: now.Sub(bootedAt), DevicesOnline: 3}
		if err := rec.Record(hb.Point(telemetry.Source{})); err != nil {
			return err
		}
		if now.In(cst).Hour() == 7 && now.Minute() == 0 {
			flag := telemetry.Point{Measurement: telemetry.MeasFlag, Source: telemetry.Source{Device: "flag"}, Time: now,
				Fields: []telemetry.Field{{Key: "position", Value: 100.0}, {Key: "quality", Value: "good"}}}
			bc := telemetry.BroadcastRecord{Device: "pa", Start: now.Add(30 * time.Minute), Clip: "morning-news", Source: "rule:morning", Duration: 95 * time.Second, Outcome: "played"}
			if err := rec.Record(flag, bc.Point(telemetry.Source{})); err != nil {
				return err
			}
		}
		if err := closeDue(now); err != nil {
			return err
		}
	}
	if err := o.Sync(ctx); err != nil {
		return err
	}
	for o.Stats().Depth() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("center %s: outbox not drained (%+v, forwarder %+v): %w", p.id, o.Stats(), fwd.Status(), ctx.Err())
		case <-o.Changed():
		case <-time.After(20 * time.Millisecond): // polling interval under ctx's deadline
		}
	}
	return nil
}

// InfluxTarget is where seeding writes.
type InfluxTarget struct {
	URL    *url.URL
	Bucket string
}

// seeded is the county seeded once per test binary.
var seeded struct {
	once   sync.Once
	err    error
	target InfluxTarget
	plans  []plan
}

// seededCounty returns the InfluxDB holding testPlans' telemetry.
func seededCounty(t *testing.T) (InfluxTarget, []plan) {
	t.Helper()
	srv, bucket := influxtest.Shared(t)
	seeded.once.Do(func() {
		seeded.target = InfluxTarget{URL: srv.URL, Bucket: bucket}
		seeded.plans = testPlans()
		dir, err := os.MkdirTemp("", "county-seed-")
		if err != nil {
			seeded.err = err
			return
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		t0 := time.Now()
		errs := make(chan error, len(seeded.plans))
		sem := make(chan struct{}, 8)
		for _, p := range seeded.plans {
			go func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				errs <- seedCenter(ctx, dir, seeded.target, p)
			}()
		}
		for range seeded.plans {
			if err := <-errs; err != nil && seeded.err == nil {
				seeded.err = err
			}
		}
		t.Logf("seeded %d centers in %v", len(seeded.plans), time.Since(t0).Round(time.Millisecond))
	})
	if seeded.err != nil {
		t.Fatalf("seed the county: %v", seeded.err)
	}
	return seeded.target, seeded.plans
}

// newTestService is a Service over the seeded county at simNow.
func newTestService(t *testing.T, target InfluxTarget) *Service {
	t.Helper()
	s, err := New(Config{URL: target.URL.String(), Bucket: target.Bucket, County: testCounty, Location: cst, Clock: clock.NewFake(simNow)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
