package config

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/beacon-edge/beacon/drivers"
)

// MQTT settings (issue 6): the northbound publisher (north:), the embedded
// broker (broker:), the CA file of an mqtts connection, and two point
// fields: command (the JSON command template of a writable MQTT point) and
// remote (the point takes commands from MQTT north).

// Defaults of the MQTT sections.
const (
	DefaultNorthPrefix     = "beacon"
	DefaultDiscoveryPrefix = "homeassistant"
	DefaultBrokerListen    = "127.0.0.1:1883"
)

// The placeholders of a point's command template.
const (
	// CommandValue is replaced by the JSON encoding of the value written
	// (true, 60, "morning-news"), after the inverse of scale and offset.
	CommandValue = "{{value}}"
	// CommandJSON is replaced by the text of a string point's value as it
	// is: the value is itself JSON, such as a broadcast box's
	// {"play":"morning-news","volume":60,"zones":[1,2]}.
	CommandJSON = "{{json}}"
)

type rawNorth struct {
	Connection      string `yaml:"connection"`
	Prefix          string `yaml:"prefix"`
	HomeAssistant   bool   `yaml:"homeassistant"`
	DiscoveryPrefix string `yaml:"discovery_prefix"`
}

type rawBroker struct {
	Listen    string `yaml:"listen"`
	UsersFile string `yaml:"users_file"`
}

// North is where the gateway publishes its state and takes commands: a
// connection of the center (mqtt:// or mqtts://), which may be one its
// MQTT devices use too.
type North struct {
	Connection *Connection
	// Prefix is the first topic level, "beacon" by default: state goes to
	// PREFIX/COUNTY/CENTER/DEVICE/POINT.
	Prefix string
	// HomeAssistant turns on Home Assistant MQTT discovery, published under
	// DiscoveryPrefix ("homeassistant" by default).
	HomeAssistant   bool
	DiscoveryPrefix string
}

// Broker is the embedded MQTT broker, for sites without one.
type Broker struct {
	Listen string // HOST:PORT
	// UsersFile holds one "name:bcrypt-hash" line per user (htpasswd -B
	// format); the broker admits only those users.
	UsersFile string
}

// resolvePointMQTT applies a point's remote and command fields; it reports
// false when either is wrong. proto is empty when the point's connection
// did not resolve.
func (l *loader) resolvePointMQTT(p *Point, rp rawPoint, proto Protocol, fieldPath func(string) string) bool {
	ok := true
	if rp.Remote != nil {
		if p.Remote = *rp.Remote; p.Remote && !p.Writable() {
			l.errorf(fieldPath("remote"), "remote commands need a writable point (access: write)")
			ok = false
		}
	}
	if rp.Command == nil {
		return ok
	}
	p.Command = *rp.Command
	switch {
	case proto != "" && !proto.IsMQTT():
		l.errorf(fieldPath("command"), "command applies only to points on an MQTT connection")
		ok = false
	case !p.Writable():
		l.errorf(fieldPath("command"), "a command template needs a writable point (access: write)")
		ok = false
	default:
		if err := CheckCommandTemplate(p.Command, p.Type.ValueKind()); err != nil {
			l.errorf(fieldPath("command"), "%v", err)
			ok = false
		}
	}
	return ok
}

// CheckCommandTemplate reports whether tmpl is a usable command template for
// a point of the given kind: it holds {{value}} or (for a string point)
// {{json}}, and it is valid JSON once they are filled in.
func CheckCommandTemplate(tmpl string, kind drivers.Kind) error {
	hasValue, hasJSON := strings.Contains(tmpl, CommandValue), strings.Contains(tmpl, CommandJSON)
	switch {
	case !hasValue && !hasJSON:
		return fmt.Errorf("command template %q has no %s (or %s) to put the value in", tmpl, CommandValue, CommandJSON)
	case hasJSON && kind != drivers.KindString:
		return fmt.Errorf("%s needs a string point whose value is JSON; use %s for a %s", CommandJSON, CommandValue, kind)
	}
	sample := map[drivers.Kind]string{drivers.KindBool: "true", drivers.KindNumber: "1", drivers.KindString: `"x"`}[kind]
	filled := strings.ReplaceAll(strings.ReplaceAll(tmpl, CommandValue, sample), CommandJSON, `{"x":1}`)
	if !json.Valid([]byte(filled)) {
		return fmt.Errorf("command template %q is not JSON once the value is filled in (%s)", tmpl, filled)
	}
	return nil
}

// CheckTopic reports whether s may be published to: not empty, no
// wildcards, no NUL, at most 65535 bytes (MQTT 3.1.1 §4.7.3, §1.5.3).
func CheckTopic(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("a topic may not be empty")
	case strings.ContainsAny(s, "+#"):
		return fmt.Errorf("topic %q may not hold the wildcards + or #", s)
	case strings.ContainsRune(s, 0):
		return fmt.Errorf("topic %q may not hold a NUL character", s)
	case len(s) > 65535:
		return fmt.Errorf("topic is longer than 65535 bytes")
	}
	return nil
}

// validateMQTT checks what the MQTT sections and fields say as a whole,
// after connections and devices are resolved.
func (l *loader) validateMQTT(raw *rawFile, cfg *Config) {
	for _, rc := range raw.Connections {
		c := cfg.Connection(rc.Name)
		if c == nil {
			continue
		}
		if c.Protocol.IsMQTT() {
			c.ClientID = "beacon-" + cfg.Center.County + "-" + cfg.Center.ID + "-" + c.Name
			if rc.ClientID != "" {
				c.ClientID = rc.ClientID
			}
		} else if rc.ClientID != "" {
			l.errorf("connections."+rc.Name+".client_id", "client_id applies only to MQTT connections")
		}
		if rc.CAFile == "" {
			continue
		}
		if c.Protocol != MQTTS {
			l.errorf("connections."+rc.Name+".ca_file", "ca_file applies only to mqtts:// connections")
			continue
		}
		c.CAFile = l.src.abs(rc.CAFile)
	}
	for _, d := range cfg.Devices {
		if d.Connection == nil || !d.Connection.Protocol.IsMQTT() {
			continue
		}
		path := "devices." + d.Name
		for _, f := range []struct{ name, val string }{{"topic", d.Topic}, {"command_topic", d.CommandTopic}, {"availability_topic", d.AvailabilityTopic}} {
			if f.val == "" {
				continue
			}
			if err := CheckTopic(f.val); err != nil {
				l.errorf(path+"."+f.name, "%v", err)
			}
		}
		if d.CommandTopic != "" {
			continue
		}
		for _, p := range d.Points {
			if p.Writable() {
				l.missing(path+".command_topic", fmt.Sprintf("the topic the device takes commands on; point %q is writable", p.Name))
				break
			}
		}
	}
	if rn := raw.North; rn != nil {
		cfg.North = l.validateNorth(rn, cfg)
	}
	if rb := raw.Broker; rb != nil {
		cfg.Broker = l.validateBroker(rb)
	}
}

func (l *loader) validateNorth(rn *rawNorth, cfg *Config) *North {
	n := &North{Prefix: DefaultNorthPrefix, HomeAssistant: rn.HomeAssistant, DiscoveryPrefix: DefaultDiscoveryPrefix}
	switch {
	case rn.Connection == "":
		l.missing("north.connection", "the name of the mqtt:// or mqtts:// connection to publish on")
	default:
		n.Connection = cfg.Connection(rn.Connection)
		if n.Connection == nil {
			names := make([]string, len(cfg.Connections))
			for i, c := range cfg.Connections {
				names[i] = c.Name
			}
			l.unknownRef("north.connection", "connection", rn.Connection, names)
		} else if !n.Connection.Protocol.IsMQTT() {
			l.errorf("north.connection", "connection %q is %s, not an MQTT connection", rn.Connection, n.Connection.Protocol)
		}
	}
	for _, f := range []struct {
		name string
		val  string
		dst  *string
	}{{"prefix", rn.Prefix, &n.Prefix}, {"discovery_prefix", rn.DiscoveryPrefix, &n.DiscoveryPrefix}} {
		if f.val == "" {
			continue
		}
		*f.dst = f.val
		if err := CheckTopic(f.val); err != nil {
			l.errorf("north."+f.name, "%v", err)
		} else if strings.HasPrefix(f.val, "/") || strings.HasSuffix(f.val, "/") || strings.Contains(f.val, "//") {
			l.errorf("north."+f.name, "%s %q may not start or end with '/' or hold an empty level", f.name, f.val)
		}
	}
	if rn.DiscoveryPrefix != "" && !rn.HomeAssistant {
		l.warnf("north.discovery_prefix", "discovery_prefix has no effect without homeassistant: true")
	}
	return n
}

func (l *loader) validateBroker(rb *rawBroker) *Broker {
	b := &Broker{Listen: DefaultBrokerListen}
	if rb.Listen != "" {
		b.Listen = rb.Listen
		host, port, err := net.SplitHostPort(rb.Listen)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 0 || n > 65535 {
			l.errorf("broker.listen", "bad listen address %q: write HOST:PORT, such as 127.0.0.1:1883", rb.Listen)
		} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
			l.errorf("broker.listen", "listen host %q must be an IP address or localhost", host)
		}
	}
	if rb.UsersFile == "" {
		l.missing("broker.users_file", "a file of name:bcrypt-hash lines; the broker admits no anonymous clients")
	} else {
		b.UsersFile = l.src.abs(rb.UsersFile)
	}
	return b
}
