package rules

// Jobs are edge events: a broadcast at 07:30 Mon–Fri, a flag ceremony at
// sunrise. This file computes their scheduled instants; runner.go decides
// which are due, late or missed and keeps that on disk.

import (
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/robfig/cron/v3"
)

// CronSpec is a parsed cron expression whose fields Beacon walks itself:
// robfig/cron's own Next skips a job in a DST-skipped hour and can run one
// twice in a repeated hour. The fields are read in the center's zone (a
// CRON_TZ= prefix is ignored).
type CronSpec struct {
	text string
	spec *cron.SpecSchedule
}

// ParseCronSpec reads a 5- or 6-field cron expression or a descriptor such as
// @daily; @every is refused, as it is not a time of day.
func ParseCronSpec(s string) (*CronSpec, error) {
	sched, err := ParseCron(s)
	if err != nil {
		return nil, err
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("cron expression %q: @every is not a time of day; use fields or at", s)
	}
	return &CronSpec{text: s, spec: spec}, nil
}

func (c *CronSpec) String() string { return c.text }

// dayMatches follows cron's rule (and robfig's): when both day of month and
// day of week are restricted, either may match; otherwise both must.
func (c *CronSpec) dayMatches(d Date) bool {
	const star = 1 << 63
	s := c.spec
	if s.Month&(1<<uint(d.Month)) == 0 {
		return false
	}
	dom := s.Dom&(1<<uint(d.Day)) != 0
	dow := s.Dow&(1<<uint(d.Weekday())) != 0
	if s.Dom&star != 0 || s.Dow&star != 0 {
		return dom && dow
	}
	return dom || dow
}

// instants returns the distinct instants of date d, ascending. Wall times
// are mapped by WallTime, so several times in a skipped hour collapse into
// one run at the change, and a repeated hour runs once.
func (c *CronSpec) instants(d Date, loc *time.Location) []time.Time {
	if !c.dayMatches(d) {
		return nil
	}
	s := c.spec
	var out []time.Time
	for hours := s.Hour &^ (1 << 63); hours != 0; hours &= hours - 1 {
		h := bits.TrailingZeros64(hours)
		if h > 23 {
			break
		}
		for mins := s.Minute &^ (1 << 63); mins != 0; mins &= mins - 1 {
			m := bits.TrailingZeros64(mins)
			if m > 59 {
				break
			}
			for secs := s.Second &^ (1 << 63); secs != 0; secs &= secs - 1 {
				sec := bits.TrailingZeros64(secs)
				if sec > 59 {
					break
				}
				clock := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second
				t := WallTime(d, clock, loc)
				if DateOf(t) != d {
					continue // a gap at midnight pushed it to the next day
				}
				if n := len(out); n == 0 || t.After(out[n-1]) {
					out = append(out, t)
				} else if !slices.ContainsFunc(out, t.Equal) {
					out = append(out, t)
					slices.SortFunc(out, time.Time.Compare)
				}
			}
		}
	}
	return out
}

// Job is an edge-triggered rule: at each scheduled instant it does its
// actions once. Exactly one of At and Cron is set.
type Job struct {
	Name string
	// At is a time of day (07:30, sunrise+1m). A sun event the day lacks
	// (polar day or night) means no run that day.
	At   *TimeExpr
	Cron *CronSpec
	Days DayFilter
	// Grace is how late a run may still start; past it the instant is
	// recorded as missed.
	Grace time.Duration
	// Actions; any combination.
	Broadcast *Broadcast
	Flag      *FlagAction
	Set       []Setting
}

// Validate reports a job that cannot be scheduled.
func (j *Job) Validate() error {
	if (j.At == nil) == (j.Cron == nil) {
		return fmt.Errorf("job %s: needs exactly one of at or cron", j.Name)
	}
	if j.Grace < 0 {
		return fmt.Errorf("job %s: negative grace %v", j.Name, j.Grace)
	}
	if j.Broadcast == nil && j.Flag == nil && len(j.Set) == 0 {
		return fmt.Errorf("job %s: nothing to do", j.Name)
	}
	return nil
}

// Occurrence is one scheduled instant of a job.
type Occurrence struct {
	Job    string
	At     time.Time
	Reason string // the calendar tag that chose the day, if one did
}

// instantsOn returns the job's instants on date d, or why there are none.
func (j *Job) instantsOn(d Date, c Center, cal Calendar, sun SunDay) ([]Occurrence, string) {
	ok, why := j.Days.Allows(d, cal)
	if !ok {
		return nil, why
	}
	reason := j.Days.reason(d, cal)
	if j.At != nil {
		t, status, _ := resolve(*j.At, d, func(Date) SunDay { return sun }, c.loc(), false)
		if status != SunOccurs {
			return nil, "no " + j.At.Anchor.String() + ": " + status.String()
		}
		return []Occurrence{{Job: j.Name, At: t, Reason: reason}}, ""
	}
	ts := j.Cron.instants(d, c.loc())
	out := make([]Occurrence, len(ts))
	for i, t := range ts {
		out[i] = Occurrence{Job: j.Name, At: t, Reason: reason}
	}
	return out, ""
}

// Occurrences returns the instants of jobs in (from, to], in time order
// (ties in job order).
func Occurrences(jobs []Job, c Center, cal Calendar, from, to time.Time) []Occurrence {
	sunOf := func(d Date) SunDay { return SunTimes(c, d) }
	return occurrencesBetween(jobs, c, cal, from, to, sunOf)
}

func occurrencesBetween(jobs []Job, c Center, cal Calendar, from, to time.Time, sunOf func(Date) SunDay) []Occurrence {
	if !to.After(from) {
		return nil
	}
	loc := c.loc()
	// A job's instant on day d may be up to 12 h (sun offset) outside d.
	first := DateOf(from.In(loc)).AddDays(-1)
	last := DateOf(to.In(loc)).AddDays(1)
	var out []Occurrence
	for d := first; !last.Before(d); d = d.AddDays(1) {
		sun := sunOf(d)
		for i := range jobs {
			occ, _ := jobs[i].instantsOn(d, c, cal, sun)
			for _, o := range occ {
				if o.At.After(from) && !o.At.After(to) {
					out = append(out, o)
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Occurrence) int { return a.At.Compare(b.At) })
	return out
}
