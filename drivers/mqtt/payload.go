package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

// Errors of payload decoding, wrapped with the field and topic.
var (
	// ErrWrongType: the field holds a JSON value the point's type cannot
	// take, such as an object for a number point.
	ErrWrongType = errors.New("wrong JSON type for the point")
	// ErrNull: the field is JSON null.
	ErrNull = errors.New("field is null")
)

// Message is one decoded JSON message of a device.
type Message struct {
	root any
}

// ParseMessage decodes a device's JSON payload. Numbers keep their text
// (json.Number) so that integers convert exactly. A payload holding more
// than one JSON value, or none, is an error.
func ParseMessage(payload []byte) (Message, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Message{}, fmt.Errorf("decode JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Message{}, errors.New("decode JSON: data after the first value")
	}
	return Message{root: v}, nil
}

// Field returns the JSON value at a dotted path such as "state.count"; a
// segment that is a number indexes an array ("zones.0"). found is false when
// some segment is absent: devices may publish partial updates.
func (m Message) Field(path string) (v any, found bool) {
	v = m.root
	for seg := range strings.SplitSeq(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			if v, found = node[seg]; !found {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// Convert turns the JSON value of a field into the point's value: a bool
// point takes true/false, numbers (non-zero is true) and the strings
// ON/OFF, true/false, 1/0 in any case; a number point takes numbers, bools
// (0/1) and numeric strings, then applies scale and offset; a string point
// takes strings, and the JSON text of anything else.
func Convert(raw any, p *config.Point) (drivers.Value, error) {
	if raw == nil {
		return drivers.Value{}, ErrNull
	}
	switch p.Type.ValueKind() {
	case drivers.KindBool:
		switch x := raw.(type) {
		case bool:
			return drivers.Bool(x), nil
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return drivers.Value{}, fmt.Errorf("%w: %s is not a number", ErrWrongType, x)
			}
			return drivers.Bool(f != 0), nil
		case string:
			switch strings.ToLower(x) {
			case "on", "true", "1":
				return drivers.Bool(true), nil
			case "off", "false", "0":
				return drivers.Bool(false), nil
			}
			return drivers.Value{}, fmt.Errorf("%w: %q is not ON/OFF or true/false", ErrWrongType, x)
		}
	case drivers.KindNumber:
		var f float64
		switch x := raw.(type) {
		case bool:
			if x {
				f = 1
			}
		case json.Number:
			var err error
			if f, err = x.Float64(); err != nil {
				return drivers.Value{}, fmt.Errorf("%w: %s is out of range", ErrWrongType, x)
			}
		case string:
			var err error
			if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
				return drivers.Value{}, fmt.Errorf("%w: %q is not a number", ErrWrongType, x)
			}
		default:
			return drivers.Value{}, fmt.Errorf("%w: %s for a number", ErrWrongType, jsonKind(raw))
		}
		f = f*scale(p) + p.Offset
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return drivers.Value{}, fmt.Errorf("%w: %v is not a finite number", ErrWrongType, f)
		}
		return drivers.Number(f), nil
	case drivers.KindString:
		if s, ok := raw.(string); ok {
			return drivers.String(s), nil
		}
		b, err := json.Marshal(raw)
		if err != nil {
			return drivers.Value{}, fmt.Errorf("%w: %v", ErrWrongType, err)
		}
		return drivers.String(string(b)), nil
	}
	return drivers.Value{}, fmt.Errorf("%w: %s for a %s", ErrWrongType, jsonKind(raw), p.Type)
}

func scale(p *config.Point) float64 {
	if p.Scale == 0 {
		return 1
	}
	return p.Scale
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// ErrBadCommand is wrapped by the errors of CommandPayload.
var ErrBadCommand = errors.New("cannot build the command")

// CommandPayload builds the JSON command that writes v to p: the point's
// command template with {{value}} (the JSON encoding of v, after the
// inverse of scale and offset) or {{json}} (a string value that is itself
// JSON) filled in; without a template, {"FIELD": value} nested along the
// point's field path ("state.power" gives {"state":{"power":true}}).
func CommandPayload(p *config.Point, v drivers.Value) ([]byte, error) {
	enc, err := encodeValue(p, v)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch tmpl := p.Command; {
	case tmpl == "":
		out = nestField(p.Field, enc)
	default:
		s := strings.ReplaceAll(tmpl, config.CommandValue, string(enc))
		if strings.Contains(s, config.CommandJSON) {
			text, ok := v.AsString()
			if !ok || !json.Valid([]byte(text)) {
				return nil, fmt.Errorf("%w: %s needs a value that is JSON, not %#v", ErrBadCommand, config.CommandJSON, v)
			}
			s = strings.ReplaceAll(s, config.CommandJSON, text)
		}
		out = []byte(s)
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("%w: %s is not JSON", ErrBadCommand, out)
	}
	return out, nil
}

// encodeValue is the JSON of v as p's type takes it on the wire.
func encodeValue(p *config.Point, v drivers.Value) ([]byte, error) {
	switch p.Type.ValueKind() {
	case drivers.KindBool:
		b, ok := v.AsBool()
		if !ok {
			return nil, fmt.Errorf("%w: %#v is not a bool", ErrBadCommand, v)
		}
		return strconv.AppendBool(nil, b), nil
	case drivers.KindNumber:
		f, ok := v.AsNumber()
		if !ok {
			return nil, fmt.Errorf("%w: %#v is not a number", ErrBadCommand, v)
		}
		raw := (f - p.Offset) / scale(p)
		if math.IsNaN(raw) || math.IsInf(raw, 0) {
			return nil, fmt.Errorf("%w: %v is not a finite number", ErrBadCommand, raw)
		}
		return strconv.AppendFloat(nil, raw, 'g', -1, 64), nil
	case drivers.KindString:
		s, ok := v.AsString()
		if !ok {
			return nil, fmt.Errorf("%w: %#v is not a string", ErrBadCommand, v)
		}
		return json.Marshal(s)
	}
	return nil, fmt.Errorf("%w: point type %s", ErrBadCommand, p.Type)
}

// nestField wraps enc in one object per segment of path.
func nestField(path string, enc []byte) []byte {
	segs := strings.Split(path, ".")
	var b bytes.Buffer
	for _, s := range segs {
		k, _ := json.Marshal(s)
		b.WriteByte('{')
		b.Write(k)
		b.WriteByte(':')
	}
	b.Write(enc)
	b.Write(bytes.Repeat([]byte{'}'}, len(segs)))
	return b.Bytes()
}

// availability reads an availability message: "online" / "offline" in any
// case, or Zigbee2MQTT's {"state":"online"}. ok is false for anything else.
func availability(payload []byte) (online, ok bool) {
	s := strings.TrimSpace(string(payload))
	if strings.HasPrefix(s, "{") {
		var m struct {
			State string `json:"state"`
		}
		if json.Unmarshal(payload, &m) != nil {
			return false, false
		}
		s = m.State
	}
	switch strings.ToLower(s) {
	case "online", "true", "1":
		return true, true
	case "offline", "false", "0":
		return false, true
	}
	return false, false
}

// sortedTopics returns the keys of m in order, for stable subscriptions.
func sortedTopics[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
