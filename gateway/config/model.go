package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/beacon-edge/beacon/drivers"
)

// Config is a validated center: every reference resolved, every default
// applied, profiles merged into their devices. Nothing past Load sees YAML.
type Config struct {
	// File is the path the config was loaded from, as given.
	File        string
	Center      Center
	Connections []*Connection
	Devices     []*Device
	Rules       []*Rule
	Calendar    []CalendarEntry
	Telemetry   Telemetry
	API         API
	North       *North  // MQTT north, nil when not configured (mqtt.go)
	Broker      *Broker // embedded MQTT broker, nil when not configured
	Clock       ClockTrust
	QuietHours  *QuietHours // nil: none
	// Warnings found while loading; a config with warnings still loads.
	Warnings Diagnostics
	// SchedulesFile is where the facility manager's schedule edits are
	// kept (overlay.go), whether or not the file exists yet; empty for a
	// config from an embedded file system, until set.
	SchedulesFile string
	// src is where the config was read from, for WithSchedules.
	src source
}

// Center identifies the site and places it in time and on the globe.
type Center struct {
	ID       string // lowercase letters, digits and '-'; used in topics and tags
	Name     string // any Unicode, e.g. 东山村党群服务中心
	County   string // same alphabet as ID
	Timezone string // IANA name, e.g. Asia/Shanghai
	Location *time.Location
	Lat, Lon float64 // degrees, north and east positive
}

// Protocol is what a connection speaks, from its URL scheme.
type Protocol string

// The connection protocols.
const (
	ModbusTCP        Protocol = "tcp"    // Modbus TCP (MBAP)
	ModbusRTU        Protocol = "rtu"    // Modbus RTU on a serial line
	ModbusRTUOverTCP Protocol = "rtutcp" // RTU frames through a serial device server
	MQTT             Protocol = "mqtt"
	MQTTS            Protocol = "mqtts"
)

// IsModbus reports whether p is one of the Modbus framings.
func (p Protocol) IsModbus() bool { return p == ModbusTCP || p == ModbusRTU || p == ModbusRTUOverTCP }

// IsMQTT reports whether p is MQTT, plain or over TLS.
func (p Protocol) IsMQTT() bool { return p == MQTT || p == MQTTS }

// Connection is one named link to devices.
type Connection struct {
	Name     string
	URL      *url.URL
	Protocol Protocol
	Timeout  time.Duration // per request
	Username string
	Password Secret
	InFlight int // Modbus TCP requests outstanding at once (default 1)
	MaxGap   int // registers the Modbus read planner may bridge (default 8)
	Serial   *Serial
	CAFile   string // mqtts: a CA added to the system roots
	ClientID string // MQTT client id, stable: beacon-COUNTY-CENTER-CONNECTION
}

// Serial holds the line settings of a Modbus RTU connection.
type Serial struct {
	Device   string // e.g. /dev/ttyUSB0
	Baud     int
	DataBits int
	Parity   string // "N", "E" or "O"
	StopBits int
}

// Secret names where a secret is kept: a file or an environment variable.
// It never holds the secret itself, so it cannot be printed by accident.
type Secret struct {
	File string // path, relative paths resolved against the config's folder
	Env  string // variable name, from ${NAME}
}

// IsSet reports whether a secret was configured.
func (s Secret) IsSet() bool { return s.File != "" || s.Env != "" }

// Read returns the secret's value, without a trailing newline.
func (s Secret) Read() (string, error) {
	switch {
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return v, nil
	}
	return "", nil
}

// String names the source, never the value.
func (s Secret) String() string {
	switch {
	case s.File != "":
		return "file " + s.File
	case s.Env != "":
		return "${" + s.Env + "}"
	}
	return "none"
}

// Device kinds.
const (
	KindSign      = "sign"
	KindFlagpole  = "flagpole"
	KindOccupancy = "occupancy"
	KindPA        = "pa"
	KindGeneric   = "generic"
)

// Device is one piece of hardware with its points.
type Device struct {
	Name        string
	Kind        string
	Description string
	Connection  *Connection
	Unit        int    // Modbus unit (slave) id, 0–247
	Topic       string // MQTT state topic
	// CommandTopic and AvailabilityTopic are MQTT topics for commands and
	// online/offline; empty when the device has none.
	CommandTopic      string
	AvailabilityTopic string
	Profile           string
	Points            []*Point
	Sign              *SignSettings
	Flagpole          *FlagpoleSettings
	Occupancy         *OccupancySettings
	PA                *PASettings
}

// Point returns the device's point of that name, or nil.
func (d *Device) Point(name string) *Point {
	for _, p := range d.Points {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// SignSettings: a sign is lit when its current is at least LitFraction of
// NominalCurrent.
type SignSettings struct {
	NominalCurrent float64 // A, as commissioned
	LitFraction    float64 // 0–1, default 0.7
}

// FlagpoleSettings bound each movement and the flag's life.
type FlagpoleSettings struct {
	TravelTimeout time.Duration // per step, default 60s
	MaxWind       float64       // m/s; above it the flag is lowered; 0 = no limit
	WindResume    time.Duration // calm this long before the schedule resumes, default 10m
	ReplaceAfter  time.Duration // hours flown before a "replace the flag" notice; 0 = none
}

// OccupancySettings name the room a sensor watches.
type OccupancySettings struct {
	Room    string
	HoldOff time.Duration // an occupied→empty change must last this long, default 2m
}

// PASettings describe a loudspeaker system.
type PASettings struct {
	WarmUp  time.Duration // amplifier power on → first sound, default 2s
	Zones   []int
	Player  string // local player command, e.g. "aplay -D hw:1"; empty = the device plays clips
	Volume  int    // default volume, 0–100
	MaxClip time.Duration
	Clips   []Clip
}

// Clip is a recorded announcement: the number the PA device plays it by,
// or the audio file a local player plays, and its length.
type Clip struct {
	Name   string
	ID     int    // written to the PA's "clip" point; 0 when played locally
	File   string // for a local player, relative to the config's folder
	Length time.Duration
}

// Clip returns the clip of that name, or nil.
func (pa *PASettings) Clip(name string) *Clip {
	for i := range pa.Clips {
		if pa.Clips[i].Name == name {
			return &pa.Clips[i]
		}
	}
	return nil
}

// Table is a Modbus data table.
type Table string

// The Modbus tables (Modbus Application Protocol V1.1b3 §4.3).
const (
	Coil     Table = "coil"     // read-write bits
	Discrete Table = "discrete" // read-only bits
	Holding  Table = "holding"  // read-write registers
	Input    Table = "input"    // read-only registers
)

// IsBits reports whether the table holds single bits.
func (t Table) IsBits() bool { return t == Coil || t == Discrete }

// Type is how a point's raw registers are read.
type Type string

// The point types.
const (
	TypeBool    Type = "bool"
	TypeInt16   Type = "int16"
	TypeUint16  Type = "uint16"
	TypeInt32   Type = "int32"
	TypeUint32  Type = "uint32"
	TypeInt64   Type = "int64"
	TypeUint64  Type = "uint64"
	TypeFloat32 Type = "float32"
	TypeFloat64 Type = "float64"
	TypeString  Type = "string"
)

// ValueKind is the kind of drivers.Value a point of this type carries.
func (t Type) ValueKind() drivers.Kind {
	switch t {
	case TypeBool:
		return drivers.KindBool
	case TypeString:
		return drivers.KindString
	}
	return drivers.KindNumber
}

// Registers is how many 16-bit registers a value of this type takes; for a
// string, count is its length in registers.
func (t Type) Registers(count int) int {
	switch t {
	case TypeBool, TypeInt16, TypeUint16:
		return 1
	case TypeInt32, TypeUint32, TypeFloat32:
		return 2
	case TypeInt64, TypeUint64, TypeFloat64:
		return 4
	case TypeString:
		return count
	}
	return 0
}

// Order is the word and byte order of a multi-register value: the letters
// name the bytes of the value, most significant first, as they appear on
// the wire. ABCD is Modbus's own big-endian order.
type Order string

// The byte orders.
const (
	ABCD Order = "ABCD" // big-endian words, big-endian bytes
	CDAB Order = "CDAB" // word-swapped
	BADC Order = "BADC" // byte-swapped within each word
	DCBA Order = "DCBA" // little-endian
)

// Access says whether Beacon may write a point.
type Access string

// The access modes.
const (
	Read  Access = "read"
	Write Access = "write" // written and read back
)

// Point is one value of a device, with how to reach it on the wire.
type Point struct {
	Device string
	Name   string
	// Modbus: Table and Address; Bit is 0–15 for a bool in a register, -1
	// otherwise. Count is a string's length in registers.
	Table   Table
	Address int
	Bit     int
	Type    Type
	Order   Order
	Count   int
	// Engineering value = raw × Scale + Offset.
	Scale  float64
	Offset float64
	Unit   string
	Access Access
	Poll   time.Duration
	// Safe is the value the point falls back to when nothing else is wanted
	// (the Default slot), or none.
	Safe drivers.Value
	// Field is the JSON field path of an MQTT point, e.g. "occupancy" or
	// "state.count".
	Field string
	// Command is the JSON template an MQTT point is written with (see
	// CommandValue); empty: {"FIELD": value} nested along Field's path.
	Command string
	// Remote: the point takes commands from MQTT north (issue 6).
	Remote bool
}

// Ref returns the point's device.point reference.
func (p *Point) Ref() drivers.PointRef { return drivers.PointRef{Device: p.Device, Point: p.Name} }

// Writable reports whether Beacon may write the point.
func (p *Point) Writable() bool { return p.Access == Write }

// Registers is how many registers (or bits, in a bit table) the point spans.
func (p *Point) Registers() int {
	if p.Table.IsBits() {
		return 1
	}
	return p.Type.Registers(p.Count)
}

// Rule is a schedule entry: a window that sets values (level-triggered), or
// a job at an instant (edge-triggered). Its behaviour is in package rules.
type Rule struct {
	Name      string
	Between   [2]string // time expressions; empty for a job
	At        string    // time expression of a job
	Cron      string    // cron expression of a job
	Days      []time.Weekday
	Only      []string // calendar tags the rule is limited to
	Except    []string // calendar tags the rule skips
	Set       []Setting
	Otherwise []Setting
	Broadcast *Broadcast
	Flag      *FlagAction
	Grace     time.Duration // how late a job may still run
	// When are conditions on points that must all hold for a window to be
	// open; a rule with conditions and no between is open whenever they do.
	When []Condition
}

// Condition holds when Point has had Value for at least For.
type Condition struct {
	Point drivers.PointRef
	Value drivers.Value
	For   time.Duration
}

// Setting is one value a rule wants for a point.
type Setting struct {
	Point drivers.PointRef
	Value drivers.Value
}

// Broadcast is a scheduled announcement.
type Broadcast struct {
	Device string
	Clip   string
	Text   string
	Zones  []int
	Volume int
}

// FlagAction is a scheduled flag movement.
type FlagAction struct {
	Device string
	Action string // raise, lower, half
}

// CalendarEntry tags a date, a yearly date or a range of dates.
type CalendarEntry struct {
	From, To time.Time // inclusive dates (midnight, center zone); equal for one day
	Yearly   bool      // From/To give month and day only, every year
	Tags     []string
	Note     string
}

// Telemetry says where measurements go.
type Telemetry struct {
	OutboxPath    string
	OutboxMaxSize int64 // bytes
	Heartbeat     time.Duration
	Influx        *Influx
}

// Influx is the central InfluxDB.
type Influx struct {
	URL    *url.URL
	Bucket string
	Org    string
	Token  Secret
	Batch  int
	Flush  time.Duration
}

// API is the gateway's HTTP API.
type API struct {
	Listen     string
	TokensFile string
	CertFile   string
	KeyFile    string
}

// Device returns the device of that name, or nil.
func (c *Config) Device(name string) *Device {
	for _, d := range c.Devices {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Point returns the point a ref names, or nil.
func (c *Config) Point(ref drivers.PointRef) *Point {
	if d := c.Device(ref.Device); d != nil {
		return d.Point(ref.Point)
	}
	return nil
}

// Connection returns the connection of that name, or nil.
func (c *Config) Connection(name string) *Connection {
	for _, conn := range c.Connections {
		if conn.Name == name {
			return conn
		}
	}
	return nil
}
