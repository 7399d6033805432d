// Package north publishes a center's state on MQTT and takes commands from
// it, for county systems and tools such as Home Assistant (issue 6).
//
// Topics, under PREFIX/COUNTY/CENTER (PREFIX is "beacon" by default):
//
//	…/DEVICE/POINT       retained: {"value":true,"quality":"good","time":"2026-06-01T12:00:00.000Z"}
//	                     ("error" is added while the point is bad; value is null then)
//	…/status             retained: "online"; "offline" is the last will
//	…/DEVICE/POINT/set   commands: {"value":…,"expires":"30m","by":"name","id":"…"}
//	…/error              a refused command: {"topic":…,"reason":…,"time":…}
//
// A command lands in the point's Manual priority slot and triggers the
// reconciler. It is accepted only for a point with remote: true in the
// config; a malformed, retained or unauthorised command is answered on the
// error topic and has no effect. A command delivered twice is applied once
// (see dedup). State is published when a point's value, quality or error
// changes, and all of it again after every (re)connection, so the retained
// state is whole even after a broker lost it. With homeassistant: true,
// Home Assistant discovery configs are published too (discovery.go).
package north

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/mqtt"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/internal/clock"
)

// The gateway status payloads.
const (
	Online  = "online"
	Offline = "offline"
)

// DefaultDedupWindow is how long an applied command is remembered.
const DefaultDedupWindow = 10 * time.Minute

// AuthorPrefix starts the author of every command that came over MQTT:
// "mqtt:li.wei".
const AuthorPrefix = "mqtt:"

// Parts are the gateway parts the publisher works with.
type Parts struct {
	Store      *points.Store
	Priorities *priority.Table
	// Trigger asks the reconciler to act on a changed point now
	// (reconcile.Reconciler.Trigger); nil: no trigger.
	Trigger func(drivers.PointRef)
}

// Options tune a Publisher; the zero value is what the gateway uses.
type Options struct {
	Clock       clock.Clock  // nil: the real clock
	Logger      *slog.Logger // nil: discard
	Timings     mqtt.Timings
	DedupWindow time.Duration // 0: DefaultDedupWindow
	// Buffer is the store subscription's buffer (default 4096 changes);
	// when it overflows, the whole state is published again.
	Buffer int
}

// Stats count what the publisher did.
type Stats struct {
	StatesPublished uint64 // state messages
	Republished     uint64 // full republications (connects and overflows)
	Applied         uint64 // commands applied
	Duplicates      uint64 // commands ignored as already applied
	Rejected        uint64 // commands answered on the error topic
}

// Publisher is the northbound MQTT client of one center.
type Publisher struct {
	cfg    *config.Config
	north  *config.North
	parts  Parts
	clk    clock.Clock
	log    *slog.Logger
	base   string // PREFIX/COUNTY/CENTER
	client paho.Client
	dedup  *dedup // used only from the client's message goroutine
	resync chan struct{}
	buffer int

	statesPublished, republished, applied, duplicates, rejected atomic.Uint64
}

// New builds a Publisher for cfg.North; it does not connect until Run.
func New(cfg *config.Config, parts Parts, opts Options) (*Publisher, error) {
	if cfg.North == nil || cfg.North.Connection == nil {
		return nil, fmt.Errorf("north: the config has no north connection")
	}
	p := &Publisher{cfg: cfg, north: cfg.North, parts: parts, clk: opts.Clock, log: opts.Logger,
		resync: make(chan struct{}, 1), buffer: opts.Buffer}
	if p.clk == nil {
		p.clk = clock.Real{}
	}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p.log = p.log.With("part", "north")
	if p.buffer <= 0 {
		p.buffer = 4096
	}
	window := opts.DedupWindow
	if window <= 0 {
		window = DefaultDedupWindow
	}
	p.dedup = newDedup(window)
	p.base = strings.Join([]string{cfg.North.Prefix, cfg.Center.County, cfg.Center.ID}, "/")
	conn := cfg.North.Connection
	id := conn.ClientID
	if id == "" {
		id = "beacon-" + cfg.Center.County + "-" + cfg.Center.ID + "-" + conn.Name
	}
	o, err := mqtt.ClientOptions(conn, id+"-north", opts.Timings)
	if err != nil {
		return nil, fmt.Errorf("north: %w", err)
	}
	o.SetWill(p.StatusTopic(), Offline, mqtt.QoS, true)
	o.SetOnConnectHandler(p.onConnect)
	o.SetDefaultPublishHandler(p.handleCommand) // queued commands of the persistent session
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		p.log.Warn("lost the north MQTT broker; reconnecting", "err", err)
	})
	p.client = paho.NewClient(o)
	return p, nil
}

// StatusTopic is PREFIX/COUNTY/CENTER/status.
func (p *Publisher) StatusTopic() string { return p.base + "/status" }

// ErrorTopic is PREFIX/COUNTY/CENTER/error.
func (p *Publisher) ErrorTopic() string { return p.base + "/error" }

// StateTopic is PREFIX/COUNTY/CENTER/DEVICE/POINT.
func (p *Publisher) StateTopic(ref drivers.PointRef) string {
	return p.base + "/" + ref.Device + "/" + ref.Point
}

// CommandTopic is StateTopic/set.
func (p *Publisher) CommandTopic(ref drivers.PointRef) string { return p.StateTopic(ref) + "/set" }

// Stats returns the counters so far.
func (p *Publisher) Stats() Stats {
	return Stats{StatesPublished: p.statesPublished.Load(), Republished: p.republished.Load(),
		Applied: p.applied.Load(), Duplicates: p.duplicates.Load(), Rejected: p.rejected.Load()}
}

// Connected reports whether the client is connected now.
func (p *Publisher) Connected() bool { return p.client.IsConnectionOpen() }

// Run connects (in the background, retrying) and publishes until ctx ends;
// then it publishes "offline" (a clean disconnect does not fire the will)
// and disconnects. It returns nil.
func (p *Publisher) Run(ctx context.Context) error {
	sub := p.parts.Store.Subscribe(p.buffer)
	defer sub.Close()
	p.client.Connect()
	var dropped uint64
	for {
		select {
		case <-ctx.Done():
			p.stop()
			return nil
		case <-p.resync:
			p.republish()
		case c := <-sub.C:
			if n := sub.Dropped(); n != dropped {
				dropped = n
				p.log.Warn("north fell behind the point store; publishing the whole state again", "dropped", n)
				p.republish()
				continue
			}
			if changed(c.Old, c.New) && p.client.IsConnectionOpen() {
				p.publishState(c.New)
			}
		}
	}
}

func (p *Publisher) stop() {
	if p.client.IsConnectionOpen() {
		tok := p.client.Publish(p.StatusTopic(), mqtt.QoS, true, Offline)
		tok.WaitTimeout(time.Second)
	}
	p.client.Disconnect(250)
}

// onConnect runs after every connection: status online, the command
// subscription, then (in Run's goroutine, so that state is published in
// order) the whole state again.
func (p *Publisher) onConnect(c paho.Client) {
	p.log.Info("connected to the north MQTT broker", "status", p.StatusTopic())
	c.Publish(p.StatusTopic(), mqtt.QoS, true, Online)
	filter := p.base + "/+/+/set"
	tok := c.Subscribe(filter, mqtt.QoS, p.handleCommand)
	if tok.WaitTimeout(30*time.Second) && tok.Error() != nil {
		p.log.Error("subscribe to commands", "filter", filter, "err", tok.Error())
	}
	select {
	case p.resync <- struct{}{}:
	default:
	}
}

// republish publishes the discovery configs (when enabled) and every
// point's state, retained.
func (p *Publisher) republish() {
	if !p.client.IsConnectionOpen() {
		return
	}
	p.republished.Add(1)
	if p.north.HomeAssistant {
		for _, m := range Discovery(p.cfg, p.base) {
			p.client.Publish(m.Topic, mqtt.QoS, true, m.Payload)
		}
	}
	for _, pt := range p.parts.Store.Snapshot() {
		p.publishState(pt)
	}
}

// changed reports whether a store change is worth a state message.
func changed(old, new points.Point) bool {
	return old.Quality != new.Quality || old.Err != new.Err || old.Value.Kind() != new.Value.Kind() || !drivers.Equal(old.Value, new.Value, 0)
}

// State is the JSON of a point's retained state.
type State struct {
	Value   any    `json:"value"` // bool, number, string or null
	Quality string `json:"quality"`
	Time    string `json:"time,omitempty"` // RFC 3339, UTC, milliseconds
	Error   string `json:"error,omitempty"`
}

// StateOf is the state message of a store point.
func StateOf(pt points.Point) State {
	s := State{Quality: pt.Quality.String(), Error: pt.Err}
	if !pt.Time.IsZero() {
		s.Time = pt.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	switch pt.Value.Kind() {
	case drivers.KindBool:
		s.Value, _ = pt.Value.AsBool()
	case drivers.KindNumber:
		s.Value, _ = pt.Value.AsNumber()
	case drivers.KindString:
		s.Value, _ = pt.Value.AsString()
	}
	return s
}

func (p *Publisher) publishState(pt points.Point) {
	b, err := json.Marshal(StateOf(pt))
	if err != nil {
		p.log.Error("encode state", "device", pt.Ref.Device, "point", pt.Ref.Point, "err", err)
		return
	}
	p.client.Publish(p.StateTopic(pt.Ref), mqtt.QoS, true, b)
	p.statesPublished.Add(1)
}

// handleCommand applies one set command or answers why not. paho calls it
// from its message goroutine, one message at a time.
func (p *Publisher) handleCommand(_ paho.Client, m paho.Message) {
	topic, payload := m.Topic(), m.Payload()
	ref, ok := p.parseCommandTopic(topic)
	if !ok {
		p.reject(topic, "not a command topic: commands go to "+p.base+"/DEVICE/POINT/set", ref)
		return
	}
	if m.Retained() {
		p.reject(topic, "retained commands are ignored: publish set commands with retain off", ref)
		return
	}
	pt := p.cfg.Point(ref)
	switch {
	case pt == nil:
		p.reject(topic, fmt.Sprintf("no point %s in center %s", ref, p.cfg.Center.ID), ref)
		return
	case !pt.Remote:
		p.reject(topic, fmt.Sprintf("point %s does not take remote commands (remote: true in the config)", ref), ref)
		return
	}
	cmd, err := ParseCommand(payload, pt.Type.ValueKind())
	if err != nil {
		p.reject(topic, err.Error(), ref)
		return
	}
	now := p.clk.Now()
	if p.dedup.duplicate(topic, cmd.ID, payload, m.Duplicate(), now) {
		p.duplicates.Add(1)
		p.log.Info("command already applied; ignoring the copy", "device", ref.Device, "point", ref.Point, "id", cmd.ID, "dup", m.Duplicate())
		return
	}
	author := AuthorPrefix + cmd.By
	if cmd.Relinquish {
		p.parts.Priorities.Relinquish(ref, priority.Manual)
		p.log.Info("remote command: manual override relinquished", "device", ref.Device, "point", ref.Point, "by", author)
	} else {
		c := priority.Command{Value: cmd.Value, Author: author, Set: now, Expires: now.Add(cmd.Expires)}
		if err := p.parts.Priorities.Set(ref, priority.Manual, c); err != nil {
			p.reject(topic, err.Error(), ref)
			return
		}
		p.log.Info("remote command applied", "device", ref.Device, "point", ref.Point, "value", cmd.Value, "by", author, "expires", c.Expires)
	}
	p.dedup.record(topic, cmd.ID, payload, now)
	p.applied.Add(1)
	if p.parts.Trigger != nil {
		p.parts.Trigger(ref)
	}
}

// parseCommandTopic reads …/DEVICE/POINT/set.
func (p *Publisher) parseCommandTopic(topic string) (drivers.PointRef, bool) {
	rest, ok := strings.CutPrefix(topic, p.base+"/")
	if !ok {
		return drivers.PointRef{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[2] != "set" || parts[0] == "" || parts[1] == "" {
		return drivers.PointRef{}, false
	}
	return drivers.PointRef{Device: parts[0], Point: parts[1]}, true
}

// ErrorMessage is what the error topic carries.
type ErrorMessage struct {
	Topic  string `json:"topic"`
	Reason string `json:"reason"`
	Time   string `json:"time"`
}

func (p *Publisher) reject(topic, reason string, ref drivers.PointRef) {
	p.rejected.Add(1)
	p.log.Warn("remote command refused", "device", ref.Device, "point", ref.Point, "topic", topic, "reason", reason)
	b, _ := json.Marshal(ErrorMessage{Topic: topic, Reason: reason, Time: p.clk.Now().UTC().Format(time.RFC3339)})
	p.client.Publish(p.ErrorTopic(), mqtt.QoS, false, b)
}
