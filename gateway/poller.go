package gateway

import (
	"context"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

// poll reads each point of a link at its own poll interval, until ctx ends.
// Points due together are read in one Read call so that the driver can
// coalesce them (a Modbus driver into few requests). A device that does
// not answer yields bad samples; the loop goes on.
func (g *Gateway) poll(ctx context.Context, l *link) error {
	next := make(map[drivers.PointRef]time.Time, len(l.points))
	byRef := make(map[drivers.PointRef]*config.Point, len(l.points))
	start := g.clk.Now()
	for _, p := range l.points {
		next[p.Ref()] = start
		byRef[p.Ref()] = p
	}
	for {
		now := g.clk.Now()
		var due []drivers.PointRef
		for _, p := range l.points {
			if !next[p.Ref()].After(now) {
				due = append(due, p.Ref())
			}
		}
		if len(due) > 0 {
			samples, err := l.driver.Read(ctx, due)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				// The request itself was refused: record it against every
				// point asked for, and go on.
				t := g.clk.Now()
				for _, ref := range due {
					g.store.Update(l.conn.Name, drivers.Sample{Ref: ref, Time: t, Err: err})
				}
			}
			done := g.clk.Now()
			for _, s := range samples {
				// The gateway's clock stamps samples, not the driver's: in
				// a dry run or the demo it is a simulated clock.
				s.Time = done
				g.store.Update(l.conn.Name, s)
			}
			for _, ref := range due {
				// Schedule from the planned time, not the finish time, so
				// that a slow read does not make the poll drift; but never
				// in the past, so that a read longer than the interval does
				// not make the loop spin.
				n := next[ref].Add(byRef[ref].Poll)
				if n.Before(done) {
					n = done.Add(byRef[ref].Poll)
				}
				next[ref] = n
			}
		}
		wake := time.Time{}
		for _, t := range next {
			if wake.IsZero() || t.Before(wake) {
				wake = t
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-g.clk.After(wake.Sub(g.clk.Now())):
		}
	}
}
