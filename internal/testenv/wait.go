package testenv

import (
	"testing"
	"time"
)

// WaitFor polls cond every millisecond until it holds, and fails the test
// if it does not within timeout. Tests wait on conditions this way rather
// than with fixed sleeps.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}
