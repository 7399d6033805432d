package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/county"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/influxtest"
)

// TestDemoUptimeWithAndWithoutInfluxDB runs the demo center — a real
// gateway with its telemetry sink, against the simulator — on a simulated
// clock through a short required window, with a real InfluxDB configured,
// and checks that `beacon uptime` prints the same night from InfluxDB and
// from the local store, with figures that add up to the window.
func TestDemoUptimeWithAndWithoutInfluxDB(t *testing.T) {
	influx := influxtest.New(t, t.TempDir())
	ctx := context.Background()
	if err := influx.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(influx.Stop)
	bucket, err := influx.CreateBucket(ctx, "beacon")
	if err != nil {
		t.Fatal(err)
	}

	file := demoOnFreePorts(t)
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// A ten-minute night keeps the test short; everything else is the demo.
	s := strings.Replace(string(text), "between: [sunset-15m, sunrise+15m]", `between: ["18:00", "18:10"]`, 1)
	s = strings.Replace(s, "telemetry:\n", fmt.Sprintf("telemetry:\n  influx: {url: %q, bucket: %q, flush: 1s}\n", influx.URL.String(), bucket), 1)
	if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	serveDevices(t, cfg, 5)

	// Yesterday evening: uptime queries nights up to now, as a county would.
	day := time.Now().In(cfg.Center.Location).AddDate(0, 0, -1).Format("2006-01-02")
	stateDir := t.TempDir()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var runLog bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(runCtx, []string{"run", "-c", file, "--state-dir", stateDir, "--log-level", "warn",
			"--clock-from", day + " 17:59", "--clock-speed", "30"}, &bytes.Buffer{}, &runLog)
	}()
	uptime := func(extra ...string) string {
		var out, errOut bytes.Buffer
		args := append([]string{"uptime", "-c", file, "--state-dir", stateDir}, extra...)
		if code := runMain(ctx, args, &out, &errOut); code != 0 {
			t.Fatalf("beacon uptime %v: exit %d: %s", extra, code, errOut.String())
		}
		return out.String()
	}
	// 18:10 comes 11 simulated minutes, 22 real seconds, after the start.
	deadline := time.Now().Add(90 * time.Second)
	var fromInflux string
	for {
		fromInflux = uptime()
		if strings.Contains(fromInflux, day) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no night in InfluxDB; uptime printed:\n%s\nrun log:\n%s", fromInflux, runLog.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("beacon run exited %d: %s", code, runLog.String())
	}
	fromLocal := uptime("--local")
	body := func(s string) string { _, rest, _ := strings.Cut(s, "\n"); return rest }
	if body(fromInflux) != body(fromLocal) {
		t.Fatalf("InfluxDB and the local store disagree:\n%s\n%s", fromInflux, fromLocal)
	}
	if !strings.Contains(fromInflux, "from influxdb") || !strings.Contains(fromLocal, "from local store") {
		t.Errorf("sources not named:\n%s\n%s", fromInflux, fromLocal)
	}
	// night sign window required lit dark unknown compliance
	var row []string
	for _, line := range strings.Split(body(fromLocal), "\n") {
		if f := strings.Fields(line); len(f) == 8 && f[0] == day {
			row = f
		}
	}
	if row == nil {
		t.Fatalf("no row for the night:\n%s", fromLocal)
	}
	n := func(i int) int { v, _ := strconv.Atoi(row[i]); return v }
	if row[2] != "18:00-18:10" || n(3) != 10 || n(4)+n(5)+n(6) != 10 || n(4) < 9 {
		t.Errorf("night %v: want window 18:00-18:10, required 10 = lit+dark+unknown, lit ≥ 9", row)
	}
	t.Logf("\n%s", fromLocal)

	// The county service reads the same night from InfluxDB. A dry run's
	// data is tagged simulated: excluded by default, read on request.
	report := func(includeSimulated bool) *county.Report {
		svc, err := county.New(county.Config{URL: influx.URL.String(), Bucket: bucket, County: cfg.Center.County,
			Location: cfg.Center.Location, IncludeSimulated: includeSimulated})
		if err != nil {
			t.Fatal(err)
		}
		defer svc.Close()
		d, _ := county.ParseDate(day)
		rep, err := svc.Report(ctx, d, d)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := report(false); len(rep.Nights) != 0 {
		t.Errorf("the county report counts simulated data: %+v", rep.Nights)
	}
	rep := report(true)
	if len(rep.Nights) != 1 {
		t.Fatalf("county report rows %+v, want the one night", rep.Nights)
	}
	got := rep.Nights[0]
	if got.Center != cfg.Center.ID || got.Date != day || !got.Reported ||
		got.Required != n(3) || got.Lit != n(4) || got.Dark != n(5) || got.Unknown != n(6) {
		t.Errorf("county report night %+v, want %s %s required %d lit %d dark %d unknown %d as beacon uptime printed",
			got, cfg.Center.ID, day, n(3), n(4), n(5), n(6))
	}
}
