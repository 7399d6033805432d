package clock

import (
	"sync"
	"time"
)

// Scaled is a clock that starts at a chosen instant and runs Speed times
// faster than the wall clock: the demo's "a night in minutes", an
// installer's dry run (beacon run --clock-from … --clock-speed …) and
// end-to-end tests use it. Timers are real timers, shortened by Speed.
type Scaled struct {
	start  time.Time // the clock's time at origin
	origin time.Time // wall time when the clock was made (monotonic)
	speed  float64
	mu     sync.Mutex
}

var _ Clock = (*Scaled)(nil)

// NewScaled returns a clock that reads start now and advances speed
// seconds per wall-clock second. speed ≤ 0 is taken as 1.
func NewScaled(start time.Time, speed float64) *Scaled {
	if speed <= 0 {
		speed = 1
	}
	return &Scaled{start: start, origin: time.Now(), speed: speed}
}

// Speed returns how many clock seconds pass per wall-clock second.
func (s *Scaled) Speed() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.speed
}

// SetSpeed changes the speed from now on; the clock does not jump. A timer
// already waiting keeps the wall-clock duration it was given.
func (s *Scaled) SetSpeed(speed float64) {
	if speed <= 0 {
		speed = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.start, s.origin, s.speed = now, time.Now(), speed
}

// Now returns the scaled time, in start's location.
func (s *Scaled) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Scaled) nowLocked() time.Time {
	elapsed := time.Since(s.origin)
	return s.start.Add(time.Duration(float64(elapsed) * s.speed))
}

// After fires after d of scaled time, at the current speed.
func (s *Scaled) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	wall := time.Duration(float64(d) / s.Speed())
	if wall <= 0 {
		ch <- s.Now()
		return ch
	}
	time.AfterFunc(wall, func() { ch <- s.Now() })
	return ch
}
