package rules

// This file holds the time expressions schedules are written in.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Anchor is what a time expression is measured from.
type Anchor int

// The anchors: a wall-clock time of day or a sun event of the day.
const (
	AnchorClock   Anchor = iota
	AnchorSunrise        // upper limb at the horizon, refraction included
	AnchorSunset
	AnchorDawn // civil dawn: sun 6° below the horizon, morning
	AnchorDusk // civil dusk: sun 6° below the horizon, evening
)

var anchorNames = map[string]Anchor{
	"sunrise": AnchorSunrise,
	"sunset":  AnchorSunset,
	"dawn":    AnchorDawn,
	"dusk":    AnchorDusk,
}

func (a Anchor) String() string {
	for name, x := range anchorNames {
		if x == a {
			return name
		}
	}
	return "clock"
}

// TimeExpr is a time of day: "07:30", "sunset-15m", "sunrise+10m", "dusk".
type TimeExpr struct {
	Anchor Anchor
	// Clock is the time since midnight for AnchorClock.
	Clock time.Duration
	// Offset is added to a sun event.
	Offset time.Duration
}

// ParseTimeExpr reads a time expression.
func ParseTimeExpr(s string) (TimeExpr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return TimeExpr{}, fmt.Errorf("empty time: write 07:30, sunrise, sunset-15m, dawn or dusk+10m")
	}
	name, offset, sign := s, "", 0
	if i := strings.IndexAny(s, "+-"); i > 0 {
		name, offset = s[:i], s[i+1:]
		sign = 1
		if s[i] == '-' {
			sign = -1
		}
	}
	if a, ok := anchorNames[strings.ToLower(name)]; ok {
		e := TimeExpr{Anchor: a}
		if sign != 0 {
			d, err := time.ParseDuration(offset)
			if err != nil || d < 0 {
				return TimeExpr{}, fmt.Errorf("bad offset %q in %q: write it like %s-15m or %s+1h", offset, s, name, name)
			}
			if d > 12*time.Hour {
				return TimeExpr{}, fmt.Errorf("offset %q in %q is more than 12h", offset, s)
			}
			e.Offset = time.Duration(sign) * d
		}
		return e, nil
	}
	hh, mm, ok := strings.Cut(s, ":")
	if ok && len(mm) == 2 && len(hh) >= 1 && len(hh) <= 2 {
		h, err1 := strconv.Atoi(hh)
		m, err2 := strconv.Atoi(mm)
		if err1 == nil && err2 == nil && h >= 0 && h <= 23 && m >= 0 && m <= 59 {
			return TimeExpr{Anchor: AnchorClock, Clock: time.Duration(h)*time.Hour + time.Duration(m)*time.Minute}, nil
		}
		return TimeExpr{}, fmt.Errorf("bad time of day %q: hours 00–23, minutes 00–59", s)
	}
	return TimeExpr{}, fmt.Errorf("bad time %q: write 07:30, sunrise, sunset-15m, dawn or dusk+10m", s)
}

func (e TimeExpr) String() string {
	if e.Anchor == AnchorClock {
		return fmt.Sprintf("%02d:%02d", int(e.Clock.Hours()), int(e.Clock.Minutes())%60)
	}
	switch {
	case e.Offset > 0:
		return e.Anchor.String() + "+" + shortDuration(e.Offset)
	case e.Offset < 0:
		return e.Anchor.String() + "-" + shortDuration(-e.Offset)
	}
	return e.Anchor.String()
}

func shortDuration(d time.Duration) string {
	s := d.String() // e.g. 1h30m0s, 15m0s, 2h0m0s
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron reads a cron expression of 5 fields (minute hour day month
// weekday) or 6 (seconds first), or a descriptor such as @daily.
func ParseCron(s string) (cron.Schedule, error) {
	sched, err := cronParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("bad cron expression %q: %w", s, err)
	}
	return sched, nil
}

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseWeekday reads a day name: mon, tue, …, or the full English name.
func ParseWeekday(s string) (time.Weekday, error) {
	k := strings.ToLower(s)
	if len(k) > 3 {
		for name, d := range weekdayNames {
			if strings.EqualFold(d.String(), s) {
				return weekdayNames[name], nil
			}
		}
	}
	if d, ok := weekdayNames[k]; ok {
		return d, nil
	}
	return 0, fmt.Errorf("unknown day %q: use mon, tue, wed, thu, fri, sat or sun", s)
}
