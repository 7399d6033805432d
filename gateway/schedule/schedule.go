// Package schedule converts a validated center config into the rules
// layer's Schedule. It is the one place that knows both gateway/config and
// rules; rules itself never imports config.
package schedule

import (
	"fmt"

	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/rules"
)

// FromConfig builds the rules Schedule of a validated config.
func FromConfig(cfg *config.Config) (rules.Schedule, error) {
	c := cfg.Center
	s := rules.Schedule{Center: rules.Center{Location: c.Location, Lat: c.Lat, Lon: c.Lon}}
	for _, e := range cfg.Calendar {
		s.Calendar.Entries = append(s.Calendar.Entries, rules.CalendarEntry{
			From: rules.DateOf(e.From), To: rules.DateOf(e.To), Yearly: e.Yearly, Tags: e.Tags, Note: e.Note,
		})
	}
	for _, r := range cfg.Rules {
		days := rules.DayFilter{Weekdays: r.Days, Only: r.Only, Except: r.Except}
		var conds []rules.Condition
		for _, c := range r.When {
			conds = append(conds, rules.Condition{Point: c.Point, Value: c.Value, For: c.For})
		}
		if r.Between[0] == "" && r.At == "" && r.Cron == "" {
			s.Windows = append(s.Windows, rules.Window{Name: r.Name, Always: true, Days: days, Conditions: conds,
				Set: settings(r.Set), Otherwise: settings(r.Otherwise)})
			continue
		}
		if r.Between[0] != "" {
			start, err := rules.ParseTimeExpr(r.Between[0])
			if err != nil {
				return rules.Schedule{}, fmt.Errorf("rule %s: start: %w", r.Name, err)
			}
			end, err := rules.ParseTimeExpr(r.Between[1])
			if err != nil {
				return rules.Schedule{}, fmt.Errorf("rule %s: end: %w", r.Name, err)
			}
			s.Windows = append(s.Windows, rules.Window{Name: r.Name, Start: start, End: end, Days: days, Conditions: conds,
				Set: settings(r.Set), Otherwise: settings(r.Otherwise)})
			continue
		}
		j := rules.Job{Name: r.Name, Days: days, Grace: r.Grace, Set: settings(r.Set)}
		switch {
		case r.At != "":
			at, err := rules.ParseTimeExpr(r.At)
			if err != nil {
				return rules.Schedule{}, fmt.Errorf("rule %s: at: %w", r.Name, err)
			}
			j.At = &at
		default:
			spec, err := rules.ParseCronSpec(r.Cron)
			if err != nil {
				return rules.Schedule{}, fmt.Errorf("rule %s: %w", r.Name, err)
			}
			j.Cron = spec
		}
		if b := r.Broadcast; b != nil {
			j.Broadcast = &rules.Broadcast{Device: b.Device, Clip: b.Clip, Text: b.Text, Zones: b.Zones, Volume: b.Volume}
			if d := cfg.Device(b.Device); d != nil && d.PA != nil && b.Clip != "" {
				if clip := d.PA.Clip(b.Clip); clip != nil {
					j.Broadcast.Length = clip.Length
				}
			}
		}
		if f := r.Flag; f != nil {
			st, err := rules.ParseFlagAction(f.Action)
			if err != nil {
				return rules.Schedule{}, fmt.Errorf("rule %s: %w", r.Name, err)
			}
			j.Flag = &rules.FlagAction{Device: f.Device, State: st}
		}
		s.Jobs = append(s.Jobs, j)
	}
	for _, d := range cfg.Devices {
		if d.Flagpole != nil {
			s.Flagpoles = append(s.Flagpoles, rules.Flagpole{Device: d.Name, WindLimit: d.Flagpole.MaxWind, WindResume: d.Flagpole.WindResume})
		}
		for _, p := range d.Points {
			if p.Writable() && !p.Safe.IsZero() {
				s.Safe = append(s.Safe, rules.Setting{Point: p.Ref(), Value: p.Safe})
			}
		}
	}
	if q := cfg.QuietHours; q != nil {
		start, err := rules.ParseTimeExpr(q.Between[0])
		if err != nil {
			return rules.Schedule{}, fmt.Errorf("quiet hours: start: %w", err)
		}
		end, err := rules.ParseTimeExpr(q.Between[1])
		if err != nil {
			return rules.Schedule{}, fmt.Errorf("quiet hours: end: %w", err)
		}
		s.Quiet = &rules.QuietHours{Start: start, End: end, Days: rules.DayFilter{Weekdays: q.Days, Only: q.Only, Except: q.Except}}
	}
	return s, nil
}

func settings(in []config.Setting) []rules.Setting {
	out := make([]rules.Setting, len(in))
	for i, s := range in {
		out[i] = rules.Setting{Point: s.Point, Value: s.Value}
	}
	return out
}
