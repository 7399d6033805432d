package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

// TestHelperBeaconRun is not a test: TestKill9At2amRelightsTheSign runs
// this test binary again with BEACON_HELPER_ARGS set, and it becomes
// `beacon` with those arguments, in a process that can be killed.
func TestHelperBeaconRun(t *testing.T) {
	raw := os.Getenv("BEACON_HELPER_ARGS")
	if raw == "" {
		t.Skip("helper process for TestKill9At2amRelightsTheSign")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(runMain(context.Background(), args, os.Stdout, os.Stderr))
}

// startBeacon runs `beacon args…` as a separate process.
func startBeacon(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBeaconRun$")
	cmd.Env = append(os.Environ(), "BEACON_HELPER_ARGS="+string(raw))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &log
}

// TestKill9At2amRelightsTheSign: the gateway is killed with SIGKILL in the
// night, the sign is switched off while it is down, and on restart the
// sign is lit again within 5 s.
func TestKill9At2amRelightsTheSign(t *testing.T) {
	file := demoOnFreePorts(t)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	devices := serveDevices(t, cfg, 9)
	power := func() bool {
		v, err := devices.Value("sign", "power")
		b, _ := v.AsBool()
		return err == nil && b
	}
	waitFor := func(what string, d time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > d {
				t.Fatalf("not within %v: %s", d, what)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}

	stateDir := t.TempDir()
	gw, log := startBeacon(t, "run", "-c", file, "--state-dir", stateDir, "--log-level", "warn",
		"--clock-from", "2026-12-02 01:59:50", "--clock-speed", "2")
	waitFor("the sign lit in the night", 20*time.Second, power)
	time.Sleep(6 * time.Second) // past 02:00 on the gateway's clock
	if err := gw.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	gw.Wait()
	if st := gw.ProcessState.Sys(); st == nil || gw.ProcessState.Success() {
		t.Fatalf("gateway not killed: %v; log:\n%s", gw.ProcessState, log)
	}
	// Someone switches the sign off while the gateway is dead.
	if err := devices.SetValue("sign", "power", drivers.Bool(false)); err != nil {
		t.Fatal(err)
	}
	waitFor("the sign dark", 5*time.Second, func() bool {
		v, _ := devices.Value("sign", "current")
		n, _ := v.AsNumber()
		return n == 0
	})
	_, log2 := startBeacon(t, "run", "-c", file, "--state-dir", stateDir, "--log-level", "warn",
		"--clock-from", "2026-12-02 02:01:00")
	took := waitFor("the sign lit again after the restart", 30*time.Second, power)
	if took > 5*time.Second {
		t.Errorf("sign relit %v after the restart, want within 5 s; log:\n%s", took, log2)
	}
}
