package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beacon-edge/beacon/kinds"
	"github.com/beacon-edge/beacon/rules"
)

// broadcastSlack is added to a clip's length for the queue's expectation of
// how long a broadcast holds the PA: power-on, warm-up and confirmations.
const broadcastSlack = 20 * time.Second

// ErrUnknownPA is returned for a broadcast to a device that is not a PA.
var ErrUnknownPA = errors.New("no such PA device")

// Broadcast queues an ad-hoc broadcast (from the API or MQTT). An
// emergency pre-empts a scheduled broadcast and plays in quiet hours.
func (g *Gateway) Broadcast(b rules.Broadcast, emergency bool, by string) error {
	if g.PA(b.Device) == nil {
		return fmt.Errorf("broadcast to %q: %w", b.Device, ErrUnknownPA)
	}
	now := g.clk.Now()
	g.sched.submit(now, rules.BroadcastRequest{
		ID: fmt.Sprintf("%s@%s", by, now.Format(time.RFC3339Nano)), At: now, Emergency: emergency, Broadcast: b,
	})
	return nil
}

// StopBroadcast interrupts the broadcast playing, if any.
func (g *Gateway) StopBroadcast(by string) { g.sched.stopBroadcast(fmt.Errorf("stopped by %s", by)) }

// Broadcasts returns the latest broadcast records, newest last, and the
// requests waiting.
func (g *Gateway) Broadcasts() ([]kinds.BroadcastRecord, []rules.BroadcastRequest) {
	s := g.sched
	s.bmu.Lock()
	defer s.bmu.Unlock()
	return append([]kinds.BroadcastRecord(nil), s.records...), s.queue.Queued()
}

func (s *scheduler) submit(now time.Time, r rules.BroadcastRequest) {
	if r.Broadcast.Length == 0 {
		r.Broadcast.Length = rules.DefaultBroadcastLength
	}
	r.Broadcast.Length += broadcastSlack
	s.bmu.Lock()
	ended := s.queue.Submit(now, r)
	s.bmu.Unlock()
	for _, rec := range ended {
		s.queueDecided(rec)
	}
	select {
	case s.submitted <- struct{}{}:
	default:
	}
}

// queueDecided handles a queue outcome: a refusal or a miss is recorded; an
// interruption cancels the broadcast playing (its record comes from the PA).
func (s *scheduler) queueDecided(rec rules.BroadcastRecord) {
	switch rec.Status {
	case rules.BroadcastInterrupted:
		s.stopBroadcast(errors.New(rec.Reason))
	case rules.BroadcastRefused, rules.BroadcastMissed:
		s.g.log.Warn("broadcast not played", "rule", rec.Request.Job, "what", rec.Request.Broadcast.What(), "status", rec.Status.String(), "reason", rec.Reason)
		s.record(kinds.BroadcastRecord{
			Broadcast: toKinds(rec.Request), Device: rec.Request.Broadcast.Device, Start: rec.Request.At, End: rec.Request.At,
			Result: kinds.Failed, Reason: rec.Status.String() + ": " + rec.Reason,
		})
	}
}

func toKinds(r rules.BroadcastRequest) kinds.Broadcast {
	src := r.Job
	if src == "" {
		src = r.ID
	}
	return kinds.Broadcast{Clip: r.Broadcast.Clip, Text: r.Broadcast.Text, Zones: r.Broadcast.Zones, Volume: r.Broadcast.Volume, Emergency: r.Emergency, Source: src}
}

func (s *scheduler) record(rec kinds.BroadcastRecord) {
	s.bmu.Lock()
	s.records = append(s.records, rec)
	if len(s.records) > maxBroadcastRecords {
		s.records = s.records[len(s.records)-maxBroadcastRecords:]
	}
	hook := s.onBroadcast
	s.bmu.Unlock()
	if hook != nil {
		hook(rec)
	}
}

// startBroadcast plays the queue's current request when the PA is free.
func (s *scheduler) startBroadcast(ctx context.Context) {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	if s.paDone != nil {
		return // a broadcast is still playing
	}
	req, _, ok := s.queue.Playing()
	if !ok {
		return
	}
	if s.playing != nil && s.playing.ID == req.ID {
		return // it already played; the queue expects it to last longer
	}
	pa := s.g.PA(req.Broadcast.Device)
	if pa == nil {
		return
	}
	r := req
	s.playing = &r
	pctx, cancel := context.WithCancelCause(ctx)
	s.cancelPA = cancel
	done := make(chan kinds.BroadcastRecord, 1)
	s.paDone = done
	go func() { done <- pa.Play(pctx, toKinds(r)) }()
}

func (s *scheduler) paDoneChan() <-chan kinds.BroadcastRecord {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	return s.paDone // nil while idle: never ready in a select
}

// broadcastEnded records a finished broadcast and tells the queue.
func (s *scheduler) broadcastEnded(rec kinds.BroadcastRecord) {
	s.bmu.Lock()
	s.paDone, s.cancelPA = nil, nil
	var ended []rules.BroadcastRecord
	if cur, _, ok := s.queue.Playing(); ok && s.playing != nil && cur.ID == s.playing.ID {
		ended = s.queue.Finished(s.g.clk.Now())
	}
	s.bmu.Unlock()
	s.record(rec)
	for _, r := range ended {
		if r.Status != rules.BroadcastPlayed {
			s.queueDecided(r)
		}
	}
}

// stopBroadcast interrupts the broadcast playing with cause. Its record
// arrives through the scheduler's loop once the PA is silent, and only then
// does the next broadcast start.
func (s *scheduler) stopBroadcast(cause error) {
	s.bmu.Lock()
	cancel := s.cancelPA
	s.bmu.Unlock()
	if cancel != nil {
		cancel(cause)
	}
}

// drainBroadcast stops the broadcast playing at shutdown and records it.
func (s *scheduler) drainBroadcast(cause error) {
	s.bmu.Lock()
	cancel, done := s.cancelPA, s.paDone
	s.paDone, s.cancelPA = nil, nil
	s.bmu.Unlock()
	if cancel == nil {
		return
	}
	cancel(cause)
	s.record(<-done)
}
