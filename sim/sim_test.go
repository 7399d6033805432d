package sim

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/modbus"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/clock"
)

// startDemo serves the demo center's Modbus devices on free ports, on a
// fake clock, and returns the center, the clock, and a driver per
// connection pointed at the simulator.
func startDemo(t *testing.T) (*Center, *clock.Fake, map[string]drivers.Driver, *config.Config) {
	t.Helper()
	cfg, err := config.Load(filepath.Join("..", "configs", "demo-center.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC))
	c, err := New(cfg, Options{Clock: clk, AnyPort: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	drv := map[string]drivers.Driver{}
	for name, addr := range c.Addrs() {
		conn := cfg.Connection(name)
		conn.URL.Host = addr
		var devs []*config.Device
		for _, d := range cfg.Devices {
			if d.Connection == conn {
				devs = append(devs, d)
			}
		}
		d, err := modbus.Open(conn, devs, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		drv[name] = d
	}
	return c, clk, drv, cfg
}

func read(t *testing.T, d drivers.Driver, device, point string) drivers.Value {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := d.Read(ctx, []drivers.PointRef{{Device: device, Point: point}})
	if err != nil || s[0].Err != nil {
		t.Fatalf("read %s.%s: %v %v", device, point, err, s)
	}
	return s[0].Value
}

func write(t *testing.T, d drivers.Driver, device, point string, v drivers.Value) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := d.Write(ctx, drivers.PointRef{Device: device, Point: point}, v); err != nil {
		t.Fatalf("write %s.%s: %v", device, point, err)
	}
}

// step advances the simulated hardware by d in physics steps.
func step(c *Center, clk *clock.Fake, d time.Duration) {
	for end := clk.Now().Add(d); clk.Now().Before(end); {
		clk.Advance(c.step)
		now := clk.Now()
		c.mu.Lock()
		for _, name := range c.order {
			c.devices[name].advance(now, c.step, c)
		}
		c.mu.Unlock()
	}
}

func TestSignDrawsCurrentWhenOn(t *testing.T) {
	c, clk, drv, _ := startDemo(t)
	bus := drv["sign-bus"]
	step(c, clk, time.Second)
	if v, _ := read(t, bus, "sign", "current").AsNumber(); v != 0 {
		t.Fatalf("current %v A with the sign off, want 0", v)
	}
	write(t, bus, "sign", "power", drivers.Bool(true))
	step(c, clk, time.Second)
	amps, _ := read(t, bus, "sign", "current").AsNumber()
	if amps < 2.4*0.97 || amps > 2.4*1.03 {
		t.Fatalf("current %v A when on, want 2.4 A ±2%% (the register holds hundredths)", amps)
	}
	if err := c.SetFault("sign", FaultPartlyDark, true); err != nil {
		t.Fatal(err)
	}
	step(c, clk, time.Second)
	amps, _ = read(t, bus, "sign", "current").AsNumber()
	if amps < 0.6*2.4*0.97 || amps > 0.6*2.4*1.03 {
		t.Fatalf("partly dark current %v A, want 60%% of 2.4 A", amps)
	}
	if err := c.SetFault("sign", FaultRelayStuck, true); err != nil {
		t.Fatal(err)
	}
	write(t, bus, "sign", "power", drivers.Bool(false))
	step(c, clk, time.Second)
	if on, _ := read(t, bus, "sign", "power").AsBool(); on {
		t.Error("power coil does not read back what was written")
	}
	if amps, _ := read(t, bus, "sign", "current").AsNumber(); amps == 0 {
		t.Error("a stuck relay let the current drop")
	}
}

func TestFlagTakesAboutThirtySecondsToTheTop(t *testing.T) {
	c, clk, drv, _ := startDemo(t)
	bus := drv["flag-bus"]
	write(t, bus, "flag", "command", drivers.Number(cmdRaise))
	step(c, clk, 15*time.Second)
	pos, _ := read(t, bus, "flag", "position").AsNumber()
	if pos < 45 || pos > 55 {
		t.Fatalf("position after 15 s = %v%%, want about 50%%", pos)
	}
	if top, _ := read(t, bus, "flag", "top").AsBool(); top {
		t.Fatal("top limit switch on half way")
	}
	step(c, clk, 16*time.Second)
	if top, _ := read(t, bus, "flag", "top").AsBool(); !top {
		t.Fatal("top limit switch off after 31 s of raising")
	}
	if err := c.SetFault("flag", FaultMotorJam, true); err != nil {
		t.Fatal(err)
	}
	write(t, bus, "flag", "command", drivers.Number(cmdLower))
	step(c, clk, 5*time.Second)
	if pos, _ := read(t, bus, "flag", "position").AsNumber(); pos != 100 {
		t.Errorf("jammed flag moved to %v%%", pos)
	}
	if fault, _ := read(t, bus, "flag", "motor_fault").AsBool(); !fault {
		t.Error("jammed motor reports no fault")
	}
	wind, _ := read(t, bus, "flag", "wind_speed").AsNumber()
	if wind <= 0 || wind > 12 {
		t.Errorf("wind speed %v m/s outside the simulated 0–12", wind)
	}
}

func TestPAPlaysAClipForItsLength(t *testing.T) {
	c, clk, drv, _ := startDemo(t)
	bus := drv["pa-bus"]
	write(t, bus, "pa", "clip", drivers.Number(1))
	step(c, clk, time.Second)
	if playing, _ := read(t, bus, "pa", "playing").AsBool(); playing {
		t.Fatal("plays with the amplifier off")
	}
	write(t, bus, "pa", "clip", drivers.Number(0))
	write(t, bus, "pa", "power", drivers.Bool(true))
	write(t, bus, "pa", "clip", drivers.Number(1)) // morning-news, 40 s
	step(c, clk, time.Second)
	if playing, _ := read(t, bus, "pa", "playing").AsBool(); !playing {
		t.Fatal("not playing after the clip was started")
	}
	step(c, clk, 40*time.Second)
	if playing, _ := read(t, bus, "pa", "playing").AsBool(); playing {
		t.Fatal("still playing after the clip's 40 s")
	}
}

func TestWireFaults(t *testing.T) {
	c, clk, drv, _ := startDemo(t)
	bus := drv["sign-bus"]
	step(c, clk, time.Second)
	if err := c.SetFault("sign", FaultException, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := bus.Read(ctx, []drivers.PointRef{{Device: "sign", Point: "current"}})
	var exc *modbus.ExceptionError
	if err != nil || !errors.As(s[0].Err, &exc) || exc.Code != modbus.ServerDeviceFailure {
		t.Fatalf("read with the exception fault: %v, %+v; want server device failure", err, s)
	}
	if err := c.SetFault("sign", FaultException, false); err != nil {
		t.Fatal(err)
	}
	read(t, bus, "sign", "current")
	if err := c.SetFault("sign", "melted", true); err == nil {
		t.Error("unknown fault accepted")
	}
}
