package rules

// Flag etiquette: what state the flag should be in (raised, at half-mast,
// lowered) as a function of time, calendar and wind, and the steps that take
// it there. Driving the motor is the flagpole device kind's business.

import (
	"fmt"
	"time"
)

// FlagState is a flag's position as etiquette sees it.
type FlagState int

// The flag states.
const (
	FlagUnknown FlagState = iota // position not known (e.g. stopped between stops)
	FlagLowered
	FlagRaised // at the top
	FlagHalf   // at half-mast
	// FlagHold is desired only while the clock is untrusted: do not move.
	FlagHold
)

func (s FlagState) String() string {
	switch s {
	case FlagLowered:
		return "lowered"
	case FlagRaised:
		return "raised"
	case FlagHalf:
		return "half"
	case FlagHold:
		return "hold"
	}
	return "unknown"
}

// ParseFlagAction reads a config flag action: raise, lower or half.
func ParseFlagAction(s string) (FlagState, error) {
	switch s {
	case "raise":
		return FlagRaised, nil
	case "lower":
		return FlagLowered, nil
	case "half":
		return FlagHalf, nil
	}
	return FlagUnknown, fmt.Errorf("unknown flag action %q: use raise, lower or half", s)
}

// FlagAction is a job's flag movement: from its instant on, Device should be
// in State. Flag jobs are therefore levels: the desired state at t is the
// state of the latest flag action at or before t, so a gateway restarted at
// 10:00 raises the flag at once.
type FlagAction struct {
	Device string
	State  FlagState // FlagRaised, FlagLowered or FlagHalf
}

// Flagpole holds a flagpole's wind limit.
type Flagpole struct {
	Device string
	// WindLimit in m/s; above it the flag is lowered. 0: no limit.
	WindLimit float64
	// WindResume is how long the wind must stay at or below the limit
	// before the schedule resumes.
	WindResume time.Duration
}

// Wind is a flagpole's wind input, tracked by the caller.
type Wind struct {
	Valid bool    // false: no wind measurement; the limit is not applied
	Speed float64 // m/s, now
	// CalmSince is when the wind last fell to or below the limit (zero if it
	// has never been above it).
	CalmSince time.Time
}

// FlagWant is the desired state of one flagpole.
type FlagWant struct {
	Device string
	State  FlagState
	Rule   string    // the job whose action is in effect, or "wind"
	Since  time.Time // when that action took effect
	Reason string
}

// windHold applies the wind limit: lowered while the wind is above it and
// until it has stayed at or below it for WindResume. The second result is
// the instant the schedule resumes, when the hold is on and that is known.
func (p Flagpole) windHold(t time.Time, w Wind) (bool, string) {
	if p.WindLimit <= 0 || !w.Valid {
		return false, ""
	}
	if w.Speed > p.WindLimit {
		return true, fmt.Sprintf("wind %.1f m/s above limit %.1f m/s", w.Speed, p.WindLimit)
	}
	if !w.CalmSince.IsZero() && t.Sub(w.CalmSince) < p.WindResume {
		resume := w.CalmSince.Add(p.WindResume)
		return true, fmt.Sprintf("wind below %.1f m/s since %s; schedule resumes at %s", p.WindLimit, w.CalmSince.Format("15:04:05"), resume.Format("15:04:05"))
	}
	return false, ""
}

// FlagStep is one movement of a flag.
type FlagStep int

// The steps.
const (
	StepTop    FlagStep = iota + 1 // hoist to the top of the pole
	StepHalf                       // lower from the top to half-mast
	StepBottom                     // lower to the bottom
)

func (s FlagStep) String() string {
	switch s {
	case StepTop:
		return "top"
	case StepHalf:
		return "half"
	case StepBottom:
		return "bottom"
	}
	return "?"
}

// FlagSteps returns the movements that take a flag from one state to
// another under flag etiquette (e.g. U.S. Flag Code, 4 U.S.C. §7(m); the
// PRC National Flag Law, art. 16, has the same rule): a flag is hoisted to
// the top before it is lowered to half-mast, and raised to the top again
// before it is lowered from half-mast. From an unknown position the flag
// goes to the top first, since it may be at half-mast. FlagHold and
// FlagUnknown as targets give no steps.
func FlagSteps(from, to FlagState) []FlagStep {
	if from == to || to == FlagHold || to == FlagUnknown {
		return nil
	}
	switch to {
	case FlagRaised:
		return []FlagStep{StepTop}
	case FlagHalf:
		if from == FlagRaised {
			return []FlagStep{StepHalf}
		}
		return []FlagStep{StepTop, StepHalf}
	case FlagLowered:
		if from == FlagRaised {
			return []FlagStep{StepBottom}
		}
		return []FlagStep{StepTop, StepBottom}
	}
	return nil
}
