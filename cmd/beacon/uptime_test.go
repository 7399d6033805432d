package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/gateway/telemetry"
)

// copyDemo copies the demo center and its profiles into a temp folder.
func copyDemo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "..", "configs")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "demo-center.yaml")
}

func TestUptimeFromTheLocalStore(t *testing.T) {
	file := copyDemo(t)
	cst := time.FixedZone("CST", 8*3600)
	night := func(day int, lit, dark, unknown int) telemetry.SignNight {
		s := time.Date(2026, 11, day, 17, 45, 0, 0, cst)
		req := lit + dark + unknown
		return telemetry.SignNight{Device: "sign", Start: s.UTC(), End: s.Add(time.Duration(req) * time.Minute).UTC(),
			Required: req, Lit: lit, Dark: dark, Unknown: unknown, Compliance: float64(lit) / float64(req)}
	}
	nightsFile := telemetry.NightsFile(filepath.Join(filepath.Dir(file), ".beacon", "outbox.db"))
	tests := []struct {
		name   string
		nights []telemetry.SignNight
		args   []string
		want   string
	}{
		{"no summaries yet", nil, nil, "dongshan  东山村党群服务中心  sign compliance from local store " + nightsFile + "\nno nightly summaries yet\n"},
		{"last night only", []telemetry.SignNight{night(28, 780, 0, 0), night(29, 616, 10, 94)}, []string{"--nights", "1"},
			"dongshan  东山村党群服务中心  sign compliance from local store " + nightsFile + "\n" +
				"       night  sign       window  required  lit  dark  unknown  compliance\n" +
				"  2026-11-29  sign  17:45-05:45       720  616    10       94       85.6%\n"},
		{"all nights", []telemetry.SignNight{night(29, 616, 10, 94), night(28, 780, 0, 0)}, nil,
			"dongshan  东山村党群服务中心  sign compliance from local store " + nightsFile + "\n" +
				"       night  sign       window  required  lit  dark  unknown  compliance\n" +
				"  2026-11-28  sign  17:45-06:45       780  780     0        0      100.0%\n" +
				"  2026-11-29  sign  17:45-05:45       720  616    10       94       85.6%\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(filepath.Dir(nightsFile))
			if tc.nights != nil {
				os.MkdirAll(filepath.Dir(nightsFile), 0o755)
				if err := telemetry.WriteNightsFile(nightsFile, tc.nights); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), append([]string{"uptime", "-c", file}, tc.args...), &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
			}
			if stdout.String() != tc.want {
				t.Errorf("stdout:\n%q\nwant:\n%q", stdout.String(), tc.want)
			}
		})
	}
}

func TestUptimeUsage(t *testing.T) {
	for _, args := range [][]string{{"uptime"}, {"uptime", "-c", "x.yaml", "--nights", "0"}, {"uptime", "-c", "x.yaml", "extra"}} {
		var stdout, stderr bytes.Buffer
		if code := runMain(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr %s", args, code, stderr.String())
		}
	}
}
