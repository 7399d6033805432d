// Package points is the gateway's point store: the latest value of every
// point with its quality (good, stale, bad), time, source and last error.
// Drivers' samples go in through Update; the reconciler, rules, telemetry
// and the API read it with Get and Snapshot, and stream changes with
// Subscribe.
//
// Staleness is a function of time: a point not updated within its StaleAfter
// reads as Stale from Get and Snapshot, measured on the store's injected
// clock. Sweep turns those transitions into change notifications.
package points

import (
	"sort"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/internal/clock"
)

// SourceSubscription is the Source of values pushed by a drivers.Subscriber.
const SourceSubscription = "subscription"

// Quality tells how far a point's value can be trusted.
type Quality uint8

const (
	// Unknown is the quality of a declared point that has never reported.
	Unknown Quality = iota
	// Good: the last read succeeded within the point's StaleAfter.
	Good
	// Stale: the last read succeeded, but longer ago than StaleAfter.
	Stale
	// Bad: the last read failed; Err says why and LastGood holds the last
	// good value.
	Bad
)

func (q Quality) String() string {
	switch q {
	case Good:
		return "good"
	case Stale:
		return "stale"
	case Bad:
		return "bad"
	default:
		return "unknown"
	}
}

// Point is what the store knows about one point at one instant.
type Point struct {
	Ref drivers.PointRef
	// Value is the latest good value; it is the zero Value while the point
	// is Bad or Unknown.
	Value   drivers.Value
	Quality Quality
	// Time is when the latest sample (good or bad) was taken.
	Time time.Time
	// Source is the connection whose driver produced the latest sample, or
	// SourceSubscription.
	Source string
	// Err is the text of the latest read error; empty once a good sample
	// arrives.
	Err string
	// LastGood and LastGoodTime are the most recent good value and its time,
	// kept while the point is Bad.
	LastGood     drivers.Value
	LastGoodTime time.Time
	// StaleAfter is the point's configured staleness window; 0 means never
	// stale.
	StaleAfter time.Duration
}

// qualityAt returns p's quality as seen at now.
func (p Point) qualityAt(now time.Time) Quality {
	if p.Quality == Good && p.StaleAfter > 0 && now.Sub(p.Time) > p.StaleAfter {
		return Stale
	}
	return p.Quality
}

// Change is one notification: the point before and after an Update or a
// Sweep. It is sent for every update, even one that repeats the same value,
// so that telemetry can record each sample; compare Old and New to see what
// changed.
type Change struct {
	Old, New Point
}

// Options configure a Store.
type Options struct {
	// Clock measures staleness and stamps samples that come without a time.
	// Nil means clock.Real{}.
	Clock clock.Clock
	// DefaultStaleAfter applies to points updated without being Declared.
	// 0 means never stale.
	DefaultStaleAfter time.Duration
}

// Store holds the latest state of every point. It is safe for concurrent
// use. The zero value is not usable; call New.
type Store struct {
	clk               clock.Clock
	defaultStaleAfter time.Duration

	mu     sync.Mutex
	points map[drivers.PointRef]*Point
	subs   map[*Subscription]struct{}
}

// New returns an empty Store.
func New(opts Options) *Store {
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	return &Store{
		clk:               clk,
		defaultStaleAfter: opts.DefaultStaleAfter,
		points:            make(map[drivers.PointRef]*Point),
		subs:              make(map[*Subscription]struct{}),
	}
}

// Declare registers a point with its staleness window (0 = never stale), so
// that it shows as Unknown before its first sample. Declaring a known point
// only changes its window.
func (s *Store) Declare(ref drivers.PointRef, staleAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.points[ref]; ok {
		p.StaleAfter = staleAfter
		return
	}
	s.points[ref] = &Point{Ref: ref, StaleAfter: staleAfter}
}

// Update records one sample from source and notifies subscribers. A sample
// with Err makes the point Bad and keeps its last good value as LastGood; a
// sample without a Time is stamped with the store's clock. It returns the
// point as stored.
func (s *Store) Update(source string, smp drivers.Sample) Point {
	t := smp.Time
	if t.IsZero() {
		t = s.clk.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.points[smp.Ref]
	if !ok {
		p = &Point{Ref: smp.Ref, StaleAfter: s.defaultStaleAfter}
		s.points[smp.Ref] = p
	}
	old := *p
	p.Time = t
	p.Source = source
	if smp.Err != nil {
		p.Quality = Bad
		p.Value = drivers.Value{}
		p.Err = smp.Err.Error()
	} else {
		p.Quality = Good
		p.Value = smp.Value
		p.Err = ""
		p.LastGood = smp.Value
		p.LastGoodTime = t
	}
	s.notifyLocked(Change{Old: old, New: *p})
	return *p
}

// Get returns a point with its quality as of the store's clock now.
func (s *Store) Get(ref drivers.PointRef) (Point, bool) {
	now := s.clk.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.points[ref]
	if !ok {
		return Point{}, false
	}
	out := *p
	out.Quality = out.qualityAt(now)
	return out, true
}

// Snapshot returns every point, sorted by ref ("device.point"), with its
// quality as of the store's clock now.
func (s *Store) Snapshot() []Point {
	now := s.clk.Now()
	s.mu.Lock()
	out := make([]Point, 0, len(s.points))
	for _, p := range s.points {
		q := *p
		q.Quality = q.qualityAt(now)
		out = append(out, q)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return less(out[i].Ref, out[j].Ref) })
	return out
}

// Sweep marks Stale every Good point not updated within its StaleAfter as of
// now, notifies subscribers of each transition, and returns the points that
// turned stale, sorted by ref. Callers run it periodically (e.g. once a
// second) so that subscribers learn of staleness without polling Get.
func (s *Store) Sweep(now time.Time) []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	var turned []*Point
	for _, p := range s.points {
		if p.Quality == Good && p.qualityAt(now) == Stale {
			turned = append(turned, p)
		}
	}
	sort.Slice(turned, func(i, j int) bool { return less(turned[i].Ref, turned[j].Ref) })
	out := make([]Point, 0, len(turned))
	for _, p := range turned {
		old := *p
		p.Quality = Stale
		s.notifyLocked(Change{Old: old, New: *p})
		out = append(out, *p)
	}
	return out
}

func less(a, b drivers.PointRef) bool {
	if a.Device != b.Device {
		return a.Device < b.Device
	}
	return a.Point < b.Point
}

// Subscription receives the store's changes on C. The store never waits for
// a subscriber: when C's buffer is full the change is dropped and counted in
// Dropped, so a slow subscriber loses changes (and should resynchronise from
// Snapshot when Dropped grows) but never delays the store or other
// subscribers.
type Subscription struct {
	// C delivers changes in the order the store made them. It is closed by
	// Close.
	C <-chan Change

	c       chan Change
	store   *Store
	dropped uint64 // guarded by store.mu
	closed  bool   // guarded by store.mu
}

// Subscribe returns a Subscription whose channel buffers up to size changes
// (at least 1).
func (s *Store) Subscribe(size int) *Subscription {
	c := make(chan Change, max(size, 1))
	sub := &Subscription{C: c, c: c, store: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[sub] = struct{}{}
	return sub
}

// Dropped reports how many changes this subscription lost because its
// buffer was full.
func (sub *Subscription) Dropped() uint64 {
	sub.store.mu.Lock()
	defer sub.store.mu.Unlock()
	return sub.dropped
}

// Close ends the subscription and closes C. It is safe to call more than
// once.
func (sub *Subscription) Close() {
	sub.store.mu.Lock()
	defer sub.store.mu.Unlock()
	if sub.closed {
		return
	}
	sub.closed = true
	delete(sub.store.subs, sub)
	close(sub.c)
}

func (s *Store) notifyLocked(c Change) {
	for sub := range s.subs {
		select {
		case sub.c <- c:
		default:
			sub.dropped++
		}
	}
}
