package config

import "time"

// The raw schema: what a center file (and a profile file) may say, field by
// field, as written. Optional fields that a device may override over its
// profile are pointers, so that "not written" differs from "zero". The
// resolved model that the rest of Beacon uses is in model.go.

type rawFile struct {
	Center      rawCenter       `yaml:"center"`
	Connections []rawConnection `yaml:"connections"`
	Profiles    []rawProfile    `yaml:"profiles"`
	Devices     []rawDevice     `yaml:"devices"`
	Rules       []rawRule       `yaml:"rules"`
	Calendar    []rawCalEntry   `yaml:"calendar"`
	Telemetry   rawTelemetry    `yaml:"telemetry"`
	API         rawAPI          `yaml:"api"`
	North       *rawNorth       `yaml:"north"`       // mqtt.go
	Broker      *rawBroker      `yaml:"broker"`      // mqtt.go
	Clock       *rawClock       `yaml:"clock"`       // schedule.go
	QuietHours  *rawQuietHours  `yaml:"quiet_hours"` // schedule.go
}

type rawCenter struct {
	ID       string       `yaml:"id"`
	Name     string       `yaml:"name"`
	County   string       `yaml:"county"`
	Timezone string       `yaml:"timezone"`
	Location *rawLocation `yaml:"location"`
}

type rawLocation struct {
	Lat *float64 `yaml:"lat"`
	Lon *float64 `yaml:"lon"`
}

type rawConnection struct {
	Name         string         `yaml:"name,key"`
	URL          string         `yaml:"url"`
	Timeout      *time.Duration `yaml:"timeout"`
	Username     string         `yaml:"username"`
	Password     string         `yaml:"password,secret"`
	PasswordFile string         `yaml:"password_file"`
	// InFlight is how many Modbus TCP requests may be outstanding at once.
	InFlight *int `yaml:"in_flight"`
	// MaxGap is how many unused registers the read planner may bridge.
	MaxGap *int `yaml:"max_gap"`
	// CAFile adds a CA to the system roots of an mqtts connection.
	CAFile string `yaml:"ca_file"`
	// ClientID overrides an MQTT connection's client id.
	ClientID string `yaml:"client_id"`
}

// rawProfile is a reusable register map of a model of hardware, given
// inline under profiles: or as a file in a profiles directory.
type rawProfile struct {
	Name        string     `yaml:"name,key"`
	Description string     `yaml:"description"`
	Kind        string     `yaml:"kind"`
	Points      []rawPoint `yaml:"points"`
}

// rawProfileFile is the shape of configs/profiles/NAME.yaml.
type rawProfileFile struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Kind        string     `yaml:"kind"`
	Points      []rawPoint `yaml:"points"`
}

type rawPoint struct {
	Name    string         `yaml:"name,key"`
	Table   *string        `yaml:"table"`
	Address *int           `yaml:"address"`
	Bit     *int           `yaml:"bit"`
	Type    *string        `yaml:"type"`
	Order   *string        `yaml:"order"`
	Count   *int           `yaml:"count"`
	Scale   *float64       `yaml:"scale"`
	Offset  *float64       `yaml:"offset"`
	Unit    *string        `yaml:"unit"`
	Access  *string        `yaml:"access"`
	Poll    *time.Duration `yaml:"poll"`
	Safe    Literal        `yaml:"safe"`
	Field   *string        `yaml:"field"`
	Command *string        `yaml:"command"` // MQTT command template, mqtt.go
	Remote  *bool          `yaml:"remote"`  // commands from MQTT north
}

type rawDevice struct {
	Name              string         `yaml:"name,key"`
	Kind              string         `yaml:"kind"`
	Description       string         `yaml:"description"`
	Connection        string         `yaml:"connection"`
	Unit              *int           `yaml:"unit"`
	Topic             string         `yaml:"topic"`
	CommandTopic      string         `yaml:"command_topic"`
	AvailabilityTopic string         `yaml:"availability_topic"`
	Profile           string         `yaml:"profile"`
	Poll              *time.Duration `yaml:"poll"`
	Points            []rawPoint     `yaml:"points"`
	Sign              *rawSign       `yaml:"sign"`
	Flagpole          *rawFlagpole   `yaml:"flagpole"`
	Occupancy         *rawOccupancy  `yaml:"occupancy"`
	PA                *rawPA         `yaml:"pa"`
}

type rawSign struct {
	NominalCurrent *float64 `yaml:"nominal_current"`
	LitFraction    *float64 `yaml:"lit_fraction"`
}

type rawFlagpole struct {
	TravelTimeout *time.Duration `yaml:"travel_timeout"`
	WindResume    *time.Duration `yaml:"wind_resume"`
	MaxWind       *float64       `yaml:"max_wind"`
	ReplaceAfter  *time.Duration `yaml:"replace_after"`
}

type rawOccupancy struct {
	Room    string         `yaml:"room"`
	HoldOff *time.Duration `yaml:"hold_off"`
}

type rawPA struct {
	WarmUp  *time.Duration `yaml:"warm_up"`
	Zones   []int          `yaml:"zones"`
	Player  string         `yaml:"player"`
	Volume  *int           `yaml:"volume"`
	MaxClip *time.Duration `yaml:"max_clip"`
	Clips   []rawClip      `yaml:"clips"`
}

// rawClip is one recorded announcement a PA can play.
type rawClip struct {
	Name   string         `yaml:"name,key"`
	ID     *int           `yaml:"id"`
	File   string         `yaml:"file"`
	Length *time.Duration `yaml:"length"`
}

type rawRule struct {
	Name      string         `yaml:"name"`
	Between   []string       `yaml:"between"`
	At        string         `yaml:"at"`
	Cron      string         `yaml:"cron"`
	Days      []string       `yaml:"days"`
	Only      []string       `yaml:"only"`
	Except    []string       `yaml:"except"`
	Set       Assignments    `yaml:"set"`
	Otherwise Assignments    `yaml:"otherwise"`
	Broadcast *rawBroadcast  `yaml:"broadcast"`
	Flag      *rawFlagAction `yaml:"flag"`
	Grace     *time.Duration `yaml:"grace"`
	When      []rawCondition `yaml:"when"`
}

type rawBroadcast struct {
	Device string `yaml:"device"`
	Clip   string `yaml:"clip"`
	Text   string `yaml:"text"`
	Zones  []int  `yaml:"zones"`
	Volume *int   `yaml:"volume"`
}

type rawFlagAction struct {
	Device string `yaml:"device"`
	Action string `yaml:"action"`
}

type rawCalEntry struct {
	Date   string   `yaml:"date"`
	Yearly string   `yaml:"yearly"`
	From   string   `yaml:"from"`
	To     string   `yaml:"to"`
	Tags   []string `yaml:"tags"`
	Note   string   `yaml:"note"`
}

type rawTelemetry struct {
	Outbox    *rawOutbox     `yaml:"outbox"`
	Influx    *rawInflux     `yaml:"influx"`
	Heartbeat *time.Duration `yaml:"heartbeat"`
}

type rawOutbox struct {
	Path    string `yaml:"path"`
	MaxSize string `yaml:"max_size"`
}

type rawInflux struct {
	URL       string         `yaml:"url"`
	Bucket    string         `yaml:"bucket"`
	Org       string         `yaml:"org"`
	Token     string         `yaml:"token,secret"`
	TokenFile string         `yaml:"token_file"`
	Batch     *int           `yaml:"batch"`
	Flush     *time.Duration `yaml:"flush"`
}

type rawAPI struct {
	Listen     string  `yaml:"listen"`
	TokensFile string  `yaml:"tokens_file"`
	TLS        *rawTLS `yaml:"tls"`
}

type rawTLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}
