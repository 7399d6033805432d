package rules

// Calendars tag days (half-mast, holiday, no-broadcast); day filters limit a
// rule to weekdays and to tagged days, or exclude tagged days.

import (
	"slices"
	"strings"
	"time"
)

// CalendarEntry tags one date, a range of dates, or a yearly date or range.
type CalendarEntry struct {
	// From and To are inclusive; equal for a single day. For a Yearly entry
	// only month and day count, and a range whose To is earlier in the year
	// than its From wraps over New Year (12-30 … 01-02). A yearly 02-29 tags
	// only leap days.
	From, To Date
	Yearly   bool
	Tags     []string
	Note     string
}

// Covers reports whether the entry tags date d.
func (e CalendarEntry) Covers(d Date) bool {
	if !e.Yearly {
		return !d.Before(e.From) && !e.To.Before(d)
	}
	md := int(d.Month)*100 + d.Day
	from := int(e.From.Month)*100 + e.From.Day
	to := int(e.To.Month)*100 + e.To.Day
	if from <= to {
		return from <= md && md <= to
	}
	return md >= from || md <= to
}

// Calendar is a center's list of tagged days.
type Calendar struct {
	Entries []CalendarEntry
}

// Tags returns the tags of date d, each once, in entry order.
func (c Calendar) Tags(d Date) []string {
	var tags []string
	for _, e := range c.Entries {
		if !e.Covers(d) {
			continue
		}
		for _, t := range e.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// Find returns the first entry covering d that carries one of tags.
func (c Calendar) Find(d Date, tags []string) (CalendarEntry, string, bool) {
	for _, e := range c.Entries {
		if !e.Covers(d) {
			continue
		}
		for _, t := range e.Tags {
			if slices.Contains(tags, t) {
				return e, t, true
			}
		}
	}
	return CalendarEntry{}, "", false
}

// Notes returns the notes of the entries covering d, for plans ("half-mast:
// National Memorial Day").
func (c Calendar) Notes(d Date) []string {
	var out []string
	for _, e := range c.Entries {
		if e.Covers(d) {
			s := strings.Join(e.Tags, ",")
			if e.Note != "" {
				s += ": " + e.Note
			}
			out = append(out, s)
		}
	}
	return out
}

// DayFilter limits a rule to some days. The zero DayFilter allows every day.
type DayFilter struct {
	// Weekdays the rule runs on; empty means every day.
	Weekdays []time.Weekday
	// Only limits the rule to days carrying one of these calendar tags.
	Only []string
	// Except skips days carrying one of these tags; it wins over Only.
	Except []string
}

// Allows reports whether the rule applies on date d, and if not, why (for
// plans: "not on Sat", "except holiday (National Day)").
func (f DayFilter) Allows(d Date, cal Calendar) (bool, string) {
	if len(f.Weekdays) > 0 && !slices.Contains(f.Weekdays, d.Weekday()) {
		return false, "not on " + d.Weekday().String()[:3]
	}
	if len(f.Except) > 0 {
		if e, tag, ok := cal.Find(d, f.Except); ok {
			return false, "except " + tag + noteSuffix(e)
		}
	}
	if len(f.Only) > 0 {
		if _, _, ok := cal.Find(d, f.Only); !ok {
			return false, "only " + strings.Join(f.Only, ", ")
		}
	}
	return true, ""
}

// Reason says why an allowed day was chosen, when a calendar tag chose it.
func (f DayFilter) reason(d Date, cal Calendar) string {
	if len(f.Only) == 0 {
		return ""
	}
	if e, tag, ok := cal.Find(d, f.Only); ok && e.Note != "" {
		return tag + ": " + e.Note
	} else if ok {
		return tag
	}
	return ""
}

func noteSuffix(e CalendarEntry) string {
	if e.Note == "" {
		return ""
	}
	return " (" + e.Note + ")"
}
