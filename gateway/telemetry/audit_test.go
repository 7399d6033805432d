package telemetry

import (
	"testing"
	"time"
)

func TestUserActionPoint(t *testing.T) {
	at := time.Date(2026, 6, 1, 4, 0, 0, 0, time.UTC)
	p := UserAction{Time: at, User: "li", Role: "manager", Action: "override", Target: "sign.power",
		Before: "false (schedule, rule:sign-at-night)", After: "true until 2026-06-01T13:00:00+08:00", Result: "ok"}.Point(Source{County: "x", Center: "c"})
	line, err := p.AppendLine(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := string(line)
	want := `audit,action=override,center=c,county=x,device=gateway user="li",role="manager",target="sign.power",before="false (schedule, rule:sign-at-night)",after="true until 2026-06-01T13:00:00+08:00",result="ok" 1780286400000000000`
	if got != want {
		t.Errorf("line\n got %s\nwant %s", got, want)
	}
}
