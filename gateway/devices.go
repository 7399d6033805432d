package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/internal/fsutil"
	"github.com/beacon-edge/beacon/kinds"
)

// commander lets device kinds and rules ask for point values: it sets a
// priority slot and wakes the reconciler.
type commander struct{ g *Gateway }

var _ kinds.Commands = commander{}

func (c commander) Command(ref drivers.PointRef, slot priority.Slot, v drivers.Value, author string) error {
	cur, curSlot, ok := c.g.priorities.Effective(ref, c.g.clk.Now())
	err := c.g.priorities.Set(ref, slot, priority.Command{Value: v, Author: author, Set: c.g.clk.Now()})
	if err != nil {
		return err
	}
	if !ok || curSlot != slot || !drivers.Equal(cur.Value, v, 0) || cur.Author != author {
		c.g.reconciler.Trigger(ref)
	}
	return nil
}

func (c commander) Release(ref drivers.PointRef, slot priority.Slot) {
	if _, ok := c.g.priorities.Relinquish(ref, slot); ok {
		c.g.reconciler.Trigger(ref)
	}
}

func (c commander) Effective(ref drivers.PointRef) (drivers.Value, priority.Slot, bool) {
	cmd, slot, ok := c.g.priorities.Effective(ref, c.g.clk.Now())
	return cmd.Value, slot, ok
}

// Commands returns the gateway's command interface, through which rules,
// device kinds, the API and MQTT commands ask for point values.
func (g *Gateway) Commands() kinds.Commands { return commander{g} }

// devices holds the device-kind objects of a center.
type devices struct {
	alarms    *kinds.Alarms
	signs     []*kinds.Sign
	rooms     []*kinds.Occupancy
	flagpoles []*kinds.Flagpole
	pas       []*kinds.PA

	mu         sync.Mutex
	signStatus map[string]kinds.SignStatus
	roomStatus map[string]kinds.RoomStatus
}

func (g *Gateway) buildDevices() {
	d := &devices{alarms: kinds.NewAlarms(g.log), signStatus: map[string]kinds.SignStatus{}, roomStatus: map[string]kinds.RoomStatus{}}
	cmds := commander{g}
	for _, dev := range g.cfg.Devices {
		switch dev.Kind {
		case config.KindSign:
			d.signs = append(d.signs, kinds.NewSign(dev, g.store, cmds, d.alarms))
		case config.KindOccupancy:
			d.rooms = append(d.rooms, kinds.NewOccupancy(dev, g.store))
		case config.KindFlagpole:
			d.flagpoles = append(d.flagpoles, kinds.NewFlagpole(dev, g.store, cmds, d.alarms, g.clk, g.log))
		case config.KindPA:
			d.pas = append(d.pas, kinds.NewPA(dev, g.store, cmds, g.clk, g.log))
		}
	}
	g.devices = d
}

// Alarms returns the center's active device alarms.
func (g *Gateway) Alarms() *kinds.Alarms { return g.devices.alarms }

// Flagpole returns the flagpole of that device name, or nil.
func (g *Gateway) Flagpole(name string) *kinds.Flagpole {
	for _, f := range g.devices.flagpoles {
		if f.Device() == name {
			return f
		}
	}
	return nil
}

// PA returns the PA of that device name, or nil.
func (g *Gateway) PA(name string) *kinds.PA {
	for _, p := range g.devices.pas {
		if p.Device() == name {
			return p
		}
	}
	return nil
}

// SignStatus returns the last evaluation of each sign.
func (g *Gateway) SignStatus() map[string]kinds.SignStatus {
	g.devices.mu.Lock()
	defer g.devices.mu.Unlock()
	out := make(map[string]kinds.SignStatus, len(g.devices.signStatus))
	for k, v := range g.devices.signStatus {
		out[k] = v
	}
	return out
}

// RoomStatus returns the last evaluation of each occupancy sensor.
func (g *Gateway) RoomStatus() map[string]kinds.RoomStatus {
	g.devices.mu.Lock()
	defer g.devices.mu.Unlock()
	out := make(map[string]kinds.RoomStatus, len(g.devices.roomStatus))
	for k, v := range g.devices.roomStatus {
		out[k] = v
	}
	return out
}

// evaluateDevices judges signs and rooms every interval until ctx ends, and
// logs each sign's change of state.
func (g *Gateway) evaluateDevices(ctx context.Context, every time.Duration) error {
	for {
		now := g.clk.Now()
		d := g.devices
		for _, s := range d.signs {
			st := s.Evaluate(now)
			d.mu.Lock()
			prev, seen := d.signStatus[st.Device]
			d.signStatus[st.Device] = st
			d.mu.Unlock()
			if !seen || prev.State != st.State {
				g.log.Info("sign", "device", st.Device, "state", st.State, "current_a", round2(st.CurrentAmps), "commanded_on", st.Commanded)
			}
		}
		for _, r := range d.rooms {
			st := r.Evaluate(now)
			d.mu.Lock()
			prev, seen := d.roomStatus[st.Device]
			d.roomStatus[st.Device] = st
			d.mu.Unlock()
			if st.Known && (!seen || !prev.Known || prev.Occupied != st.Occupied) {
				g.log.Info("room", "device", st.Device, "room", st.Room, "occupied", st.Occupied)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-g.clk.After(every):
		}
	}
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// flagHoursEvery is how often the flags' flown hours are saved; a crash
// loses at most this much of the count.
const flagHoursEvery = 10 * time.Minute

// flagHoursFile keeps each flagpole's hours flown across restarts, so that
// the "replace the flag" notice comes after the flag's real life.
func (g *Gateway) flagHoursFile() string {
	if g.stateDir == "" {
		return ""
	}
	return filepath.Join(g.stateDir, "flags.json")
}

func (g *Gateway) loadFlagHours() {
	path := g.flagHoursFile()
	if path == "" || len(g.devices.flagpoles) == 0 {
		return
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	hours := map[string]float64{}
	if err == nil {
		err = json.Unmarshal(b, &hours)
	}
	if err != nil {
		g.log.Warn("read flag hours; counting from zero", "file", path, "err", err)
		return
	}
	for _, f := range g.devices.flagpoles {
		f.SetHoursFlown(hours[f.Device()])
	}
}

func (g *Gateway) saveFlagHours() {
	path := g.flagHoursFile()
	if path == "" {
		return
	}
	hours := map[string]float64{}
	for _, f := range g.devices.flagpoles {
		hours[f.Device()] = f.Status().HoursFlown
	}
	b, _ := json.MarshalIndent(hours, "", "  ")
	if err := fsutil.WriteFileAtomic(path, b, 0o640); err != nil {
		g.log.Warn("save flag hours", "file", path, "err", err)
	}
}

// keepFlagHours saves the flown hours periodically and when ctx ends.
func (g *Gateway) keepFlagHours(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			g.saveFlagHours()
			return nil
		case <-g.clk.After(flagHoursEvery):
			g.saveFlagHours()
		}
	}
}
