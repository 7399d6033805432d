package gateway

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/gateway/schedule"
	"github.com/beacon-edge/beacon/rules"
)

// Schedule edits applied at run time (the facility manager's page): a new
// config's rules, calendar and quiet hours replace the running ones without
// a restart. The wiring — devices, connections, points — cannot change this
// way; ApplySchedule refuses a config whose devices differ.
//
// ApplySchedule builds and checks the new schedule at once and hands it to
// the scheduler's loop, which swaps it in at its next tick (woken at once):
// the evaluator, the jobs and the quiet hours change together, between two
// ticks, so no tick sees half of each. Job history survives: the new job
// runner reads the same STATE_DIR/jobs.json, where every decided instant is
// recorded before it runs, so no instant runs twice and a job moved into
// the past does not run for the instants its old self already handled.

// schedSwap is the scheduler's side of reloads.
type schedSwap struct {
	stateDir string
	// quietHours is what quiet reads; it changes with the schedule.
	quietHours atomic.Pointer[quietSpec]

	mu      sync.Mutex
	pending *pendingSchedule
}

type quietSpec struct {
	q      *rules.QuietHours
	center rules.Center
	cal    rules.Calendar
}

type pendingSchedule struct {
	sch  rules.Schedule
	eval *rules.Evaluator
	done chan error // the swap's outcome; buffered
}

func (w *schedSwap) init(sch rules.Schedule, stateDir string) {
	w.stateDir = stateDir
	w.quietHours.Store(&quietSpec{q: sch.Quiet, center: sch.Center, cal: sch.Calendar})
}

// quiet reports whether t is in the quiet hours of the schedule in force;
// the broadcast queue asks it.
func (w *schedSwap) quiet(t time.Time) bool {
	qs := w.quietHours.Load()
	return qs != nil && qs.q != nil && qs.q.Contains(t, qs.center, qs.cal)
}

// ErrWiringChanged is returned by ApplySchedule for a config whose devices
// or points differ from the running ones.
var ErrWiringChanged = errors.New("the devices and points differ from the running center's; restart to change wiring")

// ApplySchedule replaces the running schedule with cfg's rules, calendar
// and quiet hours, and waits until the scheduler has swapped it in (or ctx
// ends). cfg must be the running center's config with other schedules:
// same devices and points.
func (g *Gateway) ApplySchedule(ctx context.Context, cfg *config.Config) error {
	if err := sameWiring(g.cfg, cfg); err != nil {
		return err
	}
	sch, err := schedule.FromConfig(cfg)
	if err != nil {
		return fmt.Errorf("build schedule: %w", err)
	}
	eval, err := rules.NewEvaluator(sch)
	if err != nil {
		return fmt.Errorf("build schedule: %w", err)
	}
	for i := range sch.Jobs {
		if err := sch.Jobs[i].Validate(); err != nil {
			return fmt.Errorf("build schedule: %w", err)
		}
	}
	s := g.sched
	if len(sch.Jobs) > 0 && s.swap.stateDir == "" {
		return errors.New("jobs need a state directory to remember which instants ran (--state-dir or BEACON_STATE_DIR)")
	}
	p := &pendingSchedule{sch: sch, eval: eval, done: make(chan error, 1)}
	s.swap.mu.Lock()
	if old := s.swap.pending; old != nil {
		old.done <- errors.New("superseded by a later schedule")
	}
	s.swap.pending = p
	s.swap.mu.Unlock()
	select {
	case s.submitted <- struct{}{}:
	default:
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("apply schedule: %w", ctx.Err())
	}
}

// applySwap swaps in a pending schedule; the scheduler's loop calls it at
// the start of each tick.
func (s *scheduler) applySwap(ctx context.Context, now time.Time) {
	s.swap.mu.Lock()
	p := s.swap.pending
	s.swap.pending = nil
	s.swap.mu.Unlock()
	if p == nil {
		return
	}
	var jobs *rules.JobRunner
	if len(p.sch.Jobs) > 0 {
		store := rules.FileStore{Path: filepath.Join(s.swap.stateDir, "jobs.json")}
		var err error
		if jobs, err = rules.NewJobRunner(ctx, p.sch.Jobs, p.sch.Center, p.sch.Calendar, store); err != nil {
			p.done <- fmt.Errorf("apply schedule: %w", err)
			return
		}
	}
	s.eval, s.jobs = p.eval, jobs
	s.jobByName = map[string]rules.Job{}
	for _, j := range p.sch.Jobs {
		s.jobByName[j.Name] = j
	}
	s.swap.quietHours.Store(&quietSpec{q: p.sch.Quiet, center: p.sch.Center, cal: p.sch.Calendar})
	// Points the old schedule decided and the new one does not manage
	// are handed back to the lower slots.
	managed := map[drivers.PointRef]bool{}
	for _, w := range p.eval.Desired(now, rules.Inputs{Trusted: true}).Points {
		managed[w.Point] = true
	}
	for ref, prev := range s.lastWant {
		if !managed[ref] {
			if prev != "relinquish" {
				commander{s.g}.Release(ref, priority.Schedule)
			}
			delete(s.lastWant, ref)
		}
	}
	s.g.log.Info("schedule replaced", "windows", len(p.sch.Windows), "jobs", len(p.sch.Jobs), "calendar", len(p.sch.Calendar.Entries))
	p.done <- nil
}

// sameWiring reports whether b has a's devices, with the same points.
func sameWiring(a, b *config.Config) error {
	if len(a.Devices) != len(b.Devices) {
		return ErrWiringChanged
	}
	for _, da := range a.Devices {
		db := b.Device(da.Name)
		if db == nil || db.Kind != da.Kind || len(db.Points) != len(da.Points) {
			return fmt.Errorf("device %s: %w", da.Name, ErrWiringChanged)
		}
		for _, pa := range da.Points {
			if pb := db.Point(pa.Name); pb == nil || pb.Access != pa.Access {
				return fmt.Errorf("point %s: %w", pa.Ref(), ErrWiringChanged)
			}
		}
	}
	return nil
}
