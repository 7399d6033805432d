package telemetry

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/influxtest"
)

// influxServer is a real InfluxDB 1.8 (internal/influxtest).
type influxServer = influxtest.Server

// newInfluxServer prepares a test's own InfluxDB in dir, which it can stop
// and start again on the same ports and data.
func newInfluxServer(t testing.TB, dir string) *influxServer { return influxtest.New(t, dir) }

// sharedInflux returns the package's shared InfluxDB (started on first
// use, stopped by TestMain) and a new database on it, as a 1.8 bucket
// "db/autogen".
func sharedInflux(t *testing.T) (*influxServer, string) { return influxtest.Shared(t) }

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	code := m.Run()
	influxtest.StopShared()
	os.Exit(code)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last error: %v)", timeout, what, errors.Join(lastErr))
		}
		time.Sleep(20 * time.Millisecond) // polling interval under a deadline
	}
}
