package kinds

import (
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

// RoomStatus is one evaluation of a room's occupancy.
type RoomStatus struct {
	Device string
	Room   string
	// Occupied is the debounced state: it turns true at once and false only
	// after the sensor has said "empty" for the device's hold-off.
	Occupied bool
	// Known is false while the sensor has no good reading.
	Known bool
	// Count is the people count, when the sensor has one.
	Count      float64
	CountKnown bool
	// Since is when Occupied last changed.
	Since time.Time
	// OccupiedMinutes accumulate while Occupied, for utilisation reports.
	OccupiedMinutes float64
}

// Occupancy debounces one room sensor and accumulates the room's occupied
// time.
type Occupancy struct {
	dev       *config.Device
	occupied  drivers.PointRef
	count     drivers.PointRef
	hasCount  bool
	points    Points
	state     RoomStatus
	lastEval  time.Time
	emptySeen time.Time // when the sensor first said empty, zero while occupied
}

// NewOccupancy returns the monitor of an occupancy device.
func NewOccupancy(dev *config.Device, pts Points) *Occupancy {
	o := &Occupancy{
		dev:      dev,
		occupied: drivers.PointRef{Device: dev.Name, Point: "occupied"},
		count:    drivers.PointRef{Device: dev.Name, Point: "count"},
		hasCount: dev.Point("count") != nil,
		points:   pts,
	}
	o.state = RoomStatus{Device: dev.Name, Room: dev.Occupancy.Room}
	return o
}

// Device returns the sensor's device name.
func (o *Occupancy) Device() string { return o.dev.Name }

// Evaluate updates the room's state at now. Occupied time accrues between
// evaluations while the room is occupied; time without a good reading
// accrues nothing.
func (o *Occupancy) Evaluate(now time.Time) RoomStatus {
	raw, known := goodBool(o.points.Get(o.occupied))
	if o.state.Occupied && !o.lastEval.IsZero() && now.After(o.lastEval) {
		o.state.OccupiedMinutes += now.Sub(o.lastEval).Minutes()
	}
	o.lastEval = now
	o.state.Known = known
	if o.hasCount {
		o.state.Count, o.state.CountKnown = goodNumber(o.points.Get(o.count))
	}
	if !known {
		return o.state
	}
	switch {
	case raw:
		o.emptySeen = time.Time{}
		if !o.state.Occupied {
			o.state.Occupied, o.state.Since = true, now
		}
	case o.state.Occupied:
		if o.emptySeen.IsZero() {
			o.emptySeen = now
		}
		if now.Sub(o.emptySeen) >= o.dev.Occupancy.HoldOff {
			o.state.Occupied, o.state.Since = false, now
			o.emptySeen = time.Time{}
		}
	case o.state.Since.IsZero():
		o.state.Since = now
	}
	return o.state
}
