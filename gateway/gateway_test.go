package gateway

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/memory"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/internal/testenv"
)

const testCenter = `center:
  id: t
  name: Test
  county: c
  timezone: Asia/Shanghai
  location: {lat: 22.5, lon: 113}
connections:
  bus: {url: "tcp://127.0.0.1:1502"}
  broker: {url: "mqtt://127.0.0.1:1883"}
devices:
  sign:
    kind: sign
    connection: bus
    unit: 1
    poll: 100ms
    sign: {nominal_current: 2}
    points:
      power: {table: coil, address: 0, access: write, safe: true}
      current: {table: input, address: 0, scale: 0.01}
  room:
    kind: occupancy
    connection: broker
    topic: sensors/room
    points:
      occupied: {field: occupancy, type: bool}
`

func loadTestCenter(t *testing.T) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "center.yaml")
	if err := os.WriteFile(path, []byte(testCenter), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return cfg
}

var (
	power    = drivers.PointRef{Device: "sign", Point: "power"}
	current  = drivers.PointRef{Device: "sign", Point: "current"}
	occupied = drivers.PointRef{Device: "room", Point: "occupied"}
)

// startGateway runs a gateway whose Modbus connection is an in-memory
// driver and which has no MQTT driver; it returns the driver and a stop
// function that reports how long Run took to return.
func startGateway(t *testing.T) (*Gateway, *memory.Driver, func() time.Duration) {
	t.Helper()
	mem := memory.New(clock.Real{})
	mem.Add(power, drivers.Bool(false))
	mem.Add(current, drivers.Number(0))
	g, err := New(loadTestCenter(t), Options{
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		SweepInterval: 50 * time.Millisecond,
		Drivers: map[config.Protocol]DriverFactory{
			config.ModbusTCP: func(*config.Connection, []*config.Device, *slog.Logger) (drivers.Driver, error) { return mem, nil },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	stopped := false
	stop := func() time.Duration {
		if stopped {
			return 0
		}
		stopped = true
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return 10s after cancel")
		}
		return time.Since(start)
	}
	t.Cleanup(func() { stop() })
	return g, mem, stop
}

func TestSafeValueIsAppliedAtStart(t *testing.T) {
	g, mem, _ := startGateway(t)
	testenv.WaitFor(t, 5*time.Second, "sign powered on", func() bool {
		v, _ := mem.Value(power)
		return drivers.Equal(v, drivers.Bool(true), 0)
	})
	testenv.WaitFor(t, 5*time.Second, "read-back in the store", func() bool {
		p, _ := g.Store().Get(power)
		return p.Quality == points.Good && drivers.Equal(p.Value, drivers.Bool(true), 0)
	})
	w := mem.Writes()
	if len(w) != 1 || w[0].Ref != power {
		t.Fatalf("writes = %+v, want exactly one write of sign.power", w)
	}
}

func TestPollingFeedsTheStoreAndFailuresStayLocal(t *testing.T) {
	g, mem, _ := startGateway(t)
	mem.Set(current, drivers.Number(240)) // raw hundredths are the driver's business; memory holds engineering values
	testenv.WaitFor(t, 5*time.Second, "current polled", func() bool {
		p, _ := g.Store().Get(current)
		return p.Quality == points.Good && drivers.Equal(p.Value, drivers.Number(240), 0)
	})
	mem.SetFault(current, memory.Fault{ReadErr: errors.New("unit 1 does not answer")})
	testenv.WaitFor(t, 5*time.Second, "current bad", func() bool {
		p, _ := g.Store().Get(current)
		return p.Quality == points.Bad && strings.Contains(p.Err, "does not answer")
	})
	if p, _ := g.Store().Get(power); p.Quality != points.Good {
		t.Errorf("power quality = %v while only current fails, want good", p.Quality)
	}
	mem.SetFault(current, memory.Fault{})
	testenv.WaitFor(t, 5*time.Second, "current recovers", func() bool {
		p, _ := g.Store().Get(current)
		return p.Quality == points.Good
	})
}

func TestConnectionWithoutDriverMarksItsPointsBad(t *testing.T) {
	g, _, _ := startGateway(t)
	testenv.WaitFor(t, 5*time.Second, "room.occupied marked bad", func() bool {
		p, _ := g.Store().Get(occupied)
		return p.Quality == points.Bad && strings.Contains(p.Err, "no mqtt driver")
	})
}

func TestManualOverrideWinsAndExpires(t *testing.T) {
	g, mem, _ := startGateway(t)
	testenv.WaitFor(t, 5*time.Second, "sign on", func() bool { v, _ := mem.Value(power); return drivers.Equal(v, drivers.Bool(true), 0) })
	err := g.Priorities().Set(power, priority.Manual, priority.Command{
		Value: drivers.Bool(false), Author: "test", Set: time.Now(), Expires: time.Now().Add(300 * time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	g.Reconciler().Trigger(power)
	testenv.WaitFor(t, 5*time.Second, "override turns the sign off", func() bool { v, _ := mem.Value(power); return drivers.Equal(v, drivers.Bool(false), 0) })
	testenv.WaitFor(t, 5*time.Second, "expiry hands back to the safe value", func() bool { v, _ := mem.Value(power); return drivers.Equal(v, drivers.Bool(true), 0) })
}

func TestRunStopsPromptly(t *testing.T) {
	_, mem, stop := startGateway(t)
	testenv.WaitFor(t, 5*time.Second, "first write", func() bool { return len(mem.Writes()) > 0 })
	if took := stop(); took > 5*time.Second {
		t.Errorf("Run took %v to stop, want under 5s", took)
	}
	if _, err := mem.Read(context.Background(), []drivers.PointRef{power}); !errors.Is(err, memory.ErrClosed) {
		t.Errorf("driver not closed after Run: read error = %v", err)
	}
}
