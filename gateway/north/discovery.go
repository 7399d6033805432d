package north

import (
	"encoding/json"
	"strings"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

// Home Assistant MQTT discovery
// (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery): one
// retained config message per entity at
// DISCOVERY_PREFIX/COMPONENT/NODE/OBJECT/config, NODE being
// beacon_COUNTY_CENTER. Each Beacon device is a Home Assistant device, via
// the gateway's own device (whose one entity is its connectivity). Every
// entity is available while the gateway's status is "online" and its
// point's quality is "good".
//
// A point becomes:
//   - a remote bool: switch (a sign's power, a PA's power and zones); a
//     remote number: number; a remote string: text. Their commands are set
//     commands by "homeassistant", with the default expiry.
//   - a flagpole's command and position: one cover (open = raise, 1;
//     close = lower, 2; stop, 0: the flagpole-controller profile's codes).
//   - otherwise a bool: binary_sensor (an occupancy sensor's occupied with
//     device_class occupancy); a number or string: sensor.

// Message is one MQTT message to publish.
type Message struct {
	Topic   string
	Payload []byte
}

// haAuthor is the "by" of Home Assistant's commands.
const haAuthor = "homeassistant"

// Flagpole command codes (configs/profiles/flagpole-controller.yaml).
const (
	flagStop  = 0
	flagRaise = 1
	flagLower = 2
)

type haDevice struct {
	Identifiers   []string `json:"identifiers"`
	Name          string   `json:"name"`
	Manufacturer  string   `json:"manufacturer,omitempty"`
	Model         string   `json:"model,omitempty"`
	ViaDevice     string   `json:"via_device,omitempty"`
	SuggestedArea string   `json:"suggested_area,omitempty"`
}

type haAvailability struct {
	Topic         string `json:"topic"`
	ValueTemplate string `json:"value_template,omitempty"`
}

// haEntity holds the fields Beacon uses of every MQTT platform; each
// component reads the ones it knows.
type haEntity struct {
	Name              string           `json:"name"`
	UniqueID          string           `json:"unique_id"`
	Device            haDevice         `json:"device"`
	Availability      []haAvailability `json:"availability,omitempty"`
	AvailabilityMode  string           `json:"availability_mode,omitempty"`
	StateTopic        string           `json:"state_topic,omitempty"`
	ValueTemplate     string           `json:"value_template,omitempty"`
	CommandTopic      string           `json:"command_topic,omitempty"`
	CommandTemplate   string           `json:"command_template,omitempty"`
	PayloadOn         string           `json:"payload_on,omitempty"`
	PayloadOff        string           `json:"payload_off,omitempty"`
	StateOn           string           `json:"state_on,omitempty"`
	StateOff          string           `json:"state_off,omitempty"`
	PayloadOpen       string           `json:"payload_open,omitempty"`
	PayloadClose      string           `json:"payload_close,omitempty"`
	PayloadStop       string           `json:"payload_stop,omitempty"`
	PositionTopic     string           `json:"position_topic,omitempty"`
	PositionTemplate  string           `json:"position_template,omitempty"`
	PositionOpen      *int             `json:"position_open,omitempty"`
	PositionClosed    *int             `json:"position_closed,omitempty"`
	DeviceClass       string           `json:"device_class,omitempty"`
	UnitOfMeasurement string           `json:"unit_of_measurement,omitempty"`
	StateClass        string           `json:"state_class,omitempty"`
	Icon              string           `json:"icon,omitempty"`
	Optimistic        *bool            `json:"optimistic,omitempty"`
}

const (
	boolTemplate  = "{{ 'ON' if value_json.value else 'OFF' }}"
	valueTemplate = "{{ value_json.value }}"
	goodTemplate  = "{{ 'online' if value_json.quality == 'good' else 'offline' }}"
)

// unitClasses maps a point's unit to a sensor device class.
var unitClasses = map[string]string{"A": "current", "V": "voltage", "W": "power", "lx": "illuminance", "m/s": "wind_speed", "°C": "temperature"}

// Discovery returns the discovery config messages of cfg's devices, with
// state and command topics under base (PREFIX/COUNTY/CENTER), sorted as the
// config lists devices and points.
func Discovery(cfg *config.Config, base string) []Message {
	c := cfg.Center
	node := "beacon_" + underscore(c.County) + "_" + underscore(c.ID)
	status := base + "/status"
	gw := haDevice{Identifiers: []string{node}, Name: c.Name, Manufacturer: "Beacon", Model: "Beacon gateway"}
	prefix := cfg.North.DiscoveryPrefix
	var out []Message
	add := func(component, object string, e haEntity) {
		b, _ := json.Marshal(e)
		out = append(out, Message{Topic: prefix + "/" + component + "/" + node + "/" + object + "/config", Payload: b})
	}
	add("binary_sensor", "gateway", haEntity{Name: "Gateway", UniqueID: node + "_gateway", Device: gw,
		StateTopic: status, PayloadOn: Online, PayloadOff: Offline, DeviceClass: "connectivity"})
	off, on := haCommand(drivers.Bool(false)), haCommand(drivers.Bool(true))
	for _, d := range cfg.Devices {
		dev := haDevice{Identifiers: []string{node + "_" + underscore(d.Name)}, Name: deviceName(d), ViaDevice: node}
		if d.Occupancy != nil {
			dev.SuggestedArea = d.Occupancy.Room
		}
		entity := func(p *config.Point, name string) haEntity {
			state := base + "/" + d.Name + "/" + p.Name
			return haEntity{Name: name, UniqueID: node + "_" + underscore(d.Name) + "_" + underscore(p.Name), Device: dev,
				Availability:     []haAvailability{{Topic: status}, {Topic: state, ValueTemplate: goodTemplate}},
				AvailabilityMode: "all", StateTopic: state}
		}
		skip := map[string]bool{}
		if d.Kind == config.KindFlagpole {
			if cmd, pos := d.Point("command"), d.Point("position"); cmd != nil && pos != nil {
				e := entity(pos, "Flag")
				e.UniqueID = node + "_" + underscore(d.Name)
				e.StateTopic, e.Icon = "", "mdi:flag"
				e.PositionTopic, e.PositionTemplate = e.Availability[1].Topic, valueTemplate
				e.PositionOpen, e.PositionClosed = ptr(100), ptr(0)
				if cmd.Remote {
					e.CommandTopic = base + "/" + d.Name + "/command/set"
					e.PayloadOpen, e.PayloadClose, e.PayloadStop = haCommand(drivers.Number(flagRaise)), haCommand(drivers.Number(flagLower)), haCommand(drivers.Number(flagStop))
				}
				add("cover", underscore(d.Name), e)
				skip["command"], skip["position"] = true, true
			}
		}
		for _, p := range d.Points {
			if skip[p.Name] {
				continue
			}
			e := entity(p, humanize(p.Name))
			object := underscore(d.Name) + "_" + underscore(p.Name)
			command := e.StateTopic + "/set"
			switch kind := p.Type.ValueKind(); {
			case p.Remote && kind == drivers.KindBool:
				e.ValueTemplate, e.CommandTopic, e.PayloadOn, e.PayloadOff, e.StateOn, e.StateOff = boolTemplate, command, on, off, "ON", "OFF"
				if d.Kind == config.KindSign && p.Name == "power" {
					e.Icon = "mdi:sign-text"
				}
				add("switch", object, e)
			case p.Remote && kind == drivers.KindNumber:
				e.ValueTemplate, e.CommandTopic, e.UnitOfMeasurement = valueTemplate, command, p.Unit
				e.CommandTemplate = `{"value": {{ value }}, "by": "` + haAuthor + `"}`
				add("number", object, e)
			case p.Remote && kind == drivers.KindString:
				e.ValueTemplate, e.CommandTopic = valueTemplate, command
				e.CommandTemplate = `{"value": {{ value | tojson }}, "by": "` + haAuthor + `"}`
				add("text", object, e)
			case kind == drivers.KindBool:
				e.ValueTemplate = boolTemplate
				if d.Kind == config.KindOccupancy && p.Name == "occupied" {
					e.DeviceClass = "occupancy"
				}
				add("binary_sensor", object, e)
			default:
				e.ValueTemplate = valueTemplate
				if kind == drivers.KindNumber {
					e.UnitOfMeasurement, e.DeviceClass, e.StateClass = p.Unit, unitClasses[p.Unit], "measurement"
				}
				add("sensor", object, e)
			}
		}
	}
	return out
}

// haCommand is the set command Home Assistant sends for v.
func haCommand(v drivers.Value) string {
	var x any
	switch v.Kind() {
	case drivers.KindBool:
		x, _ = v.AsBool()
	case drivers.KindNumber:
		x, _ = v.AsNumber()
	}
	b, _ := json.Marshal(struct {
		Value any    `json:"value"`
		By    string `json:"by"`
	}{x, haAuthor})
	return string(b)
}

func deviceName(d *config.Device) string {
	if d.Description != "" {
		return d.Description
	}
	return humanize(d.Name)
}

// humanize turns "wind_speed" into "Wind speed".
func humanize(name string) string {
	s := strings.NewReplacer("_", " ", "-", " ").Replace(name)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// underscore makes a name safe for a discovery topic level and a unique id.
func underscore(s string) string { return strings.ReplaceAll(s, "-", "_") }

func ptr[T any](v T) *T { return &v }
