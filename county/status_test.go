package county

import (
	"testing"
	"time"
)

// The county now (night 4, 02:00): dark signs first, then offline
// gateways, each with the time it has been so since.
func TestStatusNow(t *testing.T) {
	target, _ := seededCounty(t)
	s := newTestService(t, target)
	st, err := s.Status(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Centers) != 24 {
		t.Fatalf("%d centers, want 24 (no simulated, no other county)", len(st.Centers))
	}
	var order []string
	for _, c := range st.Centers[:4] {
		order = append(order, c.Center+":"+c.State)
	}
	if got, want := order, []string{"c01:dark", "c02:dark", "c04:offline", "c06:offline"}; !equal(got, want) {
		t.Errorf("first centers = %v, want %v", got, want)
	}
	byName := map[string]CenterStatus{}
	for _, c := range st.Centers {
		byName[c.Center] = c
	}
	tests := []struct {
		name      string
		center    string
		state     string
		since     time.Time
		lastNight string // date and compliance
	}{
		{"dark since its last lit reading", "c01", StateDark, at(4, 0, 59), "2026-05-07 100.0%"},
		{"partly dark strip counts as dark", "c02", StateDark, at(4, 21, 59), "2026-05-07 100.0%"},
		{"gone gateway offline since its last heartbeat", "c04", StateOffline, at(2, 16, 59), "2026-05-07 0.0%"},
		{"gateway offline since 00:29", "c06", StateOffline, at(4, 0, 29), "2026-05-07 100.0%"},
		{"back after a night off: lit", "c03", StateLit, time.Time{}, "2026-05-07 100.0%"},
		{"dark last night, lit now", "c07", StateLit, time.Time{}, "2026-05-07 0.0%"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := byName[tc.center]
			if c.State != tc.state || !c.Since.Equal(tc.since) {
				t.Errorf("state %s since %v, want %s since %v", c.State, c.Since, tc.state, tc.since)
			}
			got := ""
			if c.LastNight != nil {
				got = c.LastNight.Date + " " + pct(c.LastNight.Compliance)
			}
			if got != tc.lastNight {
				t.Errorf("last night %q, want %q", got, tc.lastNight)
			}
		})
	}
	c := byName["c10"]
	if c.FlagPosition == nil || *c.FlagPosition != 100 || !c.FlagTime.Equal(at(3, 7, 0)) {
		t.Errorf("flag of c10 = %v at %v, want 100 at %v", c.FlagPosition, c.FlagTime, at(3, 7, 0))
	}
	if b := c.Broadcast; b == nil || b.Clip != "morning-news" || b.Outcome != "played" || !b.Time.Equal(at(3, 7, 30)) || b.Duration != 95 {
		t.Errorf("last broadcast of c10 = %+v", b)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
