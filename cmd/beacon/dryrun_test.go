package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/testenv"
	"github.com/beacon-edge/beacon/rules"
	"github.com/beacon-edge/beacon/sim"
)

// demoOnFreePorts copies the demo center and its profiles to a temp folder
// with every fixed loopback port replaced by a free one, and returns the
// new config path.
func demoOnFreePorts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "..", "configs")
	text, err := os.ReadFile(filepath.Join(src, "demo-center.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(text)
	for _, port := range []string{"15020", "15021", "15022", "11883"} {
		s = strings.ReplaceAll(s, "127.0.0.1:"+port, fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	}
	if err := os.WriteFile(filepath.Join(dir, "center.yaml"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	profiles, _ := filepath.Glob(filepath.Join(src, "profiles", "*.yaml"))
	for _, p := range profiles {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "profiles", filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "center.yaml")
}

// serveDevices runs the simulator for cfg's devices on their configured
// addresses (as beaconsim does) until the test ends.
func serveDevices(t *testing.T, cfg *config.Config, seed uint64) *sim.Center {
	t.Helper()
	devices, err := sim.New(cfg, sim.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	if err := devices.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- devices.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done; devices.Close() })
	return devices
}

// TestDryRunAgainstTheSimulator is the installer's check of issue 5: the
// simulator serves the demo center's devices (as beaconsim does), `beacon
// run --clock-from` runs the real config on a simulated clock across dusk,
// and `beacon read -c … sign.power` then reads the coil on.
func TestDryRunAgainstTheSimulator(t *testing.T) {
	file := demoOnFreePorts(t)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	serveDevices(t, cfg, 3)

	loc := cfg.Center.Location
	sunset := rules.SunTimes(rules.Center{Location: loc, Lat: cfg.Center.Lat, Lon: cfg.Center.Lon},
		rules.Date{Year: 2026, Month: time.December, Day: 3}).Sunset.Time
	from := sunset.Add(-16 * time.Minute) // a minute before sunset-15m

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runErr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"run", "-c", file, "--state-dir", t.TempDir(), "--log-level", "warn",
			"--clock-from", from.Format(time.RFC3339), "--clock-speed", "20"}, &bytes.Buffer{}, &runErr)
	}()
	started := time.Now()
	// Sunset-15m comes 60 simulated seconds, 3 real seconds, after the
	// start. Before it the schedule keeps the sign off; after it, on.
	onAt := started.Add(3 * time.Second)
	deadline := started.Add(30 * time.Second)
	sawOff := false
	for {
		var out, errOut bytes.Buffer
		code := runMain(context.Background(), []string{"read", "-c", file, "sign.power"}, &out, &errOut)
		line := strings.TrimSpace(out.String())
		if code == 0 && line == "sign.power false" {
			sawOff = true
		}
		if code == 0 && line == "sign.power true" {
			if now := time.Now(); now.Before(onAt.Add(-500 * time.Millisecond)) {
				t.Fatalf("sign.power on %v after the start, before sunset-15m (%v)", now.Sub(started), onAt.Sub(started))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sign.power not on 30 s after the dry run started (3 simulated minutes past sunset-15m): exit %d, %q %q; run log:\n%s",
				code, out.String(), errOut.String(), runErr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !sawOff {
		t.Error("never read sign.power false before sunset-15m")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("beacon run exited %d: %s", code, runErr.String())
	}
}
