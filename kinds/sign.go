package kinds

import (
	"fmt"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

// SignState is what a sign is doing, judged from its measured current
// (DESIGN.md, "Trust measurements, not commands").
type SignState string

// The sign states.
const (
	SignLit        SignState = "lit"         // current ≥ lit_fraction × nominal
	SignPartlyDark SignState = "partly-dark" // some current, but below the lit threshold: part of the strip is out
	SignDark       SignState = "dark"        // (almost) no current
	SignUnknown    SignState = "unknown"     // no good current measurement
)

// darkFraction: below this fraction of nominal current the sign is dark,
// not partly dark (a driver's idle draw, sensor noise).
const darkFraction = 0.1

// SignAlarmAfter is how long a fault condition must last before its alarm
// is raised: longer than a poll after a switch, shorter than anyone would
// notice from the street.
const SignAlarmAfter = 30 * time.Second

// Sign alarm codes.
const (
	AlarmPartlyDark     = "partly-dark"
	AlarmDarkWhileOn    = "dark-while-on"
	AlarmLitWhileOff    = "lit-while-off"
	AlarmRelayNotFollow = "relay-not-following"
	AlarmDriverFault    = "driver-fault" // the LED driver's own fault output
)

// SignStatus is one evaluation of a sign.
type SignStatus struct {
	Device string
	// Commanded is the effective command of the power point; CommandKnown
	// is false when nothing commands it.
	Commanded, CommandKnown bool
	// PowerOn is the power point as read back from the device.
	PowerOn, PowerKnown bool
	// CurrentAmps is the measured current, in A.
	CurrentAmps  float64
	CurrentKnown bool
	State        SignState
	Time         time.Time
}

// Lit reports whether the sign is measured lit.
func (s SignStatus) Lit() bool { return s.State == SignLit }

// Sign watches one sign: it judges lit, partly dark and dark from the
// measured current and raises alarms for conditions that last.
type Sign struct {
	dev      *config.Device
	power    drivers.PointRef
	current  drivers.PointRef
	points   Points
	commands Commands
	alarms   *Alarms
	db       debounce
}

// NewSign returns the monitor of a sign device (kind sign, with power and
// current points, as config validation guarantees).
func NewSign(dev *config.Device, pts Points, cmds Commands, alarms *Alarms) *Sign {
	return &Sign{
		dev: dev, points: pts, commands: cmds, alarms: alarms,
		power:   drivers.PointRef{Device: dev.Name, Point: "power"},
		current: drivers.PointRef{Device: dev.Name, Point: "current"},
	}
}

// Device returns the sign's device name.
func (s *Sign) Device() string { return s.dev.Name }

// Evaluate judges the sign at now and raises or clears its alarms.
func (s *Sign) Evaluate(now time.Time) SignStatus {
	st := SignStatus{Device: s.dev.Name, Time: now, State: SignUnknown}
	if v, _, ok := s.commands.Effective(s.power); ok {
		st.Commanded, st.CommandKnown = v.AsBool()
	}
	st.PowerOn, st.PowerKnown = goodBool(s.points.Get(s.power))
	st.CurrentAmps, st.CurrentKnown = goodNumber(s.points.Get(s.current))
	nominal := s.dev.Sign.NominalCurrent
	litAmps := s.dev.Sign.LitFraction * nominal
	if st.CurrentKnown {
		switch {
		case st.CurrentAmps >= litAmps:
			st.State = SignLit
		case st.CurrentAmps >= darkFraction*nominal:
			st.State = SignPartlyDark
		default:
			st.State = SignDark
		}
	}
	on := st.CommandKnown && st.Commanded
	off := st.CommandKnown && !st.Commanded

	s.alarm(now, AlarmPartlyDark, on && st.State == SignPartlyDark,
		"sign draws %.2f A, below %.0f%% of its nominal %.2f A: part of the strip is dark", st.CurrentAmps, 100*s.dev.Sign.LitFraction, nominal)
	s.alarm(now, AlarmDarkWhileOn, on && st.PowerKnown && st.PowerOn && st.State == SignDark,
		"sign is switched on but draws %.2f A: lamp, driver or fuse failure", st.CurrentAmps)
	s.alarm(now, AlarmLitWhileOff, off && st.State == SignLit,
		"sign is switched off but draws %.2f A: relay stuck closed", st.CurrentAmps)
	s.alarm(now, AlarmRelayNotFollow, st.CommandKnown && st.PowerKnown && st.PowerOn != st.Commanded,
		"power relay reads %v but is commanded %v", st.PowerOn, st.Commanded)
	if s.dev.Point("fault") != nil {
		fault, known := goodBool(s.points.Get(drivers.PointRef{Device: s.dev.Name, Point: "fault"}))
		s.alarm(now, AlarmDriverFault, known && fault, "the sign's driver reports a fault")
	}
	return st
}

func (s *Sign) alarm(now time.Time, code string, cond bool, format string, args ...any) {
	if s.db.held(code, cond, now, SignAlarmAfter) {
		s.alarms.Raise(now, s.dev.Name, code, format, args...)
	} else if !cond {
		s.alarms.Clear(s.dev.Name, code)
	}
}

// String is a one-line account of the sign for logs.
func (s SignStatus) String() string {
	cmd := "uncommanded"
	if s.CommandKnown {
		cmd = map[bool]string{true: "commanded on", false: "commanded off"}[s.Commanded]
	}
	cur := "current unknown"
	if s.CurrentKnown {
		cur = fmt.Sprintf("%.2f A", s.CurrentAmps)
	}
	return fmt.Sprintf("%s: %s, %s, %s", s.Device, s.State, cmd, cur)
}
