package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/beacon-edge/beacon/gateway/schedule"
)

// TestPlanDemoWeek is the "done when": a week of the demo center
// shows the sign on every night, flag raises and lowers, half-mast on the
// calendar day, and broadcasts (none in quiet hours; the demo has none).
func TestPlanDemoWeek(t *testing.T) {
	var out, errb bytes.Buffer
	code := runMain(context.Background(), []string{"plan", "-c", "../../configs/demo-center.yaml", "--from", "2026-12-10", "--days", "7"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	text := out.String()
	for _, want := range []struct {
		substr string
		n      int
	}{
		{"sign.power true", 7},
		{"sign.power false", 7},
		{"flag raised", 7},
		{"flag lowered", 7},
		{"flag half                  half-mast        steps half  (half-mast: National Memorial Day)", 1},
		{"steps top→bottom", 1}, // lowering from half-mast goes to the top first
		{"broadcast pa morning-news", 5},
		{"calendar  half-mast: National Memorial Day", 1},
		{"2026-12-13 Sun  dawn 06:34:06  sunrise 06:58:32  sunset 17:45:14  dusk 18:09:40", 1},
	} {
		if got := strings.Count(text, want.substr); got != want.n {
			t.Errorf("%q appears %d times, want %d\n%s", want.substr, got, want.n, text)
		}
	}
}

func TestPlanJSONAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"plan", "-c", "../../configs/demo-center.yaml", "--from", "2026-12-13", "--days", "1", "--format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var p schedule.PlanJSON
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		t.Fatalf("decode: %v\n%s", err, out.String())
	}
	if p.Center != "dongshan" || len(p.Days) != 1 || p.Days[0].Sunrise != "06:58:32" || len(p.Entries) == 0 {
		t.Errorf("plan: %+v", p)
	}
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"plan"}, "missing -c FILE"},
		{[]string{"plan", "-c", "x", "--days", "0"}, "--days 0"},
		{[]string{"plan", "-c", "x", "--format", "xml"}, `--format "xml"`},
		{[]string{"plan", "-c", "../../configs/demo-center.yaml", "--from", "tomorrow"}, "bad date"},
	} {
		errb.Reset()
		if code := runMain(context.Background(), tt.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errb.String(), tt.msg)
		}
	}
}
