// Package e2e runs the gateway against the simulated center over real
// Modbus TCP on loopback, on a scaled clock, and checks what a facility
// manager would see: the sign lit and proven lit by its current, alarms for
// faults, flag etiquette, broadcasts.
package e2e

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers/modbus"
	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/sim"
)

// speed is how much faster than real time the tests run: the flag's 30 s
// travel takes 3 s, a 2 s poll 200 ms. Faster makes the 5 s jam window
// shorter than a busy CI machine's scheduling hiccups.
const speed = 10

type center struct {
	cfg      *config.Config
	clk      *clock.Scaled
	stateDir string
	sim      *sim.Center
	gw       *gateway.Gateway

	nightsMu sync.Mutex
	nights   []night

	cancelGateway context.CancelFunc
	gatewayDone   chan error
}

// startCenter runs the simulated demo center and a gateway against it,
// both on one scaled clock starting at start.
func startCenter(t *testing.T, start time.Time) *center {
	t.Helper()
	return startCenterWith(t, start, nil)
}

// startCenterWith is startCenter with a hook that prepares the state
// directory before the gateway starts, as a previous run would have left it.
func startCenterWith(t *testing.T, start time.Time, prepare func(stateDir string)) *center {
	t.Helper()
	cfg, err := config.Load(filepath.Join("..", "configs", "demo-center.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := &center{cfg: cfg, clk: clock.NewScaled(start, speed), stateDir: t.TempDir()}
	c.sim, err = sim.New(cfg, sim.Options{Clock: c.clk, AnyPort: true, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.sim.Start(); err != nil {
		t.Fatal(err)
	}
	simCtx, stopSim := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- c.sim.Run(simCtx) }()
	t.Cleanup(func() {
		stopSim()
		<-simDone
		c.sim.Close()
	})
	for name, addr := range c.sim.Addrs() {
		cfg.Connection(name).URL.Host = addr
	}
	if prepare != nil {
		prepare(c.stateDir)
	}
	c.startGateway(t)
	return c
}

func (c *center) startGateway(t *testing.T) {
	t.Helper()
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	gw, err := gateway.New(c.cfg, gateway.Options{
		Clock:    c.clk,
		StateDir: c.stateDir,
		OnNight: func(device string, start, end time.Time) {
			c.nightsMu.Lock()
			c.nights = append(c.nights, night{device, start, end})
			c.nightsMu.Unlock()
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Drivers: map[config.Protocol]gateway.DriverFactory{
			config.ModbusTCP: modbus.Open,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.gw, c.cancelGateway, c.gatewayDone = gw, cancel, make(chan error, 1)
	go func() { c.gatewayDone <- gw.Run(ctx) }()
	t.Cleanup(func() { c.stopGateway(t) })
}

// night is a sign window reported by the gateway.
type night struct {
	device     string
	start, end time.Time
}

func (c *center) reportedNights() []night {
	c.nightsMu.Lock()
	defer c.nightsMu.Unlock()
	return append([]night(nil), c.nights...)
}

// stopGateway stops the gateway as SIGTERM would, and waits for it.
func (c *center) stopGateway(t *testing.T) {
	t.Helper()
	if c.cancelGateway == nil {
		return
	}
	c.cancelGateway()
	c.cancelGateway = nil
	select {
	case err := <-c.gatewayDone:
		if err != nil {
			t.Errorf("gateway Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not stop")
	}
}

// eventually waits up to simulated d (plus scheduling slack) for cond.
func (c *center) eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Duration(float64(d)/speed) + 5*time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v of simulated time: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
