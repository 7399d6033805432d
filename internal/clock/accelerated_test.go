package clock

import (
	"testing"
	"time"
)

func TestAccelerated(t *testing.T) {
	base := NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	start := time.Date(2026, 12, 13, 6, 0, 0, 0, time.UTC)
	a := NewAccelerated(base, start, 60)
	if !a.Now().Equal(start) {
		t.Fatalf("Now = %s, want %s", a.Now(), start)
	}
	ch := a.After(time.Hour) // one base minute
	if n := base.Waiters(); n != 1 { // After registers its base timer before returning
		t.Fatalf("%d base timers, want 1", n)
	}
	base.Advance(30 * time.Second)
	if got, want := a.Now(), start.Add(30*time.Minute); !got.Equal(want) {
		t.Errorf("after 30 base seconds: %s, want %s", got, want)
	}
	select {
	case <-ch:
		t.Fatal("fired after 30 simulated minutes of a 60-minute wait")
	default:
	}
	base.Advance(30 * time.Second)
	select {
	case got := <-ch:
		if want := start.Add(time.Hour); !got.Equal(want) {
			t.Errorf("fired with %s, want %s", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not fire after a simulated hour")
	}
}
