package north

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beacon-edge/beacon/drivers"
)

// Limits of a command.
const (
	// DefaultExpiry is how long a command without "expires" holds: an
	// override always ends, and the schedule takes over again.
	DefaultExpiry = time.Hour
	// MaxExpiry is the longest "expires" a command may ask for.
	MaxExpiry = 7 * 24 * time.Hour
	// maxCommandBytes bounds a command payload.
	maxCommandBytes = 4096
	maxByRunes      = 64
	maxIDRunes      = 128
)

// ErrBadCommand is wrapped by every error of ParseCommand.
var ErrBadCommand = errors.New("bad command")

// Command is a parsed set command:
//
//	{"value": true, "expires": "30m", "by": "li.wei", "id": "c-1842"}
//
// value is required; null relinquishes the manual slot (hands the point back
// to the schedule). expires is a Go duration ("30m", "2h"), default
// DefaultExpiry, at most MaxExpiry. by names the person or system, default
// "anonymous". id, a string or a number, makes a repeated delivery of the
// same command a no-op (see the package doc).
type Command struct {
	Value      drivers.Value // zero when Relinquish
	Relinquish bool
	Expires    time.Duration
	By         string
	ID         string
}

type rawCommand struct {
	Value   json.RawMessage  `json:"value"` // "null" when null, empty when absent
	Expires *string          `json:"expires"`
	By      *string          `json:"by"`
	ID      *json.RawMessage `json:"id"`
}

// ParseCommand reads a set command for a point whose values are of kind.
// A bool point takes true/false or "ON"/"OFF" (any case, as Home Assistant
// sends them); a number point a finite JSON number; a string point a JSON
// string. Unknown fields are refused, so that a typo ("expire") is not
// silently ignored.
func ParseCommand(payload []byte, kind drivers.Kind) (Command, error) {
	if len(payload) > maxCommandBytes {
		return Command{}, fmt.Errorf("%w: %d bytes is more than %d", ErrBadCommand, len(payload), maxCommandBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var rc rawCommand
	if err := dec.Decode(&rc); err != nil {
		return Command{}, fmt.Errorf(`%w: want a JSON object like {"value":true,"expires":"30m","by":"name"}: %v`, ErrBadCommand, err)
	}
	if dec.More() {
		return Command{}, fmt.Errorf("%w: data after the JSON object", ErrBadCommand)
	}
	c := Command{Expires: DefaultExpiry, By: "anonymous"}
	if len(rc.Value) == 0 {
		return Command{}, fmt.Errorf(`%w: no "value" (null hands the point back to its schedule)`, ErrBadCommand)
	}
	if string(rc.Value) == "null" {
		c.Relinquish = true
	} else {
		v, err := parseValue(rc.Value, kind)
		if err != nil {
			return Command{}, fmt.Errorf("%w: value: %v", ErrBadCommand, err)
		}
		c.Value = v
	}
	if rc.Expires != nil {
		d, err := time.ParseDuration(*rc.Expires)
		switch {
		case err != nil:
			return Command{}, fmt.Errorf(`%w: expires %q is not a duration such as "30m" or "2h"`, ErrBadCommand, *rc.Expires)
		case d <= 0:
			return Command{}, fmt.Errorf("%w: expires %s must be more than 0", ErrBadCommand, *rc.Expires)
		case d > MaxExpiry:
			return Command{}, fmt.Errorf("%w: expires %s is longer than %v", ErrBadCommand, *rc.Expires, MaxExpiry)
		}
		c.Expires = d
	}
	if rc.By != nil {
		by := strings.TrimSpace(*rc.By)
		if by == "" || utf8.RuneCountInString(by) > maxByRunes || strings.ContainsFunc(by, isControl) {
			return Command{}, fmt.Errorf("%w: by must be 1 to %d printable characters", ErrBadCommand, maxByRunes)
		}
		c.By = by
	}
	if rc.ID != nil {
		var s string
		var n json.Number
		switch {
		case json.Unmarshal(*rc.ID, &s) == nil:
		case json.Unmarshal(*rc.ID, &n) == nil:
			s = n.String()
		default:
			return Command{}, fmt.Errorf("%w: id must be a string or a number", ErrBadCommand)
		}
		if s == "" || utf8.RuneCountInString(s) > maxIDRunes {
			return Command{}, fmt.Errorf("%w: id must be 1 to %d characters", ErrBadCommand, maxIDRunes)
		}
		c.ID = s
	}
	return c, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func parseValue(raw json.RawMessage, kind drivers.Kind) (drivers.Value, error) {
	var x any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return drivers.Value{}, err
	}
	switch kind {
	case drivers.KindBool:
		switch v := x.(type) {
		case bool:
			return drivers.Bool(v), nil
		case string:
			switch strings.ToLower(v) {
			case "on", "true":
				return drivers.Bool(true), nil
			case "off", "false":
				return drivers.Bool(false), nil
			}
		}
		return drivers.Value{}, fmt.Errorf("%s is not true/false or ON/OFF", raw)
	case drivers.KindNumber:
		if n, ok := x.(json.Number); ok {
			f, err := n.Float64()
			if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return drivers.Number(f), nil
			}
		}
		return drivers.Value{}, fmt.Errorf("%s is not a finite number", raw)
	case drivers.KindString:
		if s, ok := x.(string); ok {
			return drivers.String(s), nil
		}
		return drivers.Value{}, fmt.Errorf("%s is not a string", raw)
	}
	return drivers.Value{}, fmt.Errorf("the point has no value kind")
}

// dedup remembers applied commands so that a command delivered twice is
// applied once. MQTT QoS 1 is "at least once": a broker redelivers a
// message whose acknowledgement it did not get, after a reconnect, with the
// DUP flag set (MQTT 3.1.1 §3.3.1.1); a publisher that did not get its own
// acknowledgement sends again, and the broker forwards that copy without
// DUP (§3.3.1-3).
//
//   - A command with an id is applied once per (topic, id) within the window.
//   - A command without one is a duplicate when the same payload on the same
//     topic was applied within the window and either the message carries
//     DUP, or no other command on that topic was applied since. So "open,
//     close, open" from a dashboard is three commands, and "open, open" is
//     one; to repeat a command on purpose (to extend its expiry), give it a
//     new id.
//
// Nothing is persisted: after a gateway restart the window starts empty.
// The broker's session is what redelivers, and a redelivered command that
// finds the gateway restarted is applied once there, since the restarted
// gateway holds no manual override that the copy could undo.
type dedup struct {
	window    time.Duration
	ids       map[string]time.Time // topic NUL id → applied at
	payloads  map[string]time.Time // topic NUL sha256 → applied at
	last      map[string]string    // topic → sha256 of the last command applied there
	lastPrune time.Time
}

func newDedup(window time.Duration) *dedup {
	return &dedup{window: window, ids: map[string]time.Time{}, payloads: map[string]time.Time{}, last: map[string]string{}}
}

func (d *dedup) keys(topic, id string, payload []byte) (idKey, payloadKey, sum string) {
	h := sha256.Sum256(payload)
	sum = string(h[:])
	return topic + "\x00" + id, topic + "\x00" + sum, sum
}

// duplicate reports whether a command was already applied.
func (d *dedup) duplicate(topic, id string, payload []byte, dupFlag bool, now time.Time) bool {
	idKey, payloadKey, sum := d.keys(topic, id, payload)
	within := func(m map[string]time.Time, k string) bool {
		t, ok := m[k]
		return ok && now.Sub(t) < d.window
	}
	if id != "" {
		return within(d.ids, idKey)
	}
	return within(d.payloads, payloadKey) && (dupFlag || d.last[topic] == sum)
}

// record notes a command as applied.
func (d *dedup) record(topic, id string, payload []byte, now time.Time) {
	idKey, payloadKey, sum := d.keys(topic, id, payload)
	if id != "" {
		d.ids[idKey] = now
	} else {
		d.payloads[payloadKey] = now
	}
	d.last[topic] = sum
	if now.Sub(d.lastPrune) < d.window/4 {
		return
	}
	d.lastPrune = now
	for _, m := range []map[string]time.Time{d.ids, d.payloads} {
		for k, t := range m {
			if now.Sub(t) >= d.window {
				delete(m, k)
			}
		}
	}
}
