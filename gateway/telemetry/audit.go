package telemetry

import "time"

// MeasAudit is the `audit` measurement: one point per action a person took
// through the API (an override, a raw write, a schedule edit, a
// broadcast). Tags action; fields user, role, target, before, after,
// result. Device writes themselves are `actuation` points.
const MeasAudit = "audit"

// UserAction is one audited action of a person.
type UserAction struct {
	Time   time.Time
	User   string // token name
	Role   string
	Action string // override, override-clear, point-write, schedules, broadcast, emergency, broadcast-stop
	Target string // device.point, a device, or "schedules"
	Before string
	After  string
	Result string
}

// Point returns the `audit` point of a, under the device "gateway".
func (a UserAction) Point(src Source) Point {
	src.Device = "gateway"
	return Point{Measurement: MeasAudit, Source: src, Time: a.Time,
		Tags: []Tag{{"action", a.Action}},
		Fields: []Field{{"user", a.User}, {"role", a.Role}, {"target", a.Target}, {"before", a.Before},
			{"after", a.After}, {"result", a.Result}}}
}

// UserAction records a person's action as an `audit` point.
func (s *Sink) UserAction(a UserAction) error { return s.rec.Record(a.Point(Source{})) }
