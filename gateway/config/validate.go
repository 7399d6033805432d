package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defaults applied where a config says nothing.
const (
	DefaultTimeout        = time.Second
	DefaultPoll           = 5 * time.Second
	DefaultMaxGap         = 8
	DefaultLitFraction    = 0.7
	DefaultTravelTimeout  = 60 * time.Second
	DefaultHoldOff        = 2 * time.Minute
	DefaultWarmUp         = 2 * time.Second
	DefaultHeartbeat      = time.Minute
	DefaultOutboxMaxSize  = 256 << 20
	DefaultAPIListen      = "127.0.0.1:8080"
	DefaultInfluxBatch    = 5000
	DefaultInfluxFlush    = 10 * time.Second
	DefaultJobGrace       = 10 * time.Minute
	maxRegistersPerRead   = 125 // Modbus V1.1b3 §6.3, FC03/FC04
	maxModbusAddress      = 65535
	minPoll               = 100 * time.Millisecond
	maxConnectionInFlight = 16
)

var (
	idPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	envPattern  = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
)

// errorf records an error at the field path (or the nearest written
// ancestor).
func (l *loader) errorf(path, format string, args ...any) {
	l.diags = append(l.diags, Diagnostic{Pos: l.posOf(path), Path: path, Message: fmt.Sprintf(format, args...)})
}

// errorKey records an error at the key of path rather than its value: for
// problems with the entry as a whole.
func (l *loader) errorKey(path, format string, args ...any) {
	pos, ok := l.keyAt[path]
	if !ok {
		pos = l.posOf(path)
	}
	l.diags = append(l.diags, Diagnostic{Pos: pos, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (l *loader) warnf(path, format string, args ...any) {
	l.diags = append(l.diags, Diagnostic{Pos: l.posOf(path), Path: path, Message: fmt.Sprintf(format, args...), Warning: true})
}

// missing reports a required field that is absent, at its parent's key.
func (l *loader) missing(path, what string) {
	if l.suggested[path] {
		return // already reported as a misspelt key
	}
	if _, written := l.at[path]; written {
		return // written but unreadable: already reported by the decoder
	}
	// Point at the key of the nearest enclosing entry that was written.
	pos := Pos{File: l.file, Line: 1, Col: 1}
	for p := path; ; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
		if kp, ok := l.keyAt[p]; ok {
			pos = kp
			break
		}
	}
	msg := "missing required field"
	if what != "" {
		msg += " (" + what + ")"
	}
	l.diags = append(l.diags, Diagnostic{Pos: pos, Path: path, Message: msg})
}

// posOf finds where path was written: its value, else its key, else the
// nearest written ancestor, else the top of the center file.
func (l *loader) posOf(path string) Pos {
	for p := path; ; {
		if pos, ok := l.at[p]; ok {
			return pos
		}
		if pos, ok := l.keyAt[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return Pos{File: l.file, Line: 1, Col: 1}
		}
		p = p[:i]
	}
}

func (l *loader) validate(raw *rawFile) *Config {
	cfg := &Config{File: l.file}
	l.validateCenter(&raw.Center, &cfg.Center)
	for _, rc := range raw.Connections {
		if c := l.validateConnection(rc); c != nil {
			cfg.Connections = append(cfg.Connections, c)
		}
	}
	profiles := map[string]*rawProfile{}
	for i := range raw.Profiles {
		p := &raw.Profiles[i]
		profiles[p.Name] = p
		l.validateProfile(p)
	}
	for i := range raw.Devices {
		if d := l.validateDevice(cfg, &raw.Devices[i], profiles); d != nil {
			cfg.Devices = append(cfg.Devices, d)
		}
	}
	for i, e := range raw.Calendar {
		if ce, ok := l.validateCalendarEntry(fmt.Sprintf("calendar[%d]", i), e, cfg.Center.Location); ok {
			cfg.Calendar = append(cfg.Calendar, ce)
		}
	}
	names := map[string]string{}
	for i := range raw.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if r := l.validateRule(cfg, path, &raw.Rules[i]); r != nil {
			if first, dup := names[r.Name]; dup {
				l.errorf(path+".name", "duplicate rule name %q (first used at %s)", r.Name, first)
				continue
			}
			names[r.Name] = path
			cfg.Rules = append(cfg.Rules, r)
		}
	}
	l.validateClock(raw.Clock, &cfg.Clock)
	cfg.QuietHours = l.validateQuietHours(raw.QuietHours)
	l.validateTelemetry(&raw.Telemetry, &cfg.Telemetry)
	l.validateAPI(&raw.API, &cfg.API)
	l.validateMQTT(raw, cfg)
	return cfg
}

func (l *loader) validateCenter(rc *rawCenter, c *Center) {
	c.ID, c.Name, c.County, c.Timezone = rc.ID, rc.Name, rc.County, rc.Timezone
	l.checkID("center.id", rc.ID)
	l.checkID("center.county", rc.County)
	if strings.TrimSpace(rc.Name) == "" {
		l.missing("center.name", "the center's display name")
	}
	switch rc.Timezone {
	case "":
		l.missing("center.timezone", "an IANA time zone such as Asia/Shanghai")
	case "Local":
		l.errorf("center.timezone", `"Local" depends on the machine; name the zone, such as Asia/Shanghai`)
	default:
		loc, err := time.LoadLocation(rc.Timezone)
		if err != nil {
			l.errorf("center.timezone", "unknown time zone %q: use an IANA name such as Asia/Shanghai", rc.Timezone)
		}
		c.Location = loc
	}
	if rc.Location == nil {
		l.missing("center.location", "lat and lon of the center, for sunrise and sunset")
		return
	}
	if rc.Location.Lat == nil {
		l.missing("center.location.lat", "")
	} else if c.Lat = *rc.Location.Lat; c.Lat < -90 || c.Lat > 90 {
		l.errorf("center.location.lat", "latitude %v is outside -90 to 90", c.Lat)
	}
	if rc.Location.Lon == nil {
		l.missing("center.location.lon", "")
	} else if c.Lon = *rc.Location.Lon; c.Lon < -180 || c.Lon > 180 {
		l.errorf("center.location.lon", "longitude %v is outside -180 to 180", c.Lon)
	}
}

func (l *loader) checkID(path, id string) {
	switch {
	case id == "":
		l.missing(path, "")
	case !idPattern.MatchString(id):
		l.errorf(path, "%q may hold only lowercase letters, digits and '-', starting with a letter or digit (it is used in MQTT topics and InfluxDB tags)", id)
	}
}

func (l *loader) checkName(path, name string) bool {
	if !namePattern.MatchString(name) {
		l.errorf(path, "name %q may hold only lowercase letters, digits, '-' and '_', starting with a letter or digit (it is used in MQTT topics and InfluxDB tags)", name)
		return false
	}
	return true
}

func (l *loader) validateConnection(rc rawConnection) *Connection {
	path := "connections." + rc.Name
	if !l.checkName(path, rc.Name) {
		return nil
	}
	c := &Connection{Name: rc.Name, Timeout: DefaultTimeout, InFlight: 1, MaxGap: DefaultMaxGap, Username: rc.Username}
	if rc.Timeout != nil {
		c.Timeout = *rc.Timeout
		if c.Timeout == 0 || c.Timeout > time.Minute {
			l.errorf(path+".timeout", "timeout %v must be more than 0 and at most 1m", c.Timeout)
		}
	}
	if rc.URL == "" {
		l.missing(path+".url", "tcp://HOST:PORT, rtu:///dev/ttyUSB0?baud=9600, rtutcp://HOST:PORT or mqtt://HOST:PORT")
		return c
	}
	u, err := url.Parse(rc.URL)
	if err != nil {
		l.errorf(path+".url", "bad URL %q: %v", rc.URL, unwrapURLError(err))
		return c
	}
	if u.User != nil {
		l.errorf(path+".url", "the URL must not hold a user or password; use username and password_file")
		u.User = nil
	}
	c.URL, c.Protocol = u, Protocol(u.Scheme)
	switch c.Protocol {
	case ModbusTCP, ModbusRTUOverTCP, MQTT, MQTTS:
		l.checkHostPort(path+".url", u)
	case ModbusRTU:
		c.Serial = l.validateSerial(path+".url", u)
	default:
		l.errorf(path+".url", "unknown scheme %q in %q: use tcp, rtu, rtutcp, mqtt or mqtts", u.Scheme, rc.URL)
	}
	if rc.InFlight != nil {
		c.InFlight = *rc.InFlight
		switch {
		case c.Protocol != ModbusTCP:
			l.errorf(path+".in_flight", "in_flight applies only to Modbus TCP (tcp://) connections")
		case c.InFlight < 1 || c.InFlight > maxConnectionInFlight:
			l.errorf(path+".in_flight", "in_flight %d must be 1 to %d", c.InFlight, maxConnectionInFlight)
		}
	}
	if rc.MaxGap != nil {
		c.MaxGap = *rc.MaxGap
		if c.MaxGap < 0 || c.MaxGap > maxRegistersPerRead {
			l.errorf(path+".max_gap", "max_gap %d must be 0 to %d registers", c.MaxGap, maxRegistersPerRead)
		}
	}
	if !c.Protocol.IsMQTT() {
		for _, f := range []struct{ name, val string }{{"username", rc.Username}, {"password", rc.Password}, {"password_file", rc.PasswordFile}} {
			if f.val != "" {
				l.errorf(path+"."+f.name, "%s applies only to MQTT connections", f.name)
			}
		}
		return c
	}
	c.Password = l.secret(path, "password", rc.Password, rc.PasswordFile)
	if c.Password.IsSet() && c.Username == "" {
		l.missing(path+".username", "a password needs a username")
	}
	return c
}

// secret resolves a secret given as NAME: ${ENV} or NAME_file: path. A
// literal secret is refused, and its value is never echoed.
func (l *loader) secret(path, name, inline, file string) Secret {
	switch {
	case inline != "" && file != "":
		l.errorf(path+"."+name, "give %s or %s_file, not both", name, name)
	case inline != "":
		m := envPattern.FindStringSubmatch(inline)
		if m == nil {
			l.errorf(path+"."+name, "a secret may not be written in the config; use %s_file: PATH or %s: ${ENV_VAR}", name, name)
			return Secret{}
		}
		return Secret{Env: m[1]}
	case file != "":
		return Secret{File: l.src.abs(file)}
	}
	return Secret{}
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func (l *loader) checkHostPort(path string, u *url.URL) {
	if u.Host == "" || u.Hostname() == "" {
		l.errorf(path, "%s URL needs a host: %s://HOST:PORT", u.Scheme, u.Scheme)
		return
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			l.errorf(path, "port %q must be 1 to 65535", p)
		}
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		l.errorf(path, "%s URL takes only a host and port, not a path or query", u.Scheme)
	}
}

func (l *loader) validateSerial(path string, u *url.URL) *Serial {
	s := &Serial{Device: u.Path, Baud: 9600, DataBits: 8, Parity: "E", StopBits: 1}
	if u.Host != "" || u.Path == "" {
		l.errorf(path, "an RTU URL names the serial device after three slashes: rtu:///dev/ttyUSB0?baud=9600&parity=E&stop=1")
		return s
	}
	q := u.Query()
	stopGiven := false
	for key, vals := range q {
		v := vals[0]
		switch key {
		case "baud":
			n, err := strconv.Atoi(v)
			if err != nil || n < 300 || n > 921600 {
				l.errorf(path, "baud %q must be a number from 300 to 921600", v)
			}
			s.Baud = n
		case "parity":
			s.Parity = strings.ToUpper(v)
			if s.Parity != "N" && s.Parity != "E" && s.Parity != "O" {
				l.errorf(path, "parity %q must be N, E or O", v)
			}
		case "stop":
			stopGiven = true
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 2 {
				l.errorf(path, "stop bits %q must be 1 or 2", v)
			}
			s.StopBits = n
		case "data":
			n, err := strconv.Atoi(v)
			if err != nil || n < 7 || n > 8 {
				l.errorf(path, "data bits %q must be 7 or 8", v)
			}
			s.DataBits = n
		default:
			opts := []string{"baud", "parity", "stop", "data"}
			msg := fmt.Sprintf("unknown serial option %q", key)
			if hint := closest(key, opts); hint != "" {
				msg += fmt.Sprintf("; did you mean %q?", hint)
			}
			l.errorf(path, "%s", msg)
		}
	}
	// Modbus over Serial Line V1.02 §2.5.1: no parity needs two stop bits
	// to keep 11 bits per character.
	if s.Parity == "N" && !stopGiven {
		s.StopBits = 2
	}
	return s
}
