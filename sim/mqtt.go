package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/beacon-edge/beacon/drivers/mqtt"
	"github.com/beacon-edge/beacon/gateway/config"
)

// mqttDevice is a simulated sensor that publishes JSON, Zigbee2MQTT style:
// {"occupancy":true,"illuminance":120}, on its topic, on every change and
// every mqttRepublish, and says "online"/"offline" on its availability
// topic.
type mqttDevice struct {
	cfg      *config.Device
	client   paho.Client
	faults   map[Fault]bool
	last     string
	lastSent time.Time
	online   *bool
}

// mqttRepublish is how often an unchanged state is published again.
const mqttRepublish = 60 * time.Second

// StartMQTT connects the center's MQTT devices to their brokers, as the
// config says (the site's broker, or the embedded one). It waits up to
// timeout for each connection.
func (c *Center) StartMQTT(timeout time.Duration) error {
	for _, conn := range c.cfg.Connections {
		if !conn.Protocol.IsMQTT() {
			continue
		}
		var devs []*config.Device
		for _, d := range c.cfg.Devices {
			if d.Connection == conn {
				devs = append(devs, d)
			}
		}
		if len(devs) == 0 {
			continue
		}
		opts, err := mqtt.ClientOptions(conn, "beaconsim-"+c.cfg.Center.ID+"-"+conn.Name, mqtt.Timings{})
		if err != nil {
			return fmt.Errorf("simulate MQTT devices of %s: %w", conn.Name, err)
		}
		opts.SetCleanSession(true)
		client := paho.NewClient(opts)
		tok := client.Connect()
		if !tok.WaitTimeout(timeout) {
			client.Disconnect(0)
			return fmt.Errorf("simulate MQTT devices of %s: no connection to %s within %v", conn.Name, conn.URL.Redacted(), timeout)
		}
		if err := tok.Error(); err != nil {
			return fmt.Errorf("simulate MQTT devices of %s: %w", conn.Name, err)
		}
		c.mu.Lock()
		for _, d := range devs {
			c.mqttDevices = append(c.mqttDevices, &mqttDevice{cfg: d, client: client, faults: map[Fault]bool{}})
		}
		c.mu.Unlock()
		c.log.Info("simulating MQTT devices", "connection", conn.Name, "broker", conn.URL.Redacted(), "devices", len(devs))
	}
	return nil
}

// advanceMQTT publishes what changed; c.mu held.
func (c *Center) advanceMQTT(now time.Time) {
	for _, d := range c.mqttDevices {
		online := !d.faults[FaultOffline]
		if d.cfg.AvailabilityTopic != "" && (d.online == nil || *d.online != online) {
			payload := map[bool]string{true: "online", false: "offline"}[online]
			d.client.Publish(d.cfg.AvailabilityTopic, 1, true, payload)
			d.online = &online
		}
		if !online {
			continue
		}
		payload := d.state(now, c)
		if payload == d.last && now.Sub(d.lastSent) < mqttRepublish {
			continue
		}
		d.client.Publish(d.cfg.Topic, 1, false, payload)
		d.last, d.lastSent = payload, now
	}
}

// state is the device's JSON message now: each point's field, nested
// along its dotted path.
func (d *mqttDevice) state(now time.Time, c *Center) string {
	loc := c.cfg.Center.Location
	if loc == nil {
		loc = time.UTC
	}
	t := now.In(loc)
	h := float64(t.Hour()) + float64(t.Minute())/60
	inUse := roomInUse(d.cfg.Name, h)
	msg := map[string]any{}
	for _, p := range d.cfg.Points {
		var v any
		switch p.Name {
		case "occupied":
			v = inUse
		case "count":
			v = 0
			if inUse {
				v = 12
			}
		case "illuminance":
			// Daylight from 07:00 to 18:00, lights when the room is used.
			lux := 0.0
			if h >= 7 && h < 18 {
				lux = 300 * math.Sin((h-7)/11*math.Pi)
			}
			if inUse {
				lux += 250
			}
			v = math.Round(lux)
		default:
			continue
		}
		setPath(msg, p.Field, v)
	}
	b, _ := json.Marshal(msg)
	return string(b)
}

func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, k := range parts[:len(parts)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// closeMQTT disconnects the simulated MQTT devices.
func (c *Center) closeMQTT() {
	c.mu.Lock()
	devs := c.mqttDevices
	c.mqttDevices = nil
	c.mu.Unlock()
	seen := map[paho.Client]bool{}
	for _, d := range devs {
		if !seen[d.client] {
			seen[d.client] = true
			d.client.Disconnect(250)
		}
	}
}
