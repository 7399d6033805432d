package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const overlayCenter = base + `rules:
  - name: sign-at-night
    between: [sunset-15m, sunrise+15m]
    set: {sign.power: true}
calendar:
  - date: 2026-12-13
    tags: [half-mast]
`

func TestSchedulesOverlay(t *testing.T) {
	tests := []struct {
		name      string
		schedules string // "" : no schedules file
		wantRules []string
		wantCal   int
		wantDiags []string
	}{
		{"no schedules file", "", []string{"sign-at-night"}, 1, nil},
		{"rules replaced, calendar kept",
			"rules:\n  - name: sign-evening\n    between: [\"18:00\", \"23:00\"]\n    set: {sign.power: true}\n",
			[]string{"sign-evening"}, 1, nil},
		{"calendar replaced, rules kept",
			"calendar:\n  - yearly: 10-01\n    tags: [holiday]\n  - date: 2027-01-01\n    tags: [holiday]\n",
			[]string{"sign-at-night"}, 2, nil},
		{"bad time reported in the schedules file",
			"rules:\n  - name: sign-evening\n    between: [\"18:00\", \"25:00\"]\n    set: {sign.power: true}\n",
			nil, 0, []string{`schedules.yaml:3:24: rules[0].between[1]: bad time of day "25:00": hours 00–23, minutes 00–59`}},
		{"wiring is not a manager's",
			"devices:\n  sign: {kind: sign}\n",
			nil, 0, []string{`schedules.yaml:1:1: devices: unknown field "devices"`}},
		{"unknown point reported in the schedules file",
			"rules:\n  - name: x\n    between: [\"18:00\", \"23:00\"]\n    set: {sign.nope: true}\n",
			nil, 0, []string{`schedules.yaml:4:11: rules[0].set.sign.nope: unknown point of sign "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeCenter(t, overlayCenter)
			if tt.schedules != "" {
				if err := os.WriteFile(filepath.Join(filepath.Dir(path), SchedulesFile), []byte(tt.schedules), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg, diags, err := Check(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Dir(path) + string(filepath.Separator)
			var got []string
			for _, d := range diags {
				got = append(got, strings.ReplaceAll(d.String(), dir, ""))
			}
			if strings.Join(got, "\n") != strings.Join(tt.wantDiags, "\n") {
				t.Fatalf("diagnostics:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.wantDiags, "\n      "))
			}
			if tt.wantDiags != nil {
				return
			}
			var names []string
			for _, r := range cfg.Rules {
				names = append(names, r.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.wantRules, ",") || len(cfg.Calendar) != tt.wantCal {
				t.Errorf("rules %v calendar %d; want %v %d", names, len(cfg.Calendar), tt.wantRules, tt.wantCal)
			}
			if cfg.SchedulesFile != filepath.Join(filepath.Dir(path), SchedulesFile) {
				t.Errorf("SchedulesFile = %q", cfg.SchedulesFile)
			}
		})
	}
}

func TestWithSchedules(t *testing.T) {
	cfg, err := Load(writeCenter(t, overlayCenter))
	if err != nil {
		t.Fatal(err)
	}
	next, err := cfg.WithSchedules([]byte("quiet_hours:\n  between: [\"21:30\", \"07:00\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if next.QuietHours == nil || next.QuietHours.Between[0] != "21:30" || len(next.Rules) != 1 {
		t.Errorf("with schedules: quiet %+v rules %d", next.QuietHours, len(next.Rules))
	}
	_, err = cfg.WithSchedules([]byte("quiet_hours:\n  between: [\"21:30\"]\n"))
	var cerr *Error
	if !errors.As(err, &cerr) || len(cerr.Diagnostics) != 1 || cerr.Diagnostics[0].Path != "quiet_hours.between" ||
		filepath.Base(cerr.Diagnostics[0].Pos.File) != SchedulesFile || cerr.Diagnostics[0].Pos.Line != 2 {
		t.Errorf("bad schedules: %v", err)
	}
}

func TestSchedulesPathFromTheEnvironment(t *testing.T) {
	t.Setenv(SchedulesEnv, "")
	if got := SchedulesPath("/etc/beacon/center.yaml"); got != "/etc/beacon/schedules.yaml" {
		t.Errorf("default SchedulesPath = %q", got)
	}
	t.Setenv(SchedulesEnv, "/var/lib/beacon/schedules.yaml")
	if got := SchedulesPath("/etc/beacon/center.yaml"); got != "/var/lib/beacon/schedules.yaml" {
		t.Errorf("SchedulesPath with %s set = %q", SchedulesEnv, got)
	}
}
