package gateway

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/gateway/schedule"
	"github.com/beacon-edge/beacon/kinds"
	"github.com/beacon-edge/beacon/rules"
)

// scheduler applies the rules layer to the running center: every tick it
// computes the desired state (windows, conditions, flag levels, safe state
// while the clock is untrusted) and puts it in the Schedule slots; it asks
// the job runner which job instants are due and runs them; and it plays
// broadcasts through the queue, one at a time, pre-empted by emergencies.
type scheduler struct {
	g     *Gateway
	eval  *rules.Evaluator
	jobs  *rules.JobRunner
	trust rules.Trust
	every time.Duration
	// BroadcastRecorded hears every broadcast outcome (telemetry, API).
	onBroadcast func(kinds.BroadcastRecord)

	jobByName map[string]rules.Job
	lastWant  map[drivers.PointRef]string // value+rule last applied, for logs
	lastFlag  map[string]rules.FlagState
	since     map[drivers.PointRef]rules.PointState
	calm      map[string]time.Time // flagpole → when the wind last fell to its limit
	windHigh  map[string]bool
	started   time.Time
	trusted   bool
	synced    bool
	syncedAt  time.Time
	// nightsUpTo is how far sign windows have been reported; nightsSaved
	// when that was last written to stateDir.
	nightsUpTo  time.Time
	nightsSaved time.Time
	stateDir    string

	// swap applies schedule edits at run time (reload.go).
	swap schedSwap

	bmu       sync.Mutex
	queue     *rules.BroadcastQueue
	playing   *rules.BroadcastRequest
	cancelPA  context.CancelCauseFunc
	paDone    chan kinds.BroadcastRecord
	records   []kinds.BroadcastRecord // the latest, newest last
	submitted chan struct{}
}

// flagReadingGrace is how long after start the scheduler waits for a
// flagpole's first position reading before asking it to move anyway (and
// so raising its "no position" alarm).
const flagReadingGrace = time.Minute

// maxBroadcastRecords bounds the broadcast history kept in memory.
const maxBroadcastRecords = 200

func (g *Gateway) buildScheduler(stateDir string) error {
	sch, err := schedule.FromConfig(g.cfg)
	if err != nil {
		return fmt.Errorf("build schedule: %w", err)
	}
	eval, err := rules.NewEvaluator(sch)
	if err != nil {
		return fmt.Errorf("build schedule: %w", err)
	}
	s := &scheduler{g: g, eval: eval, every: time.Second,
		trust:     rules.Trust{MinYear: g.cfg.Clock.MinYear, RequireSync: g.cfg.Clock.RequireSync},
		jobByName: map[string]rules.Job{}, lastWant: map[drivers.PointRef]string{}, lastFlag: map[string]rules.FlagState{},
		since: map[drivers.PointRef]rules.PointState{}, calm: map[string]time.Time{}, windHigh: map[string]bool{},
		submitted: make(chan struct{}, 1),
	}
	for _, j := range sch.Jobs {
		s.jobByName[j.Name] = j
	}
	s.stateDir = stateDir
	s.loadNights()
	if len(sch.Jobs) > 0 {
		if stateDir == "" {
			return errors.New("jobs need a state directory to remember which instants ran (--state-dir or BEACON_STATE_DIR)")
		}
		store := rules.FileStore{Path: filepath.Join(stateDir, "jobs.json")}
		s.jobs, err = rules.NewJobRunner(context.Background(), sch.Jobs, sch.Center, sch.Calendar, store)
		if err != nil {
			return err
		}
	}
	s.swap.init(sch, stateDir)
	s.queue = rules.NewBroadcastQueue(s.swap.quiet)
	g.sched = s
	return nil
}

// run ticks until ctx ends. A broadcast in flight is interrupted at the
// end, and recorded so.
func (s *scheduler) run(ctx context.Context) error {
	s.started = s.g.clk.Now()
	defer s.drainBroadcast(errors.New("gateway stopping"))
	// A change of a point that a condition reads ("the hall is occupied")
	// is acted on at once, not at the next tick.
	changes := s.g.store.Subscribe(256)
	defer changes.Close()
	for {
		s.tick(ctx)
		timer := s.g.clk.After(s.every)
	wait:
		for {
			select {
			case <-ctx.Done():
				return nil
			case rec := <-s.paDoneChan():
				s.broadcastEnded(rec)
				break wait
			case <-s.submitted:
				break wait
			case <-timer:
				break wait
			case ch := <-changes.C:
				if s.conditionReads(ch.New.Ref) {
					break wait
				}
			}
		}
	}
}

// conditionReads reports whether a condition of the schedule reads ref.
func (s *scheduler) conditionReads(ref drivers.PointRef) bool {
	for _, w := range s.eval.Schedule().Windows {
		for _, c := range w.Conditions {
			if c.Point == ref {
				return true
			}
		}
	}
	return false
}

func (s *scheduler) tick(ctx context.Context) {
	now := s.g.clk.Now()
	s.applySwap(ctx, now)
	if s.trust.RequireSync && now.Sub(s.syncedAt) >= time.Minute {
		synced, err := rules.NTPSynced(ctx)
		if err != nil {
			s.g.log.Warn("read NTP synchronisation", "err", err)
		}
		s.synced, s.syncedAt = synced, now
	}
	trusted, why := s.trust.Check(now, s.synced)
	if trusted != s.trusted {
		if trusted {
			s.g.log.Info("clock trusted; schedules run", "time", now.Format(time.RFC3339))
		} else {
			s.g.log.Warn("clock not trusted; every point takes its safe state and no job fires", "why", why)
		}
		s.trusted = trusted
	}
	in := rules.Inputs{Trusted: trusted, Points: s.pointStates(now), Wind: s.wind(now)}
	st := s.eval.Desired(now, in)
	s.applyPoints(st)
	s.applyFlags(st)
	s.reportNights(now, in)
	if s.jobs != nil {
		decisions, err := s.jobs.Due(ctx, now, trusted)
		if err != nil {
			s.g.log.Error("job runner", "err", err)
		}
		for _, d := range decisions {
			s.runJob(now, d)
		}
	}
	s.startBroadcast(ctx)
}

// pointStates is every good point's value and since when it has held it,
// for conditions.
func (s *scheduler) pointStates(now time.Time) map[drivers.PointRef]rules.PointState {
	out := make(map[drivers.PointRef]rules.PointState)
	for _, p := range s.g.store.Snapshot() {
		if p.Quality != points.Good {
			delete(s.since, p.Ref)
			continue
		}
		prev, ok := s.since[p.Ref]
		if !ok || prev.Value.Kind() != p.Value.Kind() || !drivers.Equal(prev.Value, p.Value, 0) {
			prev = rules.PointState{Value: p.Value, Since: p.Time}
			if ok {
				prev.Since = now
			}
			s.since[p.Ref] = prev
		}
		out[p.Ref] = prev
	}
	return out
}

// wind tracks each flagpole's wind against its limit.
func (s *scheduler) wind(now time.Time) map[string]rules.Wind {
	out := map[string]rules.Wind{}
	for _, d := range s.g.cfg.Devices {
		if d.Flagpole == nil || d.Flagpole.MaxWind <= 0 {
			continue
		}
		p, ok := s.g.store.Get(drivers.PointRef{Device: d.Name, Point: "wind_speed"})
		speed, good := p.Value.AsNumber()
		if !ok || p.Quality != points.Good || !good {
			out[d.Name] = rules.Wind{}
			continue
		}
		if speed > d.Flagpole.MaxWind {
			s.windHigh[d.Name] = true
		} else if s.windHigh[d.Name] {
			s.windHigh[d.Name] = false
			s.calm[d.Name] = now
		}
		out[d.Name] = rules.Wind{Valid: true, Speed: speed, CalmSince: s.calm[d.Name]}
	}
	return out
}

func (s *scheduler) applyPoints(st rules.State) {
	cmds := commander{s.g}
	for _, w := range st.Points {
		key := "relinquish"
		if !w.Relinquish() {
			key = w.Value.String() + "/" + w.Rule
		}
		if w.Relinquish() {
			// Release only what the schedule itself asked for: device
			// kinds (a broadcast, a flag sequence) use the same slot.
			if prev, ok := s.lastWant[w.Point]; ok && prev != "relinquish" {
				cmds.Release(w.Point, priority.Schedule)
			}
		} else if err := cmds.Command(w.Point, priority.Schedule, w.Value, "rule:"+w.Rule); err != nil {
			s.g.log.Error("apply schedule", "device", w.Point.Device, "point", w.Point.Point, "err", err)
			continue
		}
		if prev, seen := s.lastWant[w.Point]; prev != key {
			s.lastWant[w.Point] = key
			if w.Relinquish() && !seen {
				continue // nothing was asked before: nothing to say
			}
			if w.Relinquish() {
				s.g.log.Info("schedule relinquishes", "device", w.Point.Device, "point", w.Point.Point, "reason", w.Reason)
			} else {
				s.g.log.Info("schedule decides", "device", w.Point.Device, "point", w.Point.Point, "value", w.Value.String(), "rule", w.Rule, "reason", w.Reason)
			}
		}
	}
	for _, c := range st.Conflicts {
		s.g.log.Warn("schedule conflict", "conflict", c)
	}
}

var flagActions = map[rules.FlagState]kinds.FlagAction{
	rules.FlagRaised:  kinds.FlagRaise,
	rules.FlagLowered: kinds.FlagLower,
	rules.FlagHalf:    kinds.FlagHalf,
}

func (s *scheduler) applyFlags(st rules.State) {
	for _, fw := range st.Flags {
		action, ok := flagActions[fw.State]
		pole := s.g.Flagpole(fw.Device)
		changed := s.lastFlag[fw.Device] != fw.State
		s.lastFlag[fw.Device] = fw.State
		if !ok || pole == nil {
			continue
		}
		st := pole.Status()
		if changed && !st.PositionKnown && s.g.clk.Now().Sub(s.started) < flagReadingGrace {
			// Wait for the first position reading rather than fail the
			// sequence for want of one; decide again next tick.
			delete(s.lastFlag, fw.Device)
			continue
		}
		if changed {
			s.g.log.Info("schedule decides", "device", fw.Device, "flag", fw.State.String(), "rule", fw.Rule, "reason", fw.Reason)
			pole.Request(action)
			continue
		}
		// A sequence that never started (no position reading then) is
		// asked for again; one that started and failed (a jam) is not
		// retried until the schedule changes or a person intervenes.
		if !st.Moving && st.LastError == kinds.FlagNoPosition && st.PositionKnown {
			pole.Request(action)
		}
	}
}

func (s *scheduler) runJob(now time.Time, d rules.Decision) {
	if d.Outcome == rules.OutcomeMissed {
		s.g.log.Warn("job missed", "rule", d.Job, "scheduled", d.Scheduled.Format(time.RFC3339), "reason", d.Reason)
		return
	}
	j := s.jobByName[d.Job]
	s.g.log.Info("job runs", "rule", d.Job, "scheduled", d.Scheduled.Format(time.RFC3339), "late", d.Late.Round(time.Second), "reason", d.Reason)
	for _, st := range j.Set {
		if err := (commander{s.g}).Command(st.Point, priority.Schedule, st.Value, "job:"+d.Job); err != nil {
			s.g.log.Error("job set", "rule", d.Job, "device", st.Point.Device, "point", st.Point.Point, "err", err)
		}
	}
	if b := j.Broadcast; b != nil {
		s.submit(now, rules.BroadcastRequest{
			ID: d.Job + "@" + d.Scheduled.Format(time.RFC3339), Job: d.Job, At: d.Scheduled, Grace: j.Grace, Broadcast: *b,
		})
	}
}
