package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/internal/fsutil"
)

// Overrides outlive a restart: a manager who switched the sign off for a
// two-hour event, or on for a morning ceremony, expects the gateway to
// keep to it after a power cut. The Manual slot of every point is saved in
// STATE_DIR/overrides.json when it changes (checked every
// overrideSaveEvery) and at stop, and unexpired ones are put back at
// start. A crash loses at most the last overrideSaveEvery of changes.

const overrideSaveEvery = 5 * time.Second

type savedOverride struct {
	Point   string    `json:"point"`
	Value   any       `json:"value"`
	Author  string    `json:"author"`
	Set     time.Time `json:"set"`
	Expires time.Time `json:"expires,omitzero"`
}

func (g *Gateway) overridesFile() string {
	if g.stateDir == "" {
		return ""
	}
	return filepath.Join(g.stateDir, "overrides.json")
}

// manualOverrides lists the live Manual-slot commands, sorted by point.
func (g *Gateway) manualOverrides(now time.Time) []savedOverride {
	var out []savedOverride
	for _, ref := range g.priorities.Refs() {
		for _, st := range g.priorities.Slots(ref, now) {
			if st.Slot != priority.Manual || st.Empty {
				continue
			}
			c := st.Command
			out = append(out, savedOverride{Point: ref.String(), Value: jsonOf(c.Value), Author: c.Author, Set: c.Set, Expires: c.Expires})
		}
	}
	slices.SortFunc(out, func(a, b savedOverride) int {
		if a.Point < b.Point {
			return -1
		}
		if a.Point > b.Point {
			return 1
		}
		return 0
	})
	return out
}

func jsonOf(v drivers.Value) any {
	if b, ok := v.AsString(); ok {
		return b
	}
	if v.Kind() == drivers.KindBool {
		b, _ := v.AsBool()
		return b
	}
	n, _ := v.AsNumber()
	return n
}

// restoreOverrides puts back the unexpired overrides of the last run.
func (g *Gateway) restoreOverrides() {
	path := g.overridesFile()
	if path == "" {
		return
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var saved []savedOverride
	if err == nil {
		err = json.Unmarshal(b, &saved)
	}
	if err != nil {
		g.log.Warn("read saved overrides; none restored", "file", path, "err", err)
		return
	}
	now := g.clk.Now()
	for _, o := range saved {
		p := g.pointByName(o.Point)
		if p == nil || !p.Writable() {
			g.log.Warn("saved override for a point the config no longer has; dropped", "point", o.Point)
			continue
		}
		if !o.Expires.IsZero() && !now.Before(o.Expires) {
			continue
		}
		v, ok := valueOf(p, o.Value)
		if !ok {
			g.log.Warn("saved override of the wrong type; dropped", "point", o.Point)
			continue
		}
		cmd := priority.Command{Value: v, Author: o.Author, Set: o.Set, Expires: o.Expires}
		if err := g.priorities.Set(p.Ref(), priority.Manual, cmd); err != nil {
			g.log.Warn("restore override", "point", o.Point, "err", err)
			continue
		}
		g.log.Info("override restored", "device", p.Device, "point", p.Name, "value", v.String(), "author", o.Author, "expires", o.Expires)
	}
}

func (g *Gateway) pointByName(name string) *config.Point {
	for _, d := range g.cfg.Devices {
		for _, p := range d.Points {
			if p.Ref().String() == name {
				return p
			}
		}
	}
	return nil
}

func valueOf(p *config.Point, raw any) (drivers.Value, bool) {
	switch x := raw.(type) {
	case bool:
		return drivers.Bool(x), p.Type.ValueKind() == drivers.KindBool
	case float64:
		return drivers.Number(x), p.Type.ValueKind() == drivers.KindNumber
	case string:
		return drivers.String(x), p.Type.ValueKind() == drivers.KindString
	}
	return drivers.Value{}, false
}

// keepOverrides saves the Manual slots when they change, until ctx ends,
// and once more then.
func (g *Gateway) keepOverrides(ctx context.Context) error {
	var last []byte
	save := func() {
		b, _ := json.MarshalIndent(g.manualOverrides(g.clk.Now()), "", "  ")
		if string(b) == string(last) {
			return
		}
		if err := fsutil.WriteFileAtomic(g.overridesFile(), b, 0o640); err != nil {
			g.log.Warn("save overrides", "err", err)
			return
		}
		last = b
	}
	if b, err := os.ReadFile(g.overridesFile()); err == nil {
		last = b
	}
	for {
		select {
		case <-ctx.Done():
			save()
			return nil
		case <-g.clk.After(overrideSaveEvery):
			save()
		}
	}
}
