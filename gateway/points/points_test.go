package points_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/internal/clock"
)

var (
	t0    = time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	power = drivers.PointRef{Device: "sign", Point: "power"}
	amps  = drivers.PointRef{Device: "sign", Point: "current"}
	pos   = drivers.PointRef{Device: "flag", Point: "position"}
)

func TestQualityString(t *testing.T) {
	for q, want := range map[points.Quality]string{
		points.Unknown: "unknown", points.Good: "good", points.Stale: "stale", points.Bad: "bad",
	} {
		if q.String() != want {
			t.Errorf("%d.String() = %q, want %q", q, q.String(), want)
		}
	}
}

// step is one action on a store followed by the point's expected state.
type step struct {
	advance     time.Duration // move the clock first
	sample      *drivers.Sample
	source      string
	wantQuality points.Quality
	wantValue   drivers.Value
	wantGood    drivers.Value // LastGood
	wantErr     string
}

func good(v drivers.Value) *drivers.Sample { return &drivers.Sample{Ref: amps, Value: v} }
func bad(msg string) *drivers.Sample       { return &drivers.Sample{Ref: amps, Err: errors.New(msg)} }

func TestTransitions(t *testing.T) {
	n := drivers.Number
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "good then stale then good", steps: []step{
			{sample: good(n(0.4)), source: "bus1", wantQuality: points.Good, wantValue: n(0.4), wantGood: n(0.4)},
			{advance: 30 * time.Second, wantQuality: points.Good, wantValue: n(0.4), wantGood: n(0.4)},
			{advance: time.Second, wantQuality: points.Stale, wantValue: n(0.4), wantGood: n(0.4)},
			{sample: good(n(0.5)), source: "bus1", wantQuality: points.Good, wantValue: n(0.5), wantGood: n(0.5)},
		}},
		{name: "bad on error keeps last good and recovers", steps: []step{
			{sample: good(n(0.4)), source: "bus1", wantQuality: points.Good, wantValue: n(0.4), wantGood: n(0.4)},
			{advance: time.Second, sample: bad("read sign.current: timeout"), source: "bus1", wantQuality: points.Bad, wantGood: n(0.4), wantErr: "read sign.current: timeout"},
			{advance: time.Hour, wantQuality: points.Bad, wantGood: n(0.4), wantErr: "read sign.current: timeout"},
			{sample: good(n(0.1)), source: points.SourceSubscription, wantQuality: points.Good, wantValue: n(0.1), wantGood: n(0.1)},
		}},
		{name: "stale then bad", steps: []step{
			{sample: good(n(0.4)), source: "bus1", wantQuality: points.Good, wantValue: n(0.4), wantGood: n(0.4)},
			{advance: time.Minute, wantQuality: points.Stale, wantValue: n(0.4), wantGood: n(0.4)},
			{sample: bad("no answer"), source: "bus1", wantQuality: points.Bad, wantGood: n(0.4), wantErr: "no answer"},
		}},
		{name: "declared but never read is unknown", steps: []step{
			{advance: time.Hour, wantQuality: points.Unknown},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			s := points.New(points.Options{Clock: clk})
			s.Declare(amps, 30*time.Second)
			for i, st := range tc.steps {
				clk.Advance(st.advance)
				if st.sample != nil {
					s.Update(st.source, *st.sample)
				}
				p, ok := s.Get(amps)
				if !ok {
					t.Fatalf("step %d: point missing", i)
				}
				if p.Quality != st.wantQuality || !drivers.Equal(p.Value, st.wantValue, 0) ||
					!drivers.Equal(p.LastGood, st.wantGood, 0) || p.Err != st.wantErr {
					t.Fatalf("step %d: got quality %s value %#v last good %#v err %q; want %s %#v %#v %q",
						i, p.Quality, p.Value, p.LastGood, p.Err, st.wantQuality, st.wantValue, st.wantGood, st.wantErr)
				}
				if st.sample != nil && (p.Source != st.source || !p.Time.Equal(clk.Now())) {
					t.Fatalf("step %d: source %q time %v, want %q %v", i, p.Source, p.Time, st.source, clk.Now())
				}
			}
		})
	}
}

func TestSampleTimeIsKept(t *testing.T) {
	clk := clock.NewFake(t0)
	s := points.New(points.Options{Clock: clk, DefaultStaleAfter: 10 * time.Second})
	s.Update("bus1", drivers.Sample{Ref: amps, Value: drivers.Number(1), Time: t0.Add(-9 * time.Second)})
	p, _ := s.Get(amps)
	if !p.Time.Equal(t0.Add(-9*time.Second)) || p.Quality != points.Good {
		t.Fatalf("got %+v", p)
	}
	clk.Advance(2 * time.Second) // 11 s after the sample was taken
	if p, _ := s.Get(amps); p.Quality != points.Stale {
		t.Errorf("quality = %s, want stale: staleness counts from the sample's time", p.Quality)
	}
}

func TestNeverStaleWithoutWindow(t *testing.T) {
	clk := clock.NewFake(t0)
	s := points.New(points.Options{Clock: clk})
	s.Update("bus1", drivers.Sample{Ref: power, Value: drivers.Bool(true)})
	clk.Advance(1000 * time.Hour)
	if p, _ := s.Get(power); p.Quality != points.Good {
		t.Errorf("quality = %s, want good", p.Quality)
	}
	if got := s.Sweep(clk.Now()); len(got) != 0 {
		t.Errorf("Sweep = %+v, want nothing", got)
	}
}

func TestSnapshotSorted(t *testing.T) {
	clk := clock.NewFake(t0)
	s := points.New(points.Options{Clock: clk, DefaultStaleAfter: time.Minute})
	s.Update("bus1", drivers.Sample{Ref: power, Value: drivers.Bool(true)})
	s.Update("bus1", drivers.Sample{Ref: pos, Value: drivers.Number(100)})
	s.Declare(amps, time.Second)
	clk.Advance(2 * time.Minute)
	snap := s.Snapshot()
	var got []string
	for _, p := range snap {
		got = append(got, p.Ref.String()+"="+p.Quality.String())
	}
	want := "[flag.position=stale sign.current=unknown sign.power=stale]"
	if fmt.Sprint(got) != want {
		t.Errorf("Snapshot = %v, want %s", got, want)
	}
}

func TestSweepNotifies(t *testing.T) {
	clk := clock.NewFake(t0)
	s := points.New(points.Options{Clock: clk})
	s.Declare(power, 10*time.Second)
	s.Declare(amps, time.Minute)
	s.Update("bus1", drivers.Sample{Ref: power, Value: drivers.Bool(true)})
	s.Update("bus1", drivers.Sample{Ref: amps, Value: drivers.Number(0.4)})
	sub := s.Subscribe(8)
	defer sub.Close()

	clk.Advance(11 * time.Second)
	turned := s.Sweep(clk.Now())
	if len(turned) != 1 || turned[0].Ref != power || turned[0].Quality != points.Stale {
		t.Fatalf("Sweep = %+v, want sign.power stale", turned)
	}
	c := <-sub.C
	if c.Old.Quality != points.Good || c.New.Quality != points.Stale || c.New.Ref != power {
		t.Errorf("change = %+v", c)
	}
	if again := s.Sweep(clk.Now()); len(again) != 0 {
		t.Errorf("second Sweep = %+v, want nothing (already stale)", again)
	}
	select {
	case c := <-sub.C:
		t.Errorf("unexpected change %+v", c)
	default:
	}
}

func TestSubscriberDropCounting(t *testing.T) {
	tests := []struct {
		name        string
		size        int
		updates     int
		wantKept    int
		wantDropped uint64
	}{
		{name: "room for all", size: 10, updates: 10, wantKept: 10, wantDropped: 0},
		{name: "slow subscriber drops the overflow", size: 3, updates: 10, wantKept: 3, wantDropped: 7},
		{name: "size below one is one", size: 0, updates: 4, wantKept: 1, wantDropped: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := points.New(points.Options{Clock: clock.NewFake(t0)})
			slow := s.Subscribe(tc.size)
			fast := s.Subscribe(tc.updates)
			for i := range tc.updates {
				s.Update("bus1", drivers.Sample{Ref: amps, Value: drivers.Number(float64(i))})
			}
			if got := slow.Dropped(); got != tc.wantDropped {
				t.Errorf("Dropped = %d, want %d", got, tc.wantDropped)
			}
			if got := fast.Dropped(); got != 0 {
				t.Errorf("a fast subscriber dropped %d because of a slow one", got)
			}
			slow.Close()
			slow.Close()
			var kept []float64
			for c := range slow.C {
				v, _ := c.New.Value.AsNumber()
				kept = append(kept, v)
			}
			if len(kept) != tc.wantKept {
				t.Fatalf("kept %d changes, want %d", len(kept), tc.wantKept)
			}
			for i, v := range kept { // the oldest are kept, in order
				if v != float64(i) {
					t.Errorf("kept[%d] = %v, want %d", i, v, i)
				}
			}
			s.Update("bus1", drivers.Sample{Ref: amps, Value: drivers.Number(99)}) // no panic after Close
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	clk := clock.NewFake(t0)
	s := points.New(points.Options{Clock: clk, DefaultStaleAfter: time.Second})
	sub := s.Subscribe(4)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := drivers.PointRef{Device: fmt.Sprintf("d%d", w), Point: "p"}
			for i := range 200 {
				s.Update("bus", drivers.Sample{Ref: ref, Value: drivers.Number(float64(i))})
				s.Get(ref)
				if i%50 == 0 {
					s.Snapshot()
					s.Sweep(clk.Now())
					clk.Advance(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	sub.Close()
	n := uint64(0)
	for range sub.C {
		n++
	}
	if n+sub.Dropped() < 8*200 {
		t.Errorf("received %d + dropped %d < %d updates", n, sub.Dropped(), 8*200)
	}
	if len(s.Snapshot()) != 8 {
		t.Errorf("Snapshot has %d points, want 8", len(s.Snapshot()))
	}
}
