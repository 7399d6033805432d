package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

// Schedules is what a manager edits: the rules, calendar and quiet hours
// of a center, in the shape of the config's YAML sections (docs/CONFIG.md),
// as JSON on the API and as YAML in the schedules file. An edit is turned
// into the YAML of a schedules file and validated by gateway/config with
// the center, exactly like `beacon check`; its diagnostics come back with
// their field paths ("rules[2].between[0]").
type Schedules struct {
	Rules      []Rule          `json:"rules" yaml:"rules"`
	Calendar   []CalendarEntry `json:"calendar" yaml:"calendar"`
	QuietHours *QuietHours     `json:"quiet_hours,omitempty" yaml:"quiet_hours,omitempty"`
}

// Rule is one schedule entry (config: rules[]).
type Rule struct {
	Name      string         `json:"name" yaml:"name"`
	Between   []string       `json:"between,omitempty" yaml:"between,omitempty,flow"`
	At        string         `json:"at,omitempty" yaml:"at,omitempty"`
	Cron      string         `json:"cron,omitempty" yaml:"cron,omitempty"`
	Days      []string       `json:"days,omitempty" yaml:"days,omitempty,flow"`
	Only      []string       `json:"only,omitempty" yaml:"only,omitempty,flow"`
	Except    []string       `json:"except,omitempty" yaml:"except,omitempty,flow"`
	Set       Assignments    `json:"set,omitempty" yaml:"set,omitempty"`
	Otherwise Assignments    `json:"otherwise,omitempty" yaml:"otherwise,omitempty"`
	Broadcast *BroadcastPlan `json:"broadcast,omitempty" yaml:"broadcast,omitempty"`
	Flag      *FlagPlan      `json:"flag,omitempty" yaml:"flag,omitempty"`
	Grace     string         `json:"grace,omitempty" yaml:"grace,omitempty"`
	When      []Condition    `json:"when,omitempty" yaml:"when,omitempty"`
}

// BroadcastPlan is a scheduled announcement: a clip or a text.
type BroadcastPlan struct {
	Device string `json:"device" yaml:"device"`
	Clip   string `json:"clip,omitempty" yaml:"clip,omitempty"`
	Text   string `json:"text,omitempty" yaml:"text,omitempty"`
	Zones  []int  `json:"zones,omitempty" yaml:"zones,omitempty,flow"`
	Volume *int   `json:"volume,omitempty" yaml:"volume,omitempty"`
}

// FlagPlan is a scheduled flag movement.
type FlagPlan struct {
	Device string `json:"device" yaml:"device"`
	Action string `json:"action" yaml:"action"`
}

// Condition is a rule's when: entry.
type Condition struct {
	Point string `json:"point" yaml:"point"`
	Is    Scalar `json:"is" yaml:"is"`
	For   string `json:"for,omitempty" yaml:"for,omitempty"`
}

// CalendarEntry tags a date, a yearly date or a range.
type CalendarEntry struct {
	Date   string   `json:"date,omitempty" yaml:"date,omitempty"`
	Yearly string   `json:"yearly,omitempty" yaml:"yearly,omitempty"`
	From   string   `json:"from,omitempty" yaml:"from,omitempty"`
	To     string   `json:"to,omitempty" yaml:"to,omitempty"`
	Tags   []string `json:"tags" yaml:"tags,flow"`
	Note   string   `json:"note,omitempty" yaml:"note,omitempty"`
}

// QuietHours is when scheduled broadcasts do not play.
type QuietHours struct {
	Between []string `json:"between" yaml:"between,flow"`
	Days    []string `json:"days,omitempty" yaml:"days,omitempty,flow"`
	Only    []string `json:"only,omitempty" yaml:"only,omitempty,flow"`
	Except  []string `json:"except,omitempty" yaml:"except,omitempty,flow"`
}

// Scalar is a JSON boolean, number or string.
type Scalar struct{ v any }

// UnmarshalJSON accepts a boolean, a number or a string.
func (s *Scalar) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v.(type) {
	case bool, float64, string:
		s.v = v
		return nil
	}
	return fmt.Errorf("a value must be true, false, a number or a string, not %s", b)
}

// MarshalJSON writes the scalar.
func (s Scalar) MarshalJSON() ([]byte, error) { return json.Marshal(s.v) }

// MarshalYAML writes the scalar, a string always as a string.
func (s Scalar) MarshalYAML() (any, error) { return scalarNode(s.v), nil }

func scalarNode(v any) *yaml.Node {
	switch x := v.(type) {
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(x, 'g', -1, 64)}
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// Assignment is one device.point: value of a rule.
type Assignment struct {
	Point string
	Value Scalar
}

// Assignments are a rule's set: or otherwise:, in written order; a JSON
// object {"sign.power": true}.
type Assignments []Assignment

// UnmarshalJSON reads an object, keeping its order.
func (as *Assignments) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("set must be an object of device.point to value")
	}
	*as = Assignments{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var v Scalar
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		*as = append(*as, Assignment{Point: key, Value: v})
	}
	_, err = dec.Token()
	return err
}

// MarshalJSON writes an object in order.
func (as Assignments) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, a := range as {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(a.Point)
		v, err := json.Marshal(a.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MarshalYAML writes a flow mapping in order.
func (as Assignments) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for _, a := range as {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: a.Point}, scalarNode(a.Value.v))
	}
	return n, nil
}

// YAML renders s as the content of a schedules file.
func (s Schedules) YAML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Schedules edited on the facility manager's page. They replace the\n# rules, calendar and quiet_hours of the center file; see docs/CONFIG.md.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("render schedules: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render schedules: %w", err)
	}
	return b.Bytes(), nil
}

func scalarOf(v drivers.Value) Scalar { return Scalar{v: jsonValue(v)} }

func assignmentsOf(in []config.Setting) Assignments {
	var out Assignments
	for _, s := range in {
		out = append(out, Assignment{Point: s.Point.String(), Value: scalarOf(s.Value)})
	}
	return out
}

func dayNames(ds []time.Weekday) []string {
	var out []string
	for _, d := range ds {
		out = append(out, strings.ToLower(d.String()[:3]))
	}
	return out
}

// durationText writes 5m rather than 5m0s.
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// SchedulesOf returns the schedules of a validated config.
func SchedulesOf(cfg *config.Config) Schedules {
	s := Schedules{Rules: []Rule{}, Calendar: []CalendarEntry{}}
	for _, r := range cfg.Rules {
		rj := Rule{Name: r.Name, At: r.At, Cron: r.Cron, Days: dayNames(r.Days), Only: r.Only, Except: r.Except,
			Set: assignmentsOf(r.Set), Otherwise: assignmentsOf(r.Otherwise)}
		if r.Between[0] != "" {
			rj.Between = []string{r.Between[0], r.Between[1]}
		}
		if r.At != "" || r.Cron != "" {
			rj.Grace = durationText(r.Grace)
		}
		if b := r.Broadcast; b != nil {
			rj.Broadcast = &BroadcastPlan{Device: b.Device, Clip: b.Clip, Text: b.Text, Zones: b.Zones, Volume: ptr(b.Volume)}
		}
		if f := r.Flag; f != nil {
			rj.Flag = &FlagPlan{Device: f.Device, Action: f.Action}
		}
		for _, c := range r.When {
			cj := Condition{Point: c.Point.String(), Is: scalarOf(c.Value)}
			if c.For > 0 {
				cj.For = durationText(c.For)
			}
			rj.When = append(rj.When, cj)
		}
		s.Rules = append(s.Rules, rj)
	}
	for _, e := range cfg.Calendar {
		ce := CalendarEntry{Tags: e.Tags, Note: e.Note}
		switch {
		case e.Yearly:
			ce.Yearly = e.From.Format("01-02")
		case e.From.Equal(e.To):
			ce.Date = e.From.Format(time.DateOnly)
		default:
			ce.From, ce.To = e.From.Format(time.DateOnly), e.To.Format(time.DateOnly)
		}
		s.Calendar = append(s.Calendar, ce)
	}
	if q := cfg.QuietHours; q != nil {
		s.QuietHours = &QuietHours{Between: []string{q.Between[0], q.Between[1]}, Days: dayNames(q.Days), Only: q.Only, Except: q.Except}
	}
	return s
}
