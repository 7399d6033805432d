package clock

import "time"

// Accelerated runs Factor times faster than a base clock, from a chosen
// start: `beacon demo` shows a day of schedules in minutes. It is a Clock
// like any other, so rule code cannot tell it from Real.
type Accelerated struct {
	base   Clock
	origin time.Time // base time at creation
	start  time.Time // simulated time at creation
	factor float64
}

var _ Clock = (*Accelerated)(nil)

// NewAccelerated returns a clock that reads start now and advances factor
// simulated seconds per second of base (Real{} if base is nil). A factor
// below 1 is taken as 1.
func NewAccelerated(base Clock, start time.Time, factor float64) *Accelerated {
	if base == nil {
		base = Real{}
	}
	if factor < 1 {
		factor = 1
	}
	return &Accelerated{base: base, origin: base.Now(), start: start, factor: factor}
}

// Now returns the simulated time.
func (a *Accelerated) Now() time.Time {
	elapsed := a.base.Now().Sub(a.origin)
	return a.start.Add(time.Duration(float64(elapsed) * a.factor))
}

// After fires once d of simulated time has passed (d/factor of base time)
// and delivers the simulated time.
func (a *Accelerated) After(d time.Duration) <-chan time.Time {
	out := make(chan time.Time, 1)
	if d <= 0 {
		out <- a.Now()
		return out
	}
	in := a.base.After(time.Duration(float64(d) / a.factor))
	go func() {
		<-in
		out <- a.Now()
	}()
	return out
}
