package kinds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/internal/clock"
)

// Flagpole controller command codes, written to the "command" point: the
// convention of configs/profiles/flagpole-controller.yaml.
const (
	FlagCmdStop       = 0
	FlagCmdRaise      = 1
	FlagCmdLower      = 2
	FlagCmdToSetpoint = 3 // drive to the "setpoint" point, in %
)

// Positions, in % of the mast, with the tolerance a step accepts.
const (
	flagTop         = 100.0
	flagHalf        = 50.0
	flagBottom      = 0.0
	flagTolerance   = 2.0
	flagFlownAbove  = 40.0 // the flag counts as flying above this
	flagJamWindow   = 5 * time.Second
	flagJamProgress = 0.5 // % the flag must move within flagJamWindow
)

// FlagAction is what a schedule or a person asks of a flagpole.
type FlagAction string

// The flag actions.
const (
	FlagRaise FlagAction = "raise"
	FlagLower FlagAction = "lower"
	FlagHalf  FlagAction = "half"
)

// Flag alarm codes.
const (
	AlarmMotorJam     = "motor-jam"
	AlarmMotorFault   = "motor-fault"
	AlarmTravelTime   = "travel-timeout"
	AlarmReplaceFlag  = "replace-flag"
	AlarmFlagNoSignal = "flag-no-position"
)

// FlagNoPosition is FlagStatus.LastError of a sequence that did not start
// for want of a position reading; the scheduler asks again.
const FlagNoPosition = "no position reading"

// ErrFlagFault is wrapped by the error of a sequence stopped by a jam, a
// motor fault or a travel timeout.
var ErrFlagFault = errors.New("flagpole fault")

// FlagStatus is the flagpole as last seen.
type FlagStatus struct {
	Device        string
	PositionPct   float64
	PositionKnown bool
	// Target is the action being carried out or last completed.
	Target FlagAction
	// Moving is true while a sequence runs; Step names its current step.
	Moving bool
	Step   string
	// LastError is why the last sequence stopped, empty if it completed.
	LastError  string
	HoursFlown float64
}

// Flagpole runs flag sequences with etiquette (DESIGN.md): a half-mast goes
// to the top first, then down to half; lowering from half-mast goes to the
// top first. Each step has a travel timeout, is confirmed by the position
// (and limit switches where the profile has them), and is stopped at once
// on a motor fault or a jam. It counts the hours the flag has flown.
type Flagpole struct {
	dev      *config.Device
	points   Points
	commands Commands
	alarms   *Alarms
	clk      clock.Clock
	log      *slog.Logger
	// CheckEvery is how often a moving flag is checked (default 200ms).
	CheckEvery time.Duration

	requests chan FlagAction
	mu       sync.Mutex
	status   FlagStatus
	lastTick time.Time
}

// NewFlagpole returns the controller of a flagpole device.
func NewFlagpole(dev *config.Device, pts Points, cmds Commands, alarms *Alarms, clk clock.Clock, logger *slog.Logger) *Flagpole {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Flagpole{
		dev: dev, points: pts, commands: cmds, alarms: alarms, clk: clk,
		log:        logger.With("device", dev.Name),
		CheckEvery: 200 * time.Millisecond,
		requests:   make(chan FlagAction, 1),
		status:     FlagStatus{Device: dev.Name},
	}
}

// Device returns the flagpole's device name.
func (f *Flagpole) Device() string { return f.dev.Name }

func (f *Flagpole) ref(point string) drivers.PointRef {
	return drivers.PointRef{Device: f.dev.Name, Point: point}
}

// Request asks for an action; it replaces a request not yet started. A
// sequence already running finishes its current step first.
func (f *Flagpole) Request(a FlagAction) {
	for {
		select {
		case f.requests <- a:
			return
		default:
			select {
			case <-f.requests: // drop the older pending request
			default:
			}
		}
	}
}

// Status returns the flagpole as last seen.
func (f *Flagpole) Status() FlagStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// SetHoursFlown restores the flown-hours counter (from the state store).
func (f *Flagpole) SetHoursFlown(h float64) {
	f.mu.Lock()
	f.status.HoursFlown = h
	f.mu.Unlock()
}

func (f *Flagpole) update(fn func(*FlagStatus)) {
	f.mu.Lock()
	fn(&f.status)
	f.mu.Unlock()
}

// position reads the flag's position in %.
func (f *Flagpole) position() (float64, bool) {
	return goodNumber(f.points.Get(f.ref("position")))
}

// Run carries out requests until ctx ends. Between sequences it keeps
// counting flown hours and watching for a motor fault.
func (f *Flagpole) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			f.stopMotor()
			return nil
		case a := <-f.requests:
			if err := f.runSequence(ctx, a); err != nil && ctx.Err() == nil {
				f.log.Warn("flag sequence stopped", "action", a, "err", err)
			}
		case <-f.clk.After(f.CheckEvery):
			f.tick()
		}
	}
}

// tick accrues flown hours and refreshes the position.
func (f *Flagpole) tick() {
	now := f.clk.Now()
	pos, ok := f.position()
	f.mu.Lock()
	if !f.lastTick.IsZero() && ok && pos >= flagFlownAbove {
		f.status.HoursFlown += now.Sub(f.lastTick).Hours()
	}
	f.lastTick = now
	f.status.PositionPct, f.status.PositionKnown = pos, ok
	hours := f.status.HoursFlown
	f.mu.Unlock()
	if limit := f.dev.Flagpole.ReplaceAfter; limit > 0 && hours >= limit.Hours() {
		f.alarms.Raise(now, f.dev.Name, AlarmReplaceFlag, "the flag has flown %.0f h (limit %.0f h): replace it", hours, limit.Hours())
	}
}

type flagStep struct {
	name   string
	target float64
}

// Plan returns the steps that take a flag at pos to action a, with
// etiquette.
func Plan(pos float64, a FlagAction) []flagStep {
	atTop := pos >= flagTop-flagTolerance
	atBottom := pos <= flagBottom+flagTolerance
	atHalf := pos >= flagHalf-flagTolerance && pos <= flagHalf+flagTolerance
	top := flagStep{"to the top", flagTop}
	switch a {
	case FlagRaise:
		if atTop {
			return nil
		}
		return []flagStep{top}
	case FlagHalf:
		if atHalf {
			return nil
		}
		// Flag etiquette: hoist to the peak first, then lower to half.
		if atTop {
			return []flagStep{{"down to half-mast", flagHalf}}
		}
		return []flagStep{top, {"down to half-mast", flagHalf}}
	case FlagLower:
		if atBottom {
			return nil
		}
		// From half-mast the flag is first hoisted to the peak.
		if atHalf {
			return []flagStep{top, {"to the bottom", flagBottom}}
		}
		return []flagStep{{"to the bottom", flagBottom}}
	}
	return nil
}

func (f *Flagpole) runSequence(ctx context.Context, a FlagAction) error {
	pos, ok := f.position()
	if !ok {
		f.alarms.Raise(f.clk.Now(), f.dev.Name, AlarmFlagNoSignal, "no good position reading; not moving the flag")
		f.update(func(s *FlagStatus) { s.Target, s.LastError = a, FlagNoPosition })
		return fmt.Errorf("%s %s: no position reading: %w", f.dev.Name, a, ErrFlagFault)
	}
	f.alarms.Clear(f.dev.Name, AlarmFlagNoSignal)
	steps := Plan(pos, a)
	f.update(func(s *FlagStatus) { s.Target, s.Moving, s.LastError = a, true, "" })
	defer f.update(func(s *FlagStatus) { s.Moving, s.Step = false, "" })
	if len(steps) > 0 {
		f.log.Info("flag sequence", "action", a, "from_pct", pos, "steps", len(steps))
	}
	for _, st := range steps {
		f.update(func(s *FlagStatus) { s.Step = st.name })
		if err := f.runStep(ctx, a, st); err != nil {
			f.update(func(s *FlagStatus) { s.LastError = err.Error() })
			return err
		}
	}
	return nil
}

// runStep drives the flag to one position and stops the motor, whatever
// happens.
func (f *Flagpole) runStep(ctx context.Context, a FlagAction, st flagStep) error {
	author := "flag:" + string(a)
	var cmd float64
	switch st.target {
	case flagTop:
		cmd = FlagCmdRaise
	case flagBottom:
		cmd = FlagCmdLower
	default:
		cmd = FlagCmdToSetpoint
		// The setpoint must be in the controller before the command that
		// drives to it, or the flag would set off for the old one.
		if err := f.commands.Command(f.ref("setpoint"), priority.Schedule, drivers.Number(st.target), author); err != nil {
			return err
		}
		if err := f.confirmed(ctx, "setpoint", st.target); err != nil {
			return err
		}
	}
	if err := f.commands.Command(f.ref("command"), priority.Schedule, drivers.Number(cmd), author); err != nil {
		return err
	}
	defer f.stopMotor()
	// Time the step from when the controller has the command: a write can
	// wait behind a busy bus, and that is not the motor's fault.
	if err := f.confirmed(ctx, "command", cmd); err != nil {
		return err
	}
	start := f.clk.Now()
	lastProgress, lastPos := start, -1.0
	for {
		now := f.clk.Now()
		pos, ok := f.position()
		if ok {
			f.update(func(s *FlagStatus) { s.PositionPct, s.PositionKnown = pos, true })
			if f.reached(st.target, pos) {
				f.log.Info("flag step done", "step", st.name, "position_pct", pos, "took", now.Sub(start).Round(time.Millisecond))
				f.alarms.Clear(f.dev.Name, AlarmMotorJam)
				f.alarms.Clear(f.dev.Name, AlarmTravelTime)
				f.alarms.Clear(f.dev.Name, AlarmMotorFault)
				return nil
			}
			if lastPos < 0 || abs(pos-lastPos) >= flagJamProgress {
				lastProgress, lastPos = now, pos
			}
		}
		if fault, known := goodBool(f.points.Get(f.ref("motor_fault"))); known && fault {
			f.alarms.Raise(now, f.dev.Name, AlarmMotorFault, "motor fault during %q; motor stopped", st.name)
			return fmt.Errorf("%s %s: motor fault: %w", f.dev.Name, st.name, ErrFlagFault)
		}
		// Leave the motor one jam window to start before judging it.
		if now.Sub(start) > flagJamWindow && now.Sub(lastProgress) > flagJamWindow {
			f.alarms.Raise(now, f.dev.Name, AlarmMotorJam, "flag stuck at %.1f%% during %q; motor stopped", lastPos, st.name)
			return fmt.Errorf("%s %s: no movement for %v: %w", f.dev.Name, st.name, flagJamWindow, ErrFlagFault)
		}
		if now.Sub(start) > f.dev.Flagpole.TravelTimeout {
			f.alarms.Raise(now, f.dev.Name, AlarmTravelTime, "%q took longer than %v; motor stopped", st.name, f.dev.Flagpole.TravelTimeout)
			return fmt.Errorf("%s %s: travel timeout %v: %w", f.dev.Name, st.name, f.dev.Flagpole.TravelTimeout, ErrFlagFault)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.clk.After(f.CheckEvery):
		}
	}
}

// confirmed waits until the device reads back v for point, within the
// travel timeout.
func (f *Flagpole) confirmed(ctx context.Context, point string, v float64) error {
	deadline := f.clk.Now().Add(f.dev.Flagpole.TravelTimeout)
	for {
		if got, ok := goodNumber(f.points.Get(f.ref(point))); ok && abs(got-v) < 0.5 {
			return nil
		}
		if !f.clk.Now().Before(deadline) {
			return fmt.Errorf("%s.%s did not read back %v within %v: %w", f.dev.Name, point, v, f.dev.Flagpole.TravelTimeout, ErrFlagFault)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.clk.After(f.CheckEvery):
		}
	}
}

// reached tells whether the flag is at target, trusting a limit switch
// where the device has one.
func (f *Flagpole) reached(target, pos float64) bool {
	switch target {
	case flagTop:
		if top, ok := goodBool(f.points.Get(f.ref("top"))); ok {
			return top
		}
	case flagBottom:
		if bottom, ok := goodBool(f.points.Get(f.ref("bottom"))); ok {
			return bottom
		}
	}
	return abs(pos-target) <= flagTolerance
}

// stopMotor commands stop. The schedule slot keeps "stop" between
// movements, so that a controller restarted mid-way does not resume.
func (f *Flagpole) stopMotor() {
	if err := f.commands.Command(f.ref("command"), priority.Schedule, drivers.Number(FlagCmdStop), "flag:stop"); err != nil {
		f.log.Error("stop flag motor", "err", err)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
