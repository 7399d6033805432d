package rules

// Civil dates and the mapping from a wall-clock time on a date to an instant,
// with explicit rules for the hour a DST change skips or repeats.

import (
	"fmt"
	"time"
)

// Center places schedules in time and on the globe.
type Center struct {
	// Location is the center's time zone; nil means UTC.
	Location *time.Location
	// Lat and Lon are in degrees, north and east positive.
	Lat, Lon float64
}

func (c Center) loc() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// Date is a civil date in the center's zone, without a time of day.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("bad date %q: write it as YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday is the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.key() < e.key() }

// key orders dates: yyyymmdd.
func (d Date) key() int { return d.Year*10000 + int(d.Month)*100 + d.Day }

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Midnight is the first instant of d in loc (which on a day whose midnight a
// DST change skips is the instant of the change).
func (d Date) Midnight(loc *time.Location) time.Time { return WallTime(d, 0, loc) }

// WallTime returns the instant at which the wall clock in loc reads clock
// (time since midnight, 0 ≤ clock < 24h) on date d. The two DST cases:
//
//   - a wall time the zone skips (spring forward, e.g. 02:30 on
//     2026-03-08 in America/New_York) resolves to the instant of the change
//     (03:00 EDT): a job in a skipped hour runs at the transition;
//   - a wall time the zone repeats (fall back, e.g. 01:30 on 2026-11-01 in
//     America/New_York) resolves to its first occurrence (01:30 EDT): a job in
//     a repeated hour runs once.
//
// Go's time.Date leaves both choices unspecified, hence this function.
func WallTime(d Date, clock time.Duration, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	// The wall reading as if it were UTC; an instant in loc with offset o
	// that shows this reading is naive - o.
	naive := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Add(clock)
	guess := naive.In(loc)
	var offsets [3]int
	for i, probe := range []time.Duration{-6 * time.Hour, 0, 6 * time.Hour} {
		_, offsets[i] = guess.Add(probe).Zone()
	}
	var best time.Time
	found := false
	for _, o := range offsets {
		cand := naive.Add(-time.Duration(o) * time.Second).In(loc)
		if _, co := cand.Zone(); co != o {
			continue
		}
		if !found || cand.Before(best) {
			best, found = cand, true
		}
	}
	if found {
		return best
	}
	// A gap: the reading never shows. The change lies between the instants
	// the reading would have under the offsets before and after it; find the
	// first instant carrying the later offset.
	before, after := offsets[0], offsets[2]
	lo := naive.Add(-time.Duration(max(before, after)) * time.Second)
	hi := naive.Add(-time.Duration(min(before, after)) * time.Second)
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if _, o := mid.In(loc).Zone(); o == before {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi.Truncate(time.Second).In(loc)
}
