package config

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleSections(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"quiet hours with a bad time", base + "quiet_hours:\n  between: [\"21:30\", \"7am\"]\n",
			[]string{`center.yaml:18:22: quiet_hours.between[1]: bad time "7am": write 07:30, sunrise, sunset-15m, dawn or dusk+10m`}},
		{"quiet hours with one time", base + "quiet_hours:\n  between: [\"21:30\"]\n",
			[]string{`center.yaml:18:12: quiet_hours.between: quiet hours need two times, start and end: ["22:00", "07:00"]`}},
		{"clock year out of range", base + "clock: {min_year: 1970}\n",
			[]string{`center.yaml:17:19: clock.min_year: min_year 1970 must be 2000 to 2200`}},
		{"condition on an unknown point", base + "rules:\n  - name: off-when-empty\n    when: [{point: sign.nobody, is: false, for: 15m}]\n    set: {sign.power: false}\n",
			[]string{`center.yaml:19:20: rules[0].when[0].point: unknown point "sign.nobody"`}},
		{"condition value of the wrong type", base + "rules:\n  - name: off-when-dim\n    when: [{point: sign.current, is: low}]\n    set: {sign.power: false}\n",
			[]string{`center.yaml:19:38: rules[0].when[0].is: "low" is not a number for sign.current (uint16)`}},
		{"conditions on a job", base + "rules:\n  - name: j\n    at: \"22:00\"\n    when: [{point: sign.current, is: 0}]\n    set: {sign.power: false}\n",
			[]string{`center.yaml:20:11: rules[0].when: conditions apply to windows (between) and condition-only rules, not to jobs`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkLines(t, tt.yaml)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("diagnostics:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

func TestScheduleSectionsResolve(t *testing.T) {
	y := base + `clock: {min_year: 2026, require_ntp_sync: true}
quiet_hours: {between: ["21:30", "07:00"], days: [sat, sun]}
rules:
  - name: dark-when-idle
    when: [{point: sign.current, is: 0, for: 15m}]
    set: {sign.power: false}
`
	cfg, err := Load(writeCenter(t, y))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Clock != (ClockTrust{MinYear: 2026, RequireSync: true}) {
		t.Errorf("clock = %+v", cfg.Clock)
	}
	if q := cfg.QuietHours; q == nil || q.Between != [2]string{"21:30", "07:00"} || len(q.Days) != 2 || q.Days[0] != time.Saturday {
		t.Errorf("quiet hours = %+v", q)
	}
	r := cfg.Rules[0]
	if len(r.When) != 1 || r.When[0].Point.String() != "sign.current" || r.When[0].For != 15*time.Minute {
		t.Errorf("conditions = %+v", r.When)
	}
}
