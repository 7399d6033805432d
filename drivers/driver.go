// Package drivers defines the small contract between the gateway and the
// protocol packages below it (drivers/modbus, drivers/mqtt, drivers/memory):
// read a set of points, write one point, and, for push protocols, an
// optional subscription. A driver serves one configured connection and knows
// the wire address of every point on it; the gateway names points only by
// device and point name.
package drivers

import (
	"context"
	"time"
)

// PointRef names one point of one device, as in the center config.
type PointRef struct {
	Device string
	Point  string
}

// String returns "device.point", the form used in logs, the CLI and errors.
func (r PointRef) String() string { return r.Device + "." + r.Point }

// Sample is one reading of one point. Err is set, and Value is empty, when
// the point could not be read; a failed point never fails its neighbours.
type Sample struct {
	Ref   PointRef
	Value Value
	Time  time.Time
	Err   error
}

// Driver reads and writes the points of one connection.
//
// Read returns one Sample per requested ref, in the same order. A device that
// does not answer yields Samples with Err set, not an error from Read; Read
// returns an error only when ctx ends or the request itself is invalid (for
// example an unknown ref).
//
// Write sets one point and returns when the device acknowledged it or failed.
// It does not read the value back: the caller verifies with Read.
//
// Close releases the connection; it is safe to call more than once.
type Driver interface {
	Read(ctx context.Context, refs []PointRef) ([]Sample, error)
	Write(ctx context.Context, ref PointRef, v Value) error
	Close() error
}

// Subscriber is implemented by drivers of push protocols (MQTT): deliver is
// called for every value a device publishes, until ctx ends. Callers detect
// it with a type assertion on a Driver.
type Subscriber interface {
	Subscribe(ctx context.Context, deliver func(Sample)) error
}
