package rules

// Clock sanity: until the clock is trusted no job fires and every point
// takes its safe state (DESIGN.md, "Time is an input").

import (
	"fmt"
	"time"
)

// BuildYear is the year this build was made. A clock reading an earlier
// year has not been set (a board without RTC boots in 1970 or 2000). The
// release build may raise it with -ldflags "-X …/rules.BuildYear=2027"
// (a string, as -X sets only strings).
var BuildYear = "2026"

// Trust says when the clock is trusted.
type Trust struct {
	// MinYear: a clock before this year is not trusted; 0 means BuildYear.
	MinYear int
	// RequireSync: the kernel must also report NTP synchronisation.
	RequireSync bool
}

// Check returns whether now can be trusted, and if not why. synced is the
// kernel's NTP verdict (NTPSynced); it is read only when RequireSync.
func (tr Trust) Check(now time.Time, synced bool) (bool, string) {
	minYear := tr.MinYear
	if minYear == 0 {
		fmt.Sscan(BuildYear, &minYear)
	}
	if now.Year() < minYear {
		return false, fmt.Sprintf("clock reads %d, before the build year %d", now.Year(), minYear)
	}
	if tr.RequireSync && !synced {
		return false, "clock not NTP-synchronised"
	}
	return true, ""
}
