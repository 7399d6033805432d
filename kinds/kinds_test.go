package kinds

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/priority"
)

// board is a point store and priority table in one, for unit tests of
// kinds: Get returns what the test put, Command records what the kind
// asked for.
type board struct {
	values   map[drivers.PointRef]points.Point
	commands map[drivers.PointRef]drivers.Value
	log      []string
}

func newBoard() *board {
	return &board{values: map[drivers.PointRef]points.Point{}, commands: map[drivers.PointRef]drivers.Value{}}
}

func (b *board) put(device, point string, v drivers.Value) {
	ref := drivers.PointRef{Device: device, Point: point}
	b.values[ref] = points.Point{Ref: ref, Value: v, Quality: points.Good}
}

func (b *board) Get(ref drivers.PointRef) (points.Point, bool) { p, ok := b.values[ref]; return p, ok }

func (b *board) Command(ref drivers.PointRef, slot priority.Slot, v drivers.Value, author string) error {
	b.commands[ref] = v
	b.log = append(b.log, fmt.Sprintf("%s=%s", ref, v))
	return nil
}

func (b *board) Release(ref drivers.PointRef, slot priority.Slot) { delete(b.commands, ref) }

func (b *board) Effective(ref drivers.PointRef) (drivers.Value, priority.Slot, bool) {
	v, ok := b.commands[ref]
	return v, priority.Schedule, ok
}

func signDevice() *config.Device {
	return &config.Device{Name: "sign", Kind: config.KindSign, Sign: &config.SignSettings{NominalCurrent: 2.4, LitFraction: 0.7},
		Points: []*config.Point{{Device: "sign", Name: "power", Access: config.Write, Type: config.TypeBool}, {Device: "sign", Name: "current"},
			{Device: "sign", Name: "fault", Type: config.TypeBool}}}
}

func TestSignStates(t *testing.T) {
	tests := []struct {
		name      string
		commanded *bool
		power     *bool
		amps      *float64
		want      SignState
	}{
		{"fully lit", ptr(true), ptr(true), ptr(2.4), SignLit},
		{"just lit at 70%", ptr(true), ptr(true), ptr(0.7 * 2.4), SignLit},
		{"partly dark at 60%", ptr(true), ptr(true), ptr(0.6 * 2.4), SignPartlyDark},
		{"dark", ptr(true), ptr(true), ptr(0.05), SignDark},
		{"off by day", ptr(false), ptr(false), ptr(0.0), SignDark},
		{"no current reading", ptr(true), ptr(true), nil, SignUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBoard()
			if tt.commanded != nil {
				b.commands[drivers.PointRef{Device: "sign", Point: "power"}] = drivers.Bool(*tt.commanded)
			}
			if tt.power != nil {
				b.put("sign", "power", drivers.Bool(*tt.power))
			}
			if tt.amps != nil {
				b.put("sign", "current", drivers.Number(*tt.amps))
			}
			s := NewSign(signDevice(), b, b, NewAlarms(nil))
			if got := s.Evaluate(time.Unix(0, 0)); got.State != tt.want {
				t.Errorf("state = %s, want %s (%s)", got.State, tt.want, got)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestSignAlarmsNeedToLast(t *testing.T) {
	tests := []struct {
		name               string
		commanded, powerOn bool
		amps               float64
		alarm              string
	}{
		{"partly dark strip", true, true, 0.6 * 2.4, AlarmPartlyDark},
		{"dark while on", true, true, 0, AlarmDarkWhileOn},
		{"relay stuck closed", false, false, 2.4, AlarmLitWhileOff},
		{"relay does not follow", true, false, 0, AlarmRelayNotFollow},
		{"driver reports a fault", true, true, 2.4, AlarmDriverFault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBoard()
			b.commands[drivers.PointRef{Device: "sign", Point: "power"}] = drivers.Bool(tt.commanded)
			b.put("sign", "power", drivers.Bool(tt.powerOn))
			b.put("sign", "current", drivers.Number(tt.amps))
			b.put("sign", "fault", drivers.Bool(tt.alarm == AlarmDriverFault))
			alarms := NewAlarms(nil)
			s := NewSign(signDevice(), b, b, alarms)
			t0 := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
			s.Evaluate(t0)
			s.Evaluate(t0.Add(SignAlarmAfter - time.Second))
			if alarms.Active("sign", tt.alarm) {
				t.Fatalf("%s raised before the condition lasted %v", tt.alarm, SignAlarmAfter)
			}
			s.Evaluate(t0.Add(SignAlarmAfter))
			if !alarms.Active("sign", tt.alarm) {
				t.Fatalf("%s not raised after %v; active: %+v", tt.alarm, SignAlarmAfter, alarms.List())
			}
			// The fault is repaired: the sign complies.
			b.put("sign", "power", drivers.Bool(tt.commanded))
			amps := 0.0
			if tt.commanded {
				amps = 2.4
			}
			b.put("sign", "current", drivers.Number(amps))
			b.put("sign", "fault", drivers.Bool(false))
			s.Evaluate(t0.Add(SignAlarmAfter + time.Second))
			if got := alarms.List(); len(got) != 0 {
				t.Fatalf("alarms after repair: %+v", got)
			}
		})
	}
}

func TestFlagEtiquettePlan(t *testing.T) {
	tests := []struct {
		name string
		pos  float64
		act  FlagAction
		want []string
	}{
		{"raise from the bottom", 0, FlagRaise, []string{"to the top"}},
		{"raise when up", 100, FlagRaise, nil},
		{"half-mast from the bottom goes to the top first", 0, FlagHalf, []string{"to the top", "down to half-mast"}},
		{"half-mast from the top", 100, FlagHalf, []string{"down to half-mast"}},
		{"half-mast when at half", 50.5, FlagHalf, nil},
		{"lower from half-mast goes to the top first", 50, FlagLower, []string{"to the top", "to the bottom"}},
		{"lower from the top", 100, FlagLower, []string{"to the bottom"}},
		{"lower when down", 1, FlagLower, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range Plan(tt.pos, tt.act) {
				got = append(got, s.name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Plan(%v, %s) = %q, want %q", tt.pos, tt.act, got, tt.want)
			}
		})
	}
}

func TestOccupancyHoldOffAndMinutes(t *testing.T) {
	dev := &config.Device{Name: "hall", Kind: config.KindOccupancy, Occupancy: &config.OccupancySettings{Room: "Hall", HoldOff: 5 * time.Minute},
		Points: []*config.Point{{Device: "hall", Name: "occupied"}}}
	b := newBoard()
	o := NewOccupancy(dev, b)
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		at       time.Duration
		raw      bool
		occupied bool
		minutes  float64
	}{
		{0, true, true, 0},
		{10 * time.Minute, true, true, 10},
		{11 * time.Minute, false, true, 11},  // empty, but within the hold-off
		{12 * time.Minute, true, true, 12},   // flicker: back before the hold-off ended
		{13 * time.Minute, false, true, 13},  // empty again
		{18 * time.Minute, false, false, 18}, // hold-off of 5 min passed
		{30 * time.Minute, false, false, 18}, // no time accrues while empty
		{31 * time.Minute, true, true, 18},   // occupied at once
		{31*time.Minute + 30*time.Second, true, true, 18.5},
	}
	for _, s := range steps {
		b.put("hall", "occupied", drivers.Bool(s.raw))
		got := o.Evaluate(t0.Add(s.at))
		if got.Occupied != s.occupied || got.OccupiedMinutes != s.minutes {
			t.Fatalf("at +%v: occupied=%v minutes=%v, want %v %v", s.at, got.Occupied, got.OccupiedMinutes, s.occupied, s.minutes)
		}
	}
}
