package clock

import (
	"testing"
	"time"
)

func TestFakeFiresTimersInOrderAsItAdvances(t *testing.T) {
	start := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	f := NewFake(start)
	late := f.After(2 * time.Hour)
	early := f.After(30 * time.Minute)
	if f.Waiters() != 2 {
		t.Fatalf("Waiters = %d, want 2", f.Waiters())
	}
	f.Advance(29 * time.Minute)
	select {
	case <-early:
		t.Fatal("timer fired a minute early")
	default:
	}
	f.Advance(time.Minute)
	select {
	case at := <-early:
		if !at.Equal(start.Add(30 * time.Minute)) {
			t.Errorf("fired with %v, want %v", at, start.Add(30*time.Minute))
		}
	default:
		t.Fatal("timer did not fire at its deadline")
	}
	f.Set(start.Add(-time.Hour)) // never backwards
	if !f.Now().Equal(start.Add(30 * time.Minute)) {
		t.Errorf("Set moved the clock backwards to %v", f.Now())
	}
	f.Advance(2 * time.Hour)
	select {
	case <-late:
	default:
		t.Fatal("second timer did not fire")
	}
	if f.Waiters() != 0 {
		t.Errorf("Waiters = %d after all fired", f.Waiters())
	}
	select {
	case <-f.After(0):
	default:
		t.Error("After(0) did not fire at once")
	}
}

func TestScaledRunsFaster(t *testing.T) {
	start := time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)
	s := NewScaled(start, 36000) // ten hours per second
	wallBefore := time.Now()
	at := <-s.After(time.Hour)
	wall := time.Since(wallBefore)
	if at.Before(start.Add(time.Hour)) {
		t.Errorf("After(1h) fired at %v, before start+1h", at)
	}
	// The clock must agree with the wall time that passed, scaled.
	if got, want := s.Now().Sub(start), time.Duration(float64(wall)*36000); got < want {
		t.Errorf("clock advanced %v for %v of wall time, want at least %v", got, wall, want)
	}
	before := s.Now()
	s.SetSpeed(1)
	if after := s.Now(); after.Before(before) || after.Sub(before) > time.Minute {
		t.Errorf("SetSpeed moved the clock from %v to %v", before, after)
	}
	if s.Speed() != 1 {
		t.Errorf("speed %v after SetSpeed(1)", s.Speed())
	}
	if NewScaled(start, 0).Speed() != 1 {
		t.Error("speed 0 not taken as 1")
	}
}
