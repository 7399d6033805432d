// Package telemetry records what a center measures and does, and delivers
// it to the central InfluxDB without losing it.
//
// Every sample and event becomes a Point in InfluxDB line protocol, is
// appended to a disk Outbox first (bbolt, group commit with fsync), and is
// sent from there in recording order by a Forwarder, which deletes only what
// InfluxDB acknowledged with a 2xx. A Point's timestamp is the sample's own
// time, so a batch sent twice (the gateway died between InfluxDB's 2xx and
// the delete) overwrites itself in InfluxDB and is never counted twice. The
// outbox is bounded: when full, the oldest points go first and their number
// is kept durably and reported in the heartbeat.
//
// The schema (measurements and fields) lives in schema.go; the nightly sign
// compliance summary in night.go; Sink wires it all to a running gateway.
package telemetry

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The tags every point carries.
const (
	TagCounty = "county"
	TagCenter = "center"
	TagDevice = "device"
)

// Source identifies the gateway and device a point is about; its three
// values become the tags county, center and device.
type Source struct {
	County, Center, Device string
	// Simulated marks data from a dry run or the demo (a simulated clock):
	// every point gets the tag simulated=true, so that it can never be
	// taken for real uptime.
	Simulated bool
}

// TagSimulated is the tag of points recorded on a simulated clock.
const TagSimulated = "simulated"

// Tag is one tag key and value.
type Tag struct{ Key, Value string }

// Field is one field of a point. Value must be float64, int64, bool or
// string (ints and uints of other sizes are converted on encoding).
type Field struct {
	Key   string
	Value any
}

// Point is one line of InfluxDB line protocol: a measurement with tags,
// fields and a timestamp in nanoseconds.
type Point struct {
	Measurement string
	Source      Source
	Tags        []Tag // beyond county, center and device
	Fields      []Field
	// Time is the sample's own time. It is written with nanosecond
	// precision (UnixNano; monotonic readings and the location are
	// dropped), so encoding the same sample twice gives the same line.
	Time time.Time
}

// AppendLine appends p as one line of line protocol, without a newline.
// Tags are sorted by key (InfluxDB's own order, and a deterministic line);
// empty tag values are left out, as line protocol cannot carry them. Fields
// keep their order; a point needs at least one field, and NaN or infinite
// floats are left out (InfluxDB rejects them).
func (p Point) AppendLine(b []byte) ([]byte, error) {
	if p.Measurement == "" {
		return b, fmt.Errorf("encode point: no measurement")
	}
	start := len(b)
	b = appendEscaped(b, p.Measurement, ", ")
	tags := make([]Tag, 0, 3+len(p.Tags))
	tags = append(tags, Tag{TagCenter, p.Source.Center}, Tag{TagCounty, p.Source.County}, Tag{TagDevice, p.Source.Device})
	tags = append(tags, p.Tags...)
	if p.Source.Simulated {
		tags = append(tags, Tag{TagSimulated, "true"})
	}
	sort.SliceStable(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	for _, t := range tags {
		if t.Value == "" || t.Key == "" {
			continue
		}
		b = append(b, ',')
		b = appendEscaped(b, t.Key, ",= ")
		b = append(b, '=')
		b = appendEscaped(b, t.Value, ",= ")
	}
	n := 0
	for _, f := range p.Fields {
		var ok bool
		sep := byte(',')
		if n == 0 {
			sep = ' '
		}
		mark := len(b)
		b = append(b, sep)
		b = appendEscaped(b, f.Key, ",= ")
		b = append(b, '=')
		b, ok = appendFieldValue(b, f.Value)
		if !ok {
			b = b[:mark]
			continue
		}
		n++
	}
	if n == 0 {
		return b[:start], fmt.Errorf("encode point %s: no field with a value", p.Measurement)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, p.Time.UnixNano(), 10)
	return b, nil
}

// Line returns p as one line of line protocol.
func (p Point) Line() (string, error) {
	b, err := p.AppendLine(nil)
	return string(b), err
}

func appendFieldValue(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return b, false
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64), true
	case float32:
		return appendFieldValue(b, float64(v))
	case int:
		return append(strconv.AppendInt(b, int64(v), 10), 'i'), true
	case int64:
		return append(strconv.AppendInt(b, v, 10), 'i'), true
	case int32:
		return append(strconv.AppendInt(b, int64(v), 10), 'i'), true
	case uint64:
		if v > math.MaxInt64 {
			return appendFieldValue(b, float64(v))
		}
		return append(strconv.AppendInt(b, int64(v), 10), 'i'), true
	case uint32:
		return append(strconv.AppendInt(b, int64(v), 10), 'i'), true
	case bool:
		return strconv.AppendBool(b, v), true
	case string:
		b = append(b, '"')
		for i := 0; i < len(v); i++ {
			if c := v[i]; c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, v[i])
		}
		return append(b, '"'), true
	case time.Duration:
		return append(strconv.AppendInt(b, int64(v), 10), 'i'), true
	}
	return b, false
}

// appendEscaped escapes the characters line protocol requires for a
// measurement (comma, space) or a tag key, tag value or field key (comma,
// equals sign, space); newlines, which no escape can carry, become spaces
// (escaped).
func appendEscaped(b []byte, s, special string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\n' || c == '\r' {
			c = ' '
		}
		if strings.IndexByte(special, c) >= 0 || c == '\\' && i == len(s)-1 {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return b
}
