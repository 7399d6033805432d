package telemetry

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/internal/fsutil"
)

// Sign states kept in the local history.
const (
	stateUnknown byte = 0 // a failed read: the gateway ran but the sign did not answer
	stateDark    byte = 1
	stateLit     byte = 2
)

// Recorder appends points to an Outbox and keeps, in the same file and
// the same commits, each sign's state history for the nightly summary.
//
// The history is a list of runs per sign: consecutive samples of one state
// less than StaleAfter apart. A run covers [first sample, last sample +
// StaleAfter), cut short by the next run. It holds a few runs a night
// (one per state change or outage), whatever the sampling rate, and is
// pruned after Retain.
type Recorder struct {
	outbox     *Outbox
	src        Source
	staleAfter time.Duration
	retain     time.Duration

	mu   sync.Mutex
	runs map[string]*run // current run per sign
}

type run struct {
	start, last int64 // ns
	state       byte
}

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	// StaleAfter is how long a sign sample stands for the sign's state
	// (default 3 × 10 s); a minute not covered is unknown.
	StaleAfter time.Duration
	// Retain is how long sign history and nightly summaries are kept
	// (default 62 days).
	Retain time.Duration
}

// NewRecorder returns a Recorder for the center src (Device is ignored)
// over o, and loads each sign's latest run so that a restart continues it.
func NewRecorder(o *Outbox, src Source, opts RecorderOptions) (*Recorder, error) {
	r := &Recorder{outbox: o, src: src, staleAfter: opts.StaleAfter, retain: opts.Retain, runs: map[string]*run{}}
	if r.staleAfter <= 0 {
		r.staleAfter = 30 * time.Second
	}
	if r.retain <= 0 {
		r.retain = 62 * 24 * time.Hour
	}
	err := o.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSigns).ForEach(func(k, v []byte) error {
			dev, start, ok := splitRunKey(k)
			if !ok || len(v) != 9 {
				return nil
			}
			cur := r.runs[dev]
			if cur == nil || start > cur.start {
				r.runs[dev] = &run{start: start, last: int64(binary.BigEndian.Uint64(v[1:])), state: v[0]}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load sign history: %w", err)
	}
	return r, nil
}

// Outbox is the recorder's outbox.
func (r *Recorder) Outbox() *Outbox { return r.outbox }

// Source is the center the recorder tags its points with.
func (r *Recorder) Source() Source { return r.src }

// Record appends points (their Source is set to the recorder's center,
// keeping each point's Device).
func (r *Recorder) Record(pts ...Point) error {
	for i := range pts {
		dev := pts[i].Source.Device
		pts[i].Source = r.src
		pts[i].Source.Device = dev
	}
	return r.outbox.Append(pts...)
}

// Sign records a sign measurement: its `sign` point and its state history.
func (r *Recorder) Sign(s SignState) error {
	state := stateUnknown
	if s.Quality == points.Good {
		state = stateDark
		if s.Lit {
			state = stateLit
		}
	}
	t := s.Time.UnixNano()
	r.mu.Lock()
	cur := r.runs[s.Device]
	switch {
	case cur != nil && t < cur.last:
		// Out of order: the point is recorded, the history keeps its order.
	case cur != nil && cur.state == state && t-cur.last < int64(r.staleAfter):
		cur.last = t
		r.outbox.appendPut(runPut(s.Device, cur))
	default:
		cur = &run{start: t, last: t, state: state}
		r.runs[s.Device] = cur
		r.outbox.appendPut(runPut(s.Device, cur))
	}
	r.mu.Unlock()
	return r.Record(s.Point(r.src))
}

// LastSign returns the time of the latest recorded sample of a sign, as
// committed or queued.
func (r *Recorder) LastSign(device string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur := r.runs[device]; cur != nil {
		return time.Unix(0, cur.last), true
	}
	return time.Time{}, false
}

func runKey(device string, start int64) []byte {
	k := make([]byte, 0, len(device)+9)
	k = append(k, device...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(start))
}

func splitRunKey(k []byte) (string, int64, bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 || len(k)-i-1 != 8 {
		return "", 0, false
	}
	return string(k[:i]), int64(binary.BigEndian.Uint64(k[i+1:])), true
}

func runPut(device string, ru *run) put {
	v := make([]byte, 9)
	v[0] = ru.state
	binary.BigEndian.PutUint64(v[1:], uint64(ru.last))
	return put{bucket: bucketSigns, key: runKey(device, ru.start), value: v}
}

// SignNight is a sign's compliance over one required window. Every minute
// of the window (the last one may be partial) is exactly one of:
//
//   - dark: at some instant of the minute the sign was reported not lit
//     (a good current reading below the lit threshold);
//   - lit: not dark, and good "lit" readings cover the whole minute;
//   - unknown: anything else — no reading within StaleAfter (gateway
//     down, link down, device silent) or a failed reading, for any part
//     of the minute.
//
// A reading at t stands for the sign from t until the next reading or
// t + StaleAfter, whichever comes first. So an outage is never counted as
// lit, and never as dark either.
//
// The sign is switched on at the window's start and its current is
// measured a poll later, so the start of the window is its switch-on
// allowance: StaleAfter, at most SwitchOnAllowance. In the first minute
// only the time after it is judged; a sign still dark after it makes the
// minute dark.
type SignNight struct {
	Device     string    `json:"device"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Required   int       `json:"required_min"`
	Lit        int       `json:"lit_min"`
	Dark       int       `json:"dark_min"`
	Unknown    int       `json:"unknown_min"`
	Compliance float64   `json:"compliance"` // Lit / Required, 0–1
}

// Point returns the `sign_night` point, stamped at the window's start so
// that writing it again overwrites it.
func (n SignNight) Point(src Source) Point {
	src.Device = n.Device
	return Point{Measurement: MeasSignNight, Source: src, Time: n.Start, Fields: []Field{
		{"required_min", int64(n.Required)}, {"lit_min", int64(n.Lit)}, {"dark_min", int64(n.Dark)},
		{"unknown_min", int64(n.Unknown)}, {"compliance", n.Compliance}, {"window_end", n.End.UnixNano()},
	}}
}

// segment is a stretch of time with one known sign state.
type segment struct {
	from, to int64
	state    byte
}

// SwitchOnAllowance caps the time a sign is given, at the start of its
// window, to be switched on and measured lit: half the first minute is
// always judged.
const SwitchOnAllowance = 30 * time.Second

// classify counts the window's minutes from the segments (sorted, not
// overlapping).
func classify(device string, start, end time.Time, segs []segment, allowance time.Duration) SignNight {
	allowance = min(allowance, SwitchOnAllowance)
	n := SignNight{Device: device, Start: start.UTC(), End: end.UTC()}
	if !end.After(start) {
		return n
	}
	s0, e0 := start.UnixNano(), end.UnixNano()
	minute := int64(time.Minute)
	n.Required = int((e0 - s0 + minute - 1) / minute)
	i := 0
	for m := 0; m < n.Required; m++ {
		from := s0 + int64(m)*minute
		to := min(from+minute, e0)
		for i < len(segs) && segs[i].to <= from {
			i++
		}
		if m == 0 {
			from = min(from+int64(allowance), to)
		}
		dark, covered := false, from
		for j := i; j < len(segs) && segs[j].from < to; j++ {
			a, b := max(segs[j].from, from), min(segs[j].to, to)
			if b <= a {
				continue
			}
			switch segs[j].state {
			case stateDark:
				dark = true
			case stateLit:
				if a == covered {
					covered = b
				}
			}
		}
		switch {
		case dark:
			n.Dark++
		case covered == to:
			n.Lit++
		default:
			n.Unknown++
		}
	}
	if n.Required > 0 {
		n.Compliance = float64(n.Lit) / float64(n.Required)
	}
	return n
}

// Night computes a sign's summary for the window [start, end) from the
// local history (committed runs only: call Outbox.Sync first to include
// the latest samples).
func (r *Recorder) Night(device string, start, end time.Time) (SignNight, error) {
	var runs []run
	s0, e0 := start.UnixNano(), end.UnixNano()
	err := r.outbox.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSigns).Cursor()
		prefix := append([]byte(device), 0)
		k, v := c.Seek(runKey(device, s0))
		// The run before the window may reach into it.
		if pk, pv := c.Prev(); pk != nil && bytes.HasPrefix(pk, prefix) {
			k, v = pk, pv
		} else {
			k, v = c.Seek(runKey(device, s0))
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			_, st, ok := splitRunKey(k)
			if !ok || len(v) != 9 {
				continue
			}
			if st >= e0 {
				break
			}
			runs = append(runs, run{start: st, last: int64(binary.BigEndian.Uint64(v[1:])), state: v[0]})
		}
		return nil
	})
	if err != nil {
		return SignNight{}, fmt.Errorf("read sign history of %s: %w", device, err)
	}
	segs := make([]segment, 0, len(runs))
	for i, ru := range runs {
		to := ru.last + int64(r.staleAfter)
		if i+1 < len(runs) {
			to = min(to, runs[i+1].start)
		}
		if to > ru.start {
			segs = append(segs, segment{from: ru.start, to: to, state: ru.state})
		}
	}
	return classify(device, start, end, segs, r.staleAfter), nil
}

// CloseNight computes a sign's summary for [start, end), appends its
// `sign_night` point and keeps it locally, once: a second call for the same
// sign and start returns the summary already written. It also prunes sign
// history and summaries older than the retention.
func (r *Recorder) CloseNight(ctx context.Context, device string, start, end time.Time) (SignNight, error) {
	if err := r.outbox.Sync(ctx); err != nil {
		return SignNight{}, err
	}
	key := runKey(device, start.UnixNano())
	var done *SignNight
	err := r.outbox.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketNights).Get(key); v != nil {
			done = new(SignNight)
			return json.Unmarshal(v, done)
		}
		return nil
	})
	if err != nil {
		return SignNight{}, fmt.Errorf("read nightly summary: %w", err)
	}
	if done != nil {
		return *done, nil
	}
	n, err := r.Night(device, start, end)
	if err != nil {
		return SignNight{}, err
	}
	js, _ := json.Marshal(n)
	r.outbox.appendPut(put{bucket: bucketNights, key: key, value: js})
	if err := r.Record(n.Point(r.src)); err != nil {
		return SignNight{}, err
	}
	if err := r.outbox.Sync(ctx); err != nil {
		return SignNight{}, err
	}
	return n, r.prune(end.Add(-r.retain))
}

// prune deletes runs that ended and summaries that started before cutoff.
func (r *Recorder) prune(cutoff time.Time) error {
	c0 := cutoff.UnixNano()
	r.outbox.wmu.Lock()
	defer r.outbox.wmu.Unlock()
	err := r.outbox.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSigns).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) == 9 && int64(binary.BigEndian.Uint64(v[1:])) < c0 {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		c = tx.Bucket(bucketNights).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if _, st, ok := splitRunKey(k); ok && st < c0 {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("prune sign history: %w", err)
	}
	return nil
}

// Nights returns the stored nightly summaries, oldest first.
func (r *Recorder) Nights() ([]SignNight, error) {
	var out []SignNight
	err := r.outbox.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketNights).ForEach(func(_, v []byte) error {
			var n SignNight
			if err := json.Unmarshal(v, &n); err != nil {
				return err
			}
			out = append(out, n)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read nightly summaries: %w", err)
	}
	sortNights(out)
	return out, nil
}

func sortNights(ns []SignNight) {
	sort.Slice(ns, func(i, j int) bool {
		if !ns[i].Start.Equal(ns[j].Start) {
			return ns[i].Start.Before(ns[j].Start)
		}
		return ns[i].Device < ns[j].Device
	})
}

// NightsFile is where a Sink mirrors the nightly summaries, beside the
// outbox, so that `beacon uptime` can read them while the gateway holds
// the outbox open (bbolt locks its file).
func NightsFile(outboxPath string) string {
	return outboxPath + ".nights.json"
}

// WriteNightsFile replaces path with the summaries, atomically (temp file,
// fsync, rename).
func WriteNightsFile(path string, ns []SignNight) error {
	js, err := json.MarshalIndent(ns, "", " ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(path, append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write nightly summaries: %w", err)
	}
	return nil
}

// ReadNightsFile reads the summaries WriteNightsFile wrote.
func ReadNightsFile(path string) ([]SignNight, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read nightly summaries: %w", err)
	}
	var ns []SignNight
	if err := json.Unmarshal(b, &ns); err != nil {
		return nil, fmt.Errorf("read nightly summaries %s: %w", path, err)
	}
	sortNights(ns)
	return ns, nil
}
