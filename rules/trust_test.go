package rules

import (
	"context"
	"testing"
	"time"
)

func TestTrustCheck(t *testing.T) {
	tests := []struct {
		name   string
		trust  Trust
		now    time.Time
		synced bool
		want   bool
		why    string
	}{
		{"RTC-less boot in 1970", Trust{}, time.Unix(0, 0), true, false, "clock reads 1970, before the build year 2026"},
		{"build year, no sync needed", Trust{}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false, true, ""},
		{"sync required, not synced", Trust{RequireSync: true}, time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC), false, false, "clock not NTP-synchronised"},
		{"sync required and synced", Trust{RequireSync: true}, time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC), true, true, ""},
		{"explicit min year", Trust{MinYear: 2030}, time.Date(2029, 12, 31, 0, 0, 0, 0, time.UTC), true, false, "clock reads 2029, before the build year 2030"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := tt.trust.Check(tt.now, tt.synced)
			if got != tt.want || why != tt.why {
				t.Errorf("Check = %v %q, want %v %q", got, why, tt.want, tt.why)
			}
		})
	}
}

// TestNTPSyncedRuns only checks that the kernel answers; whether this host
// is synchronised is not ours to assert.
func TestNTPSyncedRuns(t *testing.T) {
	if _, err := NTPSynced(context.Background()); err != nil {
		t.Skipf("adjtimex not available here: %v", err)
	}
}
