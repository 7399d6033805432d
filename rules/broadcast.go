package rules

// Broadcast plans: what plays when on a PA. Scheduled broadcasts respect
// quiet hours and queue behind each other; an emergency announcement is
// allowed in quiet hours and pre-empts a scheduled one, which is recorded as
// interrupted. BroadcastQueue is a pure state machine driven by the caller's
// time; PlanBroadcasts runs it over a list of requests.

import (
	"fmt"
	"slices"
	"time"
)

// Broadcast is an announcement: a clip or a text for offline TTS.
type Broadcast struct {
	Device string
	Clip   string
	Text   string
	Zones  []int
	Volume int // 0–100
	// Length is the expected playing time; 0 means DefaultBroadcastLength.
	Length time.Duration
}

// DefaultBroadcastLength is assumed for a broadcast of unknown length.
const DefaultBroadcastLength = time.Minute

func (b Broadcast) length() time.Duration {
	if b.Length > 0 {
		return b.Length
	}
	return DefaultBroadcastLength
}

// What names the broadcast for logs and plans: the clip, or "text".
func (b Broadcast) What() string {
	if b.Clip != "" {
		return b.Clip
	}
	return "text"
}

// QuietHours is when no scheduled broadcast plays, e.g. [22:00, 07:00]. It
// follows Window's rules for crossing midnight, DST and days.
type QuietHours struct {
	Start, End TimeExpr
	Days       DayFilter
}

// Contains reports whether t is inside quiet hours.
func (q QuietHours) Contains(t time.Time, c Center, cal Calendar) bool {
	w := Window{Start: q.Start, End: q.End, Days: q.Days}
	d := DateOf(t.In(c.loc()))
	sunOf := func(d Date) SunDay { return SunTimes(c, d) }
	for _, day := range []Date{d.AddDays(-1), d} {
		if w.occurrenceOn(day, c, cal, sunOf).contains(t) {
			return true
		}
	}
	return false
}

// BroadcastRequest asks for one broadcast.
type BroadcastRequest struct {
	ID        string // unique, e.g. job name + scheduled instant
	Job       string // the job that asked, or "" for ad hoc
	At        time.Time
	Emergency bool
	// Grace: a scheduled broadcast still waiting in the queue this long
	// after At is dropped as missed. 0: no limit.
	Grace     time.Duration
	Broadcast Broadcast
}

// BroadcastStatus is how a broadcast ended.
type BroadcastStatus int

// The statuses.
const (
	BroadcastPlayed      BroadcastStatus = iota
	BroadcastInterrupted                 // pre-empted by an emergency
	BroadcastRefused                     // scheduled inside quiet hours
	BroadcastMissed                      // queued past its grace
)

func (s BroadcastStatus) String() string {
	return [...]string{"played", "interrupted", "refused", "missed"}[s]
}

// BroadcastRecord is one broadcast's outcome. Start and End are zero for a
// broadcast that never played.
type BroadcastRecord struct {
	Request    BroadcastRequest
	Status     BroadcastStatus
	Start, End time.Time
	Reason     string
}

// BroadcastQueue plays one broadcast at a time. Not safe for concurrent use.
type BroadcastQueue struct {
	quiet   func(time.Time) bool
	current *BroadcastRequest
	start   time.Time
	queue   []BroadcastRequest
}

// NewBroadcastQueue returns an idle queue; quiet reports quiet hours (nil:
// none).
func NewBroadcastQueue(quiet func(time.Time) bool) *BroadcastQueue {
	if quiet == nil {
		quiet = func(time.Time) bool { return false }
	}
	return &BroadcastQueue{quiet: quiet}
}

// Playing returns the broadcast playing and when it started.
func (q *BroadcastQueue) Playing() (BroadcastRequest, time.Time, bool) {
	if q.current == nil {
		return BroadcastRequest{}, time.Time{}, false
	}
	return *q.current, q.start, true
}

// Queued returns the waiting requests in play order.
func (q *BroadcastQueue) Queued() []BroadcastRequest { return slices.Clone(q.queue) }

// Submit adds a request at time now and returns the broadcasts that ended
// meanwhile or because of it.
func (q *BroadcastQueue) Submit(now time.Time, r BroadcastRequest) []BroadcastRecord {
	out := q.Advance(now)
	if !r.Emergency && q.quiet(now) {
		return append(out, BroadcastRecord{Request: r, Status: BroadcastRefused, Reason: "quiet hours"})
	}
	switch {
	case q.current == nil:
		q.begin(now, r)
	case r.Emergency && !q.current.Emergency:
		out = append(out, BroadcastRecord{Request: *q.current, Status: BroadcastInterrupted, Start: q.start, End: now,
			Reason: "pre-empted by emergency " + r.Broadcast.What()})
		q.begin(now, r)
	case r.Emergency:
		// Behind the emergencies already waiting, ahead of scheduled ones.
		i := slices.IndexFunc(q.queue, func(x BroadcastRequest) bool { return !x.Emergency })
		if i < 0 {
			i = len(q.queue)
		}
		q.queue = slices.Insert(q.queue, i, r)
	default:
		q.queue = append(q.queue, r)
	}
	return out
}

// Finished tells the queue the playing broadcast ended at now (the device
// reported it), earlier or later than its expected length.
func (q *BroadcastQueue) Finished(now time.Time) []BroadcastRecord {
	if q.current == nil {
		return nil
	}
	out := []BroadcastRecord{{Request: *q.current, Status: BroadcastPlayed, Start: q.start, End: now}}
	q.current = nil
	return append(out, q.startNext(now)...)
}

// Advance moves the queue to now, assuming each broadcast plays for its
// expected length, and returns the broadcasts that ended.
func (q *BroadcastQueue) Advance(now time.Time) []BroadcastRecord {
	var out []BroadcastRecord
	for q.current != nil {
		end := q.start.Add(q.current.Broadcast.length())
		if end.After(now) {
			break
		}
		out = append(out, q.Finished(end)...)
	}
	return out
}

// NextChange is when the playing broadcast is expected to end.
func (q *BroadcastQueue) NextChange() (time.Time, bool) {
	if q.current == nil {
		return time.Time{}, false
	}
	return q.start.Add(q.current.Broadcast.length()), true
}

func (q *BroadcastQueue) begin(at time.Time, r BroadcastRequest) {
	q.current, q.start = &r, at
}

// startNext starts the first playable queued request at time at.
func (q *BroadcastQueue) startNext(at time.Time) []BroadcastRecord {
	var out []BroadcastRecord
	for len(q.queue) > 0 {
		r := q.queue[0]
		q.queue = q.queue[1:]
		if !r.Emergency {
			if q.quiet(at) {
				out = append(out, BroadcastRecord{Request: r, Status: BroadcastRefused, Reason: "queued into quiet hours"})
				continue
			}
			if r.Grace > 0 && at.Sub(r.At) > r.Grace {
				out = append(out, BroadcastRecord{Request: r, Status: BroadcastMissed,
					Reason: fmt.Sprintf("queued %v, grace %v", at.Sub(r.At).Round(time.Second), r.Grace)})
				continue
			}
		}
		q.begin(at, r)
		break
	}
	return out
}

// PlanBroadcasts plays requests through a queue, each submitted at its At,
// and returns every outcome in the order they were decided.
func PlanBroadcasts(reqs []BroadcastRequest, quiet func(time.Time) bool) []BroadcastRecord {
	reqs = slices.Clone(reqs)
	slices.SortStableFunc(reqs, func(a, b BroadcastRequest) int { return a.At.Compare(b.At) })
	q := NewBroadcastQueue(quiet)
	var out []BroadcastRecord
	for _, r := range reqs {
		out = append(out, q.Submit(r.At, r)...)
	}
	for {
		end, ok := q.NextChange()
		if !ok {
			return out
		}
		out = append(out, q.Advance(end)...)
	}
}
