package gateway

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/fsutil"
	"github.com/beacon-edge/beacon/rules"
)

// Nights: a sign's required window is the span in which the schedule wants
// its power on (DESIGN.md, "Uptime definitions"). When a window ends the
// gateway reports it through Options.OnNight, which telemetry turns into
// the sign_night summary. After a restart, windows that ended while the
// gateway was down (within nightLookback) are reported too; the receiver
// must be idempotent, as telemetry's CloseNight is.

// nightLookback is how far back a starting gateway looks for sign windows
// it did not report.
const nightLookback = 48 * time.Hour

// signWindows returns the windows in which the schedule wants power of
// each sign on, that end in (from, to], as [start, end) pairs. A window
// that started before from-24h is cut there.
func (s *scheduler) signWindows(from, to time.Time, in rules.Inputs) map[string][][2]time.Time {
	out := map[string][][2]time.Time{}
	signs := s.signPowers()
	if len(signs) == 0 {
		return out
	}
	scanFrom := from.Add(-24 * time.Hour)
	bounds := s.eval.Boundaries(scanFrom, to, in)
	start := map[string]time.Time{}
	on := func(t time.Time, ref drivers.PointRef) bool {
		w, ok := s.eval.Desired(t, in).Point(ref)
		b, _ := w.Value.AsBool()
		return ok && !w.Relinquish() && b
	}
	for dev, ref := range signs {
		if on(scanFrom, ref) {
			start[dev] = scanFrom
		}
	}
	for _, b := range bounds {
		for dev, ref := range signs {
			now := on(b, ref)
			st, open := start[dev]
			switch {
			case now && !open:
				start[dev] = b
			case !now && open:
				delete(start, dev)
				if b.After(from) {
					out[dev] = append(out[dev], [2]time.Time{st, b})
				}
			}
		}
	}
	return out
}

// signPowers maps each sign device to its power point.
func (s *scheduler) signPowers() map[string]drivers.PointRef {
	out := map[string]drivers.PointRef{}
	for _, d := range s.g.cfg.Devices {
		if d.Kind == config.KindSign {
			out[d.Name] = drivers.PointRef{Device: d.Name, Point: "power"}
		}
	}
	return out
}

// nightsState is what STATE_DIR/nights.json keeps: how far sign windows
// have been reported. Without it (a first start) nothing before the start
// is reported: nights before Beacon ran are not Beacon's to account for.
type nightsState struct {
	ReportedUpTo time.Time `json:"reported_up_to"`
}

func (s *scheduler) loadNights() {
	if s.stateDir == "" {
		return
	}
	var st nightsState
	b, err := os.ReadFile(filepath.Join(s.stateDir, "nights.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		s.g.log.Warn("read sign night state; reporting from now on", "err", err)
		return
	}
	if err := json.Unmarshal(b, &st); err != nil {
		s.g.log.Warn("decode sign night state; reporting from now on", "err", err)
		return
	}
	s.nightsUpTo = st.ReportedUpTo
}

func (s *scheduler) saveNights() {
	if s.stateDir == "" {
		return
	}
	b, _ := json.Marshal(nightsState{ReportedUpTo: s.nightsUpTo})
	if err := fsutil.WriteFileAtomic(filepath.Join(s.stateDir, "nights.json"), b, 0o640); err != nil {
		s.g.log.Warn("save sign night state", "err", err)
	}
}

// reportNights reports the sign windows that ended since the last report,
// at most nightLookback back; the first call after a first start reports
// nothing before it.
func (s *scheduler) reportNights(now time.Time, in rules.Inputs) {
	if s.g.onNight == nil || !in.Trusted {
		return
	}
	from := s.nightsUpTo
	if from.IsZero() {
		s.nightsUpTo = now
		s.saveNights()
		return
	}
	if floor := now.Add(-nightLookback); from.Before(floor) {
		from = floor
	}
	if !now.After(from) {
		return
	}
	reported := false
	for dev, wins := range s.signWindows(from, now, in) {
		for _, w := range wins {
			s.g.log.Info("sign night ended", "device", dev, "window_start", w[0].Format(time.RFC3339), "window_end", w[1].Format(time.RFC3339))
			s.g.onNight(dev, w[0], w[1])
			reported = true
		}
	}
	s.nightsUpTo = now
	// The state moves on disk when a night was reported, and otherwise
	// every few minutes, so that a restart looks back only as far as it
	// must.
	if reported || now.Sub(s.nightsSaved) >= 5*time.Minute {
		s.saveNights()
		s.nightsSaved = now
	}
}
