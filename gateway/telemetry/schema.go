package telemetry

import (
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/reconcile"
)

// The measurements (see ../../../shared/DESIGN.md, Telemetry). Every point
// also has the tags county, center and device.
const (
	MeasPoint     = "point"      // tag point; fields value, quality
	MeasSign      = "sign"       // fields lit, current, commanded, quality
	MeasFlag      = "flag"       // one field per flagpole point (position, state, …), quality
	MeasOccupancy = "occupancy"  // tag room; one field per sensor point (occupied, count, …), quality
	MeasBroadcast = "broadcast"  // fields clip, source, duration_s, outcome
	MeasActuation = "actuation"  // tags point, slot; fields author, value, readback, result, error
	MeasGateway   = "gateway"    // device "gateway"; fields uptime_s, outbox_depth, outbox_bytes, devices_online, dropped, rejected
	MeasSignNight = "sign_night" // fields required_min, lit_min, dark_min, unknown_min, compliance, window_end
)

// GatewayDevice is the device tag of points about the gateway itself.
const GatewayDevice = "gateway"

// valueField returns the field for a driver value, or false for none.
//
// InfluxDB keeps one type per field of a measurement (a shard refuses a
// bool "value" once it holds a float one), so the field's name carries the
// kind: key for numbers, key_bool for booleans, key_str for strings.
func valueField(key string, v drivers.Value) (Field, bool) {
	switch v.Kind() {
	case drivers.KindBool:
		b, _ := v.AsBool()
		return Field{key + "_bool", b}, true
	case drivers.KindNumber:
		f, _ := v.AsNumber()
		return Field{key, f}, true
	case drivers.KindString:
		s, _ := v.AsString()
		return Field{key + "_str", s}, true
	}
	return Field{}, false
}

// PointSample is a `point` sample from a store change: the new value (none
// when the read failed) and its quality, at the sample's own time. It
// returns false for a change that is not a new sample (a staleness sweep
// keeps the sample's time; staleness shows in InfluxDB as the absence of
// samples).
func PointSample(src Source, ch points.Change) (Point, bool) {
	n := ch.New
	if n.Time.IsZero() || n.Time.Equal(ch.Old.Time) && n.Quality == points.Stale {
		return Point{}, false
	}
	src.Device = n.Ref.Device
	p := Point{Measurement: MeasPoint, Source: src, Tags: []Tag{{"point", n.Ref.Point}}, Time: n.Time}
	if f, ok := valueField("value", n.Value); ok && n.Quality == points.Good {
		p.Fields = append(p.Fields, f)
	}
	p.Fields = append(p.Fields, Field{"quality", n.Quality.String()})
	return p, true
}

// Heartbeat is the gateway's own state, written every telemetry.heartbeat.
type Heartbeat struct {
	Time          time.Time
	Uptime        time.Duration
	OutboxDepth   uint64 // points waiting to be sent
	OutboxBytes   uint64
	DevicesOnline int // devices with at least one good point
	Dropped       uint64
	Rejected      uint64
}

// Point returns the `gateway` point of a heartbeat.
func (h Heartbeat) Point(src Source) Point {
	src.Device = GatewayDevice
	return Point{Measurement: MeasGateway, Source: src, Time: h.Time, Fields: []Field{
		{"uptime_s", h.Uptime.Seconds()},
		{"outbox_depth", h.OutboxDepth},
		{"outbox_bytes", h.OutboxBytes},
		{"devices_online", int64(h.DevicesOnline)},
		{"dropped", h.Dropped},
		{"rejected", h.Rejected},
	}}
}

// Actuation is the `actuation` audit point of one write to a device.
func Actuation(src Source, ev reconcile.AuditEvent) Point {
	src.Device = ev.Ref.Device
	p := Point{Measurement: MeasActuation, Source: src, Time: ev.Time,
		Tags:   []Tag{{"point", ev.Ref.Point}, {"slot", ev.Slot.String()}},
		Fields: []Field{{"author", ev.Author}, {"result", ev.Result.String()}}}
	if f, ok := valueField("value", ev.Value); ok {
		p.Fields = append(p.Fields, f)
	}
	if f, ok := valueField("readback", ev.Readback); ok {
		p.Fields = append(p.Fields, f)
	}
	if ev.Err != nil {
		p.Fields = append(p.Fields, Field{"error", ev.Err.Error()})
	}
	return p
}

// SignState is one measurement of a sign.
type SignState struct {
	Device      string
	Time        time.Time
	Quality     points.Quality // Good: CurrentAmps and Lit are measured; otherwise unknown
	CurrentAmps float64
	Lit         bool  // current ≥ lit fraction × nominal current
	Commanded   *bool // the power command in force, when known
}

// Point returns the `sign` point of a measurement.
func (s SignState) Point(src Source) Point {
	src.Device = s.Device
	p := Point{Measurement: MeasSign, Source: src, Time: s.Time}
	if s.Quality == points.Good {
		p.Fields = append(p.Fields, Field{"lit", s.Lit}, Field{"current", s.CurrentAmps})
	}
	if s.Commanded != nil {
		p.Fields = append(p.Fields, Field{"commanded", *s.Commanded})
	}
	p.Fields = append(p.Fields, Field{"quality", s.Quality.String()})
	return p
}

// DeviceState is the `flag` or `occupancy` point of a device: one field
// per point of the device that is good, named after the point.
func DeviceState(src Source, measurement string, device string, t time.Time, tags []Tag, pts []points.Point) Point {
	src.Device = device
	p := Point{Measurement: measurement, Source: src, Time: t, Tags: tags}
	bad := 0
	for _, pt := range pts {
		if pt.Quality != points.Good {
			bad++
			continue
		}
		if f, ok := valueField(pt.Ref.Point, pt.Value); ok {
			p.Fields = append(p.Fields, f)
		}
	}
	q := points.Good
	if bad > 0 {
		q = points.Bad
	}
	p.Fields = append(p.Fields, Field{"quality", q.String()})
	return p
}

// BroadcastRecord is one broadcast: what was played, from where, for how
// long and how it ended.
type BroadcastRecord struct {
	Device   string // the PA
	Start    time.Time
	Clip     string
	Source   string // rule name, "user:NAME", "emergency"
	Duration time.Duration
	Outcome  string // "played", "pre-empted", "failed: …", "missed"
}

// Point returns the `broadcast` point of a record, stamped at its start.
func (b BroadcastRecord) Point(src Source) Point {
	src.Device = b.Device
	return Point{Measurement: MeasBroadcast, Source: src, Time: b.Start, Fields: []Field{
		{"clip", b.Clip}, {"source", b.Source}, {"duration_s", b.Duration.Seconds()}, {"outcome", b.Outcome},
	}}
}
