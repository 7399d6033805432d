package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/beacon-edge/beacon/rules"
)

// The schedule sections beside rules: when the clock may be trusted, quiet
// hours for broadcasts, and conditions on points.

type rawClock struct {
	MinYear        *int  `yaml:"min_year"`
	RequireNTPSync *bool `yaml:"require_ntp_sync"`
}

type rawQuietHours struct {
	Between []string `yaml:"between"`
	Days    []string `yaml:"days"`
	Only    []string `yaml:"only"`
	Except  []string `yaml:"except"`
}

type rawCondition struct {
	Point string         `yaml:"point"`
	Is    Literal        `yaml:"is"`
	For   *time.Duration `yaml:"for"`
}

// ClockTrust says when the gateway's clock is trusted enough to fire jobs
// (DESIGN.md principle 5). Until then every point takes its safe value.
type ClockTrust struct {
	MinYear     int  // 0: the build's year
	RequireSync bool // the kernel must report NTP synchronisation
}

// QuietHours is when no scheduled broadcast plays; emergencies still do.
type QuietHours struct {
	Between [2]string
	Days    []time.Weekday
	Only    []string
	Except  []string
}

// DefaultWindResume is how long the wind must stay below a flagpole's
// max_wind before its schedule resumes.
const DefaultWindResume = 10 * time.Minute

func (l *loader) validateClock(rc *rawClock, c *ClockTrust) {
	if rc == nil {
		return
	}
	if rc.MinYear != nil {
		if c.MinYear = *rc.MinYear; c.MinYear < 2000 || c.MinYear > 2200 {
			l.errorf("clock.min_year", "min_year %d must be 2000 to 2200", c.MinYear)
		}
	}
	if rc.RequireNTPSync != nil {
		c.RequireSync = *rc.RequireNTPSync
	}
}

func (l *loader) validateQuietHours(rq *rawQuietHours) *QuietHours {
	if rq == nil {
		return nil
	}
	q := &QuietHours{Only: rq.Only, Except: rq.Except}
	if len(rq.Between) != 2 {
		l.errorf("quiet_hours.between", `quiet hours need two times, start and end: ["22:00", "07:00"]`)
	} else {
		for i, s := range rq.Between {
			if _, err := rules.ParseTimeExpr(s); err != nil {
				l.errorf(fmt.Sprintf("quiet_hours.between[%d]", i), "%v", err)
			}
		}
		q.Between = [2]string{rq.Between[0], rq.Between[1]}
	}
	for i, day := range rq.Days {
		wd, err := rules.ParseWeekday(day)
		if err != nil {
			l.errorf(fmt.Sprintf("quiet_hours.days[%d]", i), "%v", err)
			continue
		}
		q.Days = append(q.Days, wd)
	}
	return q
}

// conditions resolves a rule's when: entries.
func (l *loader) conditions(cfg *Config, path string, raw []rawCondition) ([]Condition, bool) {
	ok := true
	var out []Condition
	for i, rc := range raw {
		cpath := fmt.Sprintf("%s.when[%d]", path, i)
		if rc.Point == "" {
			l.missing(cpath+".point", "device.point")
			ok = false
			continue
		}
		dev, pt, found := strings.Cut(rc.Point, ".")
		d := cfg.Device(dev)
		var p *Point
		if found && d != nil {
			p = d.Point(pt)
		}
		if p == nil {
			if !l.unresolved[dev] {
				l.errorf(cpath+".point", "unknown point %q", rc.Point)
			}
			ok = false
			continue
		}
		if !rc.Is.Set {
			l.missing(cpath+".is", "the value the point must have")
			ok = false
			continue
		}
		v, err := parseLiteral(rc.Is, p.Type.ValueKind())
		if err != nil {
			l.errorf(cpath+".is", "%v for %s (%s)", err, rc.Point, p.Type)
			ok = false
			continue
		}
		c := Condition{Point: p.Ref(), Value: v}
		if rc.For != nil {
			c.For = *rc.For
		}
		out = append(out, c)
	}
	return out, ok
}
