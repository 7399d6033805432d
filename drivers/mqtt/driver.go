// Package mqtt is the southbound MQTT driver: devices such as Zigbee2MQTT
// occupancy sensors that publish JSON state, and IP broadcast boxes that take
// JSON commands. Each point is a JSON field path of its device's state
// messages ("occupancy", "state.count"); a write publishes the point's
// command template to the device's command topic; an availability topic
// marks the device's points offline and back.
//
// MQTT is push: Read returns the latest value each point received (stamped
// with the time of the Read, since a retained MQTT state holds until the
// device says otherwise) and Subscribe delivers every value as it arrives.
// The client uses QoS 1 with a persistent session (CleanSession false, a
// stable client id from the config), connects in the background with
// paho's retry and auto-reconnect, and subscribes again after every
// reconnect.
package mqtt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

var (
	_ drivers.Driver     = (*Driver)(nil)
	_ drivers.Subscriber = (*Driver)(nil)
)

// Errors of samples and writes, wrapped with what was being done.
var (
	// ErrNoMessage: the point's device has published nothing yet that holds
	// the point's field.
	ErrNoMessage = errors.New("no message yet")
	// ErrOffline: the device's availability topic says it is offline.
	ErrOffline = errors.New("device offline")
	// ErrNotConnected: the client is not connected to the broker.
	ErrNotConnected = errors.New("not connected to the broker")
	// ErrUnknownPoint: the ref is not a point of this connection.
	ErrUnknownPoint = errors.New("unknown point")
	// ErrNotWritable: the point is read-only or its device has no command
	// topic.
	ErrNotWritable = errors.New("point is not writable")
)

// QoS is the MQTT quality of service of every subscription and publish:
// at least once (MQTT 3.1.1 §4.3.2).
const QoS = 1

// logEvery is how often a device's bad payloads are logged: once per device
// per minute, with the count of those not logged.
const logEvery = time.Minute

// Options tune a Driver beyond its config; the zero value is what Open uses.
type Options struct {
	Timings Timings
	// Now is the clock of the parse-error log limit (nil: time.Now).
	Now func() time.Time
}

// Driver serves the MQTT devices of one connection.
type Driver struct {
	conn    *config.Connection
	log     *slog.Logger
	now     func() time.Time
	client  paho.Client
	byTopic map[string]*device   // state topic → device
	byAvail map[string][]*device // availability topic → devices
	points  map[drivers.PointRef]*point
	done    chan struct{}

	messages atomic.Uint64 // state messages received
	badMsgs  atomic.Uint64 // state messages that failed to parse

	mu      sync.Mutex
	subs    map[uint64]func(drivers.Sample)
	nextSub uint64
	closed  bool
}

type device struct {
	cfg     *config.Device
	log     *slog.Logger
	points  []*point
	offline bool
	changed chan struct{} // closed and replaced on every state message
	lastLog time.Time     // of a bad payload
	quiet   int           // bad payloads not logged since lastLog
}

type point struct {
	cfg  *config.Point
	dev  *device
	val  drivers.Value
	err  error // why the latest message did not give a value
	have bool  // a message has set val or err
}

// Open is the gateway's factory for MQTT connections (gateway.DriverFactory).
// It does not wait for the broker: the client connects in the background and
// retries until Close.
func Open(conn *config.Connection, devices []*config.Device, logger *slog.Logger) (drivers.Driver, error) {
	return OpenWith(conn, devices, logger, Options{})
}

// OpenWith is Open with options, for tests and benchmarks.
func OpenWith(conn *config.Connection, devices []*config.Device, logger *slog.Logger, opts Options) (*Driver, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Driver{
		conn: conn, log: logger, now: opts.Now,
		byTopic: map[string]*device{}, byAvail: map[string][]*device{},
		points: map[drivers.PointRef]*point{}, subs: map[uint64]func(drivers.Sample){},
		done: make(chan struct{}),
	}
	if d.now == nil {
		d.now = time.Now
	}
	for _, cd := range devices {
		dev := &device{cfg: cd, log: logger.With("device", cd.Name), changed: make(chan struct{})}
		if other, dup := d.byTopic[cd.Topic]; dup {
			return nil, fmt.Errorf("open MQTT connection %s: devices %s and %s share the state topic %q", conn.Name, other.cfg.Name, cd.Name, cd.Topic)
		}
		d.byTopic[cd.Topic] = dev
		if cd.AvailabilityTopic != "" {
			d.byAvail[cd.AvailabilityTopic] = append(d.byAvail[cd.AvailabilityTopic], dev)
		}
		for _, cp := range cd.Points {
			p := &point{cfg: cp, dev: dev}
			dev.points = append(dev.points, p)
			d.points[cp.Ref()] = p
		}
	}
	clientID := conn.ClientID
	if clientID == "" {
		clientID = "beacon-" + conn.Name
	}
	o, err := ClientOptions(conn, clientID, opts.Timings)
	if err != nil {
		return nil, fmt.Errorf("open MQTT connection %s: %w", conn.Name, err)
	}
	o.SetDefaultPublishHandler(d.route)
	o.SetOnConnectHandler(d.onConnect)
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		d.log.Warn("lost the MQTT broker; reconnecting", "err", err)
	})
	d.client = paho.NewClient(o)
	d.client.Connect() // with ConnectRetry, completes in the background
	return d, nil
}

// onConnect (re)subscribes to every state and availability topic. paho runs
// it in its own goroutine after each successful connection.
func (d *Driver) onConnect(c paho.Client) {
	filters := map[string]byte{}
	for t := range d.byTopic {
		filters[t] = QoS
	}
	for t := range d.byAvail {
		filters[t] = QoS
	}
	d.log.Info("connected to the MQTT broker", "topics", len(filters))
	if len(filters) == 0 {
		return
	}
	tok := c.SubscribeMultiple(filters, d.route)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			d.log.Error("subscribe to device topics", "topics", sortedTopics(filters), "err", err)
		}
	case <-d.done:
	}
}

// route hands a message to its device by topic.
func (d *Driver) route(_ paho.Client, m paho.Message) {
	topic := m.Topic()
	if devs, ok := d.byAvail[topic]; ok {
		for _, dev := range devs {
			d.handleAvailability(dev, m.Payload())
		}
	}
	if dev, ok := d.byTopic[topic]; ok {
		d.handleState(dev, topic, m.Payload())
	}
}

// handleState records a device's state message and delivers its points.
// A payload that is not JSON marks every point of the device bad; a field
// of the wrong type marks its point bad; a field that is absent leaves its
// point as it was (devices may send partial updates).
func (d *Driver) handleState(dev *device, topic string, payload []byte) {
	msg, perr := ParseMessage(payload)
	now := d.now()
	var out []drivers.Sample
	d.mu.Lock()
	var problem error
	for _, p := range dev.points {
		var v drivers.Value
		var err error
		if perr != nil {
			err = fmt.Errorf("parse message on %s: %w", topic, perr)
		} else {
			raw, found := msg.Field(p.cfg.Field)
			if !found {
				continue
			}
			if v, err = Convert(raw, p.cfg); err != nil {
				err = fmt.Errorf("field %q of message on %s: %w", p.cfg.Field, topic, err)
			}
		}
		p.val, p.err, p.have = v, err, true
		if err != nil && problem == nil {
			problem = err
		}
		out = append(out, d.sampleLocked(p, now))
	}
	if problem != nil {
		d.logBadLocked(dev, now, problem)
	}
	close(dev.changed)
	dev.changed = make(chan struct{})
	subs := d.subscribersLocked()
	d.mu.Unlock()
	deliver(subs, out)
	if perr != nil {
		d.badMsgs.Add(1)
	}
	d.messages.Add(1) // last: Stats counts messages fully handled
}

// logBadLocked logs a bad payload once per device per logEvery.
func (d *Driver) logBadLocked(dev *device, now time.Time, err error) {
	if !dev.lastLog.IsZero() && now.Sub(dev.lastLog) < logEvery {
		dev.quiet++
		return
	}
	dev.log.Warn("bad payload; the device's points are bad until a good one arrives", "err", err, "not_logged", dev.quiet)
	dev.lastLog, dev.quiet = now, 0
}

// handleAvailability marks a device offline (its points bad) or online
// (its last values good again).
func (d *Driver) handleAvailability(dev *device, payload []byte) {
	online, ok := availability(payload)
	now := d.now()
	d.mu.Lock()
	if !ok {
		d.logBadLocked(dev, now, fmt.Errorf("availability %q is neither online nor offline", truncate(payload)))
		d.mu.Unlock()
		return
	}
	if dev.offline == !online {
		d.mu.Unlock()
		return
	}
	dev.offline = !online
	var out []drivers.Sample
	for _, p := range dev.points {
		if p.have || dev.offline {
			out = append(out, d.sampleLocked(p, now))
		}
	}
	subs := d.subscribersLocked()
	d.mu.Unlock()
	dev.log.Info("device availability", "online", online)
	deliver(subs, out)
}

// sampleLocked is what p reads as now, without regard to the broker link.
func (d *Driver) sampleLocked(p *point, now time.Time) drivers.Sample {
	s := drivers.Sample{Ref: p.cfg.Ref(), Time: now}
	switch {
	case p.dev.offline:
		s.Err = fmt.Errorf("%s: %w", p.dev.cfg.AvailabilityTopic, ErrOffline)
	case !p.have:
		s.Err = fmt.Errorf("on %s: %w", p.dev.cfg.Topic, ErrNoMessage)
	case p.err != nil:
		s.Err = p.err
	default:
		s.Value = p.val
	}
	return s
}

func (d *Driver) subscribersLocked() []func(drivers.Sample) {
	out := make([]func(drivers.Sample), 0, len(d.subs))
	for _, f := range d.subs {
		out = append(out, f)
	}
	return out
}

func deliver(subs []func(drivers.Sample), samples []drivers.Sample) {
	for _, s := range samples {
		for _, f := range subs {
			f(s)
		}
	}
}

// Read returns the latest value of each ref, stamped now. A point whose
// device has sent nothing yet, is offline, or sent a bad payload reads as a
// sample with Err; so does every point while the broker is unreachable.
func (d *Driver) Read(ctx context.Context, refs []drivers.PointRef) ([]drivers.Sample, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := d.now()
	connected := d.client.IsConnectionOpen()
	out := make([]drivers.Sample, len(refs))
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, ref := range refs {
		p, ok := d.points[ref]
		if !ok {
			return nil, fmt.Errorf("read %s on %s: %w", ref, d.conn.Name, ErrUnknownPoint)
		}
		if !connected {
			out[i] = drivers.Sample{Ref: ref, Time: now, Err: fmt.Errorf("%s: %w", d.conn.URL.Redacted(), ErrNotConnected)}
			continue
		}
		out[i] = d.sampleLocked(p, now)
	}
	return out, nil
}

// Write publishes the command for v on the device's command topic at QoS 1
// and waits for the broker's acknowledgement, then for the device's next
// state message (at most the connection's timeout), so that a read-back
// sees the device's answer. It refuses to queue a command while the broker
// is unreachable: a command sent late could do harm.
func (d *Driver) Write(ctx context.Context, ref drivers.PointRef, v drivers.Value) error {
	p, ok := d.points[ref]
	if !ok {
		return fmt.Errorf("write %s on %s: %w", ref, d.conn.Name, ErrUnknownPoint)
	}
	topic := p.dev.cfg.CommandTopic
	if !p.cfg.Writable() || topic == "" {
		return fmt.Errorf("write %s: %w", ref, ErrNotWritable)
	}
	payload, err := CommandPayload(p.cfg, v)
	if err != nil {
		return fmt.Errorf("write %s = %s: %w", ref, v, err)
	}
	if !d.client.IsConnectionOpen() {
		return fmt.Errorf("write %s = %s to %s: %w", ref, v, topic, ErrNotConnected)
	}
	d.mu.Lock()
	changed := p.dev.changed
	d.mu.Unlock()
	tok := d.client.Publish(topic, QoS, false, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("write %s = %s: publish to %s: %w", ref, v, topic, err)
		}
	case <-ctx.Done():
		return fmt.Errorf("write %s = %s: publish to %s: %w", ref, v, topic, ctx.Err())
	}
	wait := time.NewTimer(d.conn.Timeout)
	defer wait.Stop()
	select {
	case <-changed:
	case <-wait.C:
	case <-ctx.Done():
	}
	return nil
}

// Subscribe delivers every sample of the connection's points as messages
// arrive, until ctx ends or the driver is closed. deliver is called from
// the client's message goroutine, one sample at a time; it must not block.
func (d *Driver) Subscribe(ctx context.Context, deliverFn func(drivers.Sample)) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	id := d.nextSub
	d.nextSub++
	d.subs[id] = deliverFn
	d.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-d.done:
	}
	d.mu.Lock()
	delete(d.subs, id)
	d.mu.Unlock()
	return nil
}

// Stats reports how many state messages arrived and how many failed to
// parse.
func (d *Driver) Stats() (messages, bad uint64) { return d.messages.Load(), d.badMsgs.Load() }

// Connected reports whether the client is connected to the broker now.
func (d *Driver) Connected() bool { return d.client.IsConnectionOpen() }

// Close disconnects from the broker (waiting at most 250 ms for work in
// flight) and ends every Subscribe. It is safe to call more than once.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.done)
	d.mu.Unlock()
	d.client.Disconnect(250)
	return nil
}

func truncate(b []byte) string {
	const maxLen = 64
	if len(b) > maxLen {
		return string(b[:maxLen]) + "…"
	}
	return string(b)
}
