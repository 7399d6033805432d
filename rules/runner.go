package rules

// The job runner decides, at each tick, which job instants run and which are
// missed, and keeps the last handled instant of each job on disk so that no
// instant runs twice, across restarts too.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/internal/fsutil"
)

// Outcome is what became of a scheduled job instant.
type Outcome int

// The outcomes.
const (
	// OutcomeRun: the caller is to run the job now (at most once: the state
	// saying so is on disk before Due returns).
	OutcomeRun Outcome = iota
	// OutcomeMissed: the instant passed its grace period, or a later instant
	// of the same job superseded it; it will not run.
	OutcomeMissed
)

func (o Outcome) String() string {
	if o == OutcomeMissed {
		return "missed"
	}
	return "run"
}

// Decision is the fate of one scheduled instant.
type Decision struct {
	Job       string
	Scheduled time.Time
	Outcome   Outcome
	// Late is how long after Scheduled the decision was taken.
	Late   time.Duration
	Reason string
}

// JobRecord is what is kept on disk per job.
type JobRecord struct {
	// Handled is the watermark: every instant up to it has been run or
	// recorded as missed, and is never considered again.
	Handled time.Time `json:"handled"`
	// LastRun is the scheduled instant of the last run, for status pages.
	LastRun time.Time `json:"last_run,omitzero"`
}

// JobStore keeps job records. Save must be durable when it returns.
type JobStore interface {
	Load(ctx context.Context) (map[string]JobRecord, error)
	Save(ctx context.Context, records map[string]JobRecord) error
}

// FileStore keeps job records in one small JSON file, written atomically:
// a temporary file in the same folder, fsync, rename over the old file,
// fsync of the folder. A JSON file rather than bbolt: there is one record
// per job, written a few times a day, and field staff can read and, if they
// must, edit it; a torn write is impossible with rename, so a database buys
// nothing here and would add a dependency and a lock file.
type FileStore struct {
	Path string // e.g. /var/lib/beacon/jobs.json
}

var _ JobStore = FileStore{}

type fileState struct {
	Version int                  `json:"version"`
	Jobs    map[string]JobRecord `json:"jobs"`
}

// Load reads the records; a missing file is an empty state.
func (f FileStore) Load(ctx context.Context) (map[string]JobRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]JobRecord{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read job state %s: %w", f.Path, err)
	}
	var st fileState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode job state %s: %w", f.Path, err)
	}
	if st.Version != 1 {
		return nil, fmt.Errorf("decode job state %s: unknown version %d", f.Path, st.Version)
	}
	if st.Jobs == nil {
		st.Jobs = map[string]JobRecord{}
	}
	return st.Jobs, nil
}

// Save writes the records atomically and durably.
func (f FileStore) Save(ctx context.Context, records map[string]JobRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(fileState{Version: 1, Jobs: records}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode job state: %w", err)
	}
	if err := fsutil.WriteFileAtomic(f.Path, append(b, '\n'), 0o640); err != nil {
		return fmt.Errorf("save job state: %w", err)
	}
	return nil
}

// MaxCatchUp bounds how far back a runner looks for instants it has not
// handled: after a longer outage the older instants are forgotten rather
// than each recorded as missed.
const MaxCatchUp = 7 * 24 * time.Hour

// JobRunner decides which job instants are due. It is safe for concurrent
// use.
type JobRunner struct {
	mu      sync.Mutex
	jobs    []Job
	center  Center
	cal     Calendar
	store   JobStore
	records map[string]JobRecord
	savedAt time.Time // the now of the last save
}

// WatermarkEvery is how often a runner with nothing to decide still saves
// its watermark, so that after an outage the instants it slept through are
// recorded as missed.
const WatermarkEvery = 15 * time.Minute

// NewJobRunner loads the runner's state from store.
func NewJobRunner(ctx context.Context, jobs []Job, c Center, cal Calendar, store JobStore) (*JobRunner, error) {
	for i := range jobs {
		if err := jobs[i].Validate(); err != nil {
			return nil, err
		}
	}
	records, err := store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load job runner state: %w", err)
	}
	return &JobRunner{jobs: slices.Clone(jobs), center: c, cal: cal, store: store, records: records}, nil
}

// Due returns the decisions for every instant since the last call, up to
// now, and records them on disk before returning. The rules:
//
//   - nothing is decided while the clock is not trusted (see Trust); the
//     instants wait, and past their grace they are missed once it is;
//   - an instant within its job's grace of now runs; when several instants
//     of one job are, only the latest runs and the others are missed;
//   - an instant past its grace is missed;
//   - a job with no record (first start) looks back only over its grace,
//     and never further back than MaxCatchUp;
//   - each instant is decided once: the watermark (now) is saved before Due
//     returns decisions, so a restart, or a clock set back, cannot run it
//     again. If saving fails, Due returns the error and no decisions, and
//     nothing runs (at most once, never twice). With nothing to decide the
//     watermark is saved every WatermarkEvery, so instants missed during an
//     outage are recorded as missed after it.
func (r *JobRunner) Due(ctx context.Context, now time.Time, trusted bool) ([]Decision, error) {
	if !trusted {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Decision
	next := make(map[string]JobRecord, len(r.records))
	for k, v := range r.records {
		next[k] = v
	}
	changed := r.savedAt.IsZero() || now.Sub(r.savedAt) >= WatermarkEvery
	for i := range r.jobs {
		j := &r.jobs[i]
		rec := next[j.Name]
		from := rec.Handled
		if from.IsZero() {
			from = now.Add(-j.Grace)
		}
		if floor := now.Add(-MaxCatchUp); from.Before(floor) {
			from = floor
		}
		occ := Occurrences(r.jobs[i:i+1], r.center, r.cal, from, now)
		if now.After(rec.Handled) {
			rec.Handled = now
			next[j.Name] = rec
		}
		if len(occ) == 0 {
			continue
		}
		latestRunnable := -1
		for k, o := range occ {
			if now.Sub(o.At) <= j.Grace {
				latestRunnable = k
			}
		}
		for k, o := range occ {
			d := Decision{Job: j.Name, Scheduled: o.At, Late: now.Sub(o.At), Outcome: OutcomeMissed}
			switch {
			case k == latestRunnable:
				d.Outcome, d.Reason = OutcomeRun, o.Reason
				rec.LastRun = o.At
			case now.Sub(o.At) <= j.Grace:
				d.Reason = "superseded by a later instant"
			default:
				d.Reason = fmt.Sprintf("%v late, grace %v", d.Late.Round(time.Second), j.Grace)
			}
			out = append(out, d)
		}
		next[j.Name] = rec
		changed = true
	}
	if !changed {
		r.records = next // the watermark moves in memory; disk catches up later
		return nil, nil
	}
	if err := r.store.Save(ctx, next); err != nil {
		return nil, fmt.Errorf("record job decisions: %w", err)
	}
	r.records, r.savedAt = next, now
	slices.SortStableFunc(out, func(a, b Decision) int { return a.Scheduled.Compare(b.Scheduled) })
	return out, nil
}

// Next returns the first instant of any job after now, and false when none
// falls within the next 8 days; a runtime sleeps until it (or a minute,
// whichever is sooner, to notice clock steps).
func (r *JobRunner) Next(now time.Time) (Occurrence, bool) {
	occ := Occurrences(r.jobs, r.center, r.cal, now, now.Add(8*24*time.Hour))
	if len(occ) == 0 {
		return Occurrence{}, false
	}
	return occ[0], true
}

// Record returns the stored record of a job.
func (r *JobRunner) Record(job string) (JobRecord, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.records[job]
	return rec, ok
}
