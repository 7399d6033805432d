package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// mqttBase is base with a site broker, a sensor, an MQTT broadcast box, a
// remote sign point, north and an embedded broker. Line numbers in the cases
// below count from its first line.
const mqttBase = base + `      power: {remote: true}
  hall:
    kind: occupancy
    connection: site
    topic: z2m/hall
    points:
      occupied: {field: occupancy, type: bool}
  box:
    kind: pa
    connection: site
    topic: pa/box/state
    command_topic: pa/box/set
    points:
      play: {field: playing, type: string, access: write, command: "{{json}}", remote: true}
      volume: {field: volume, access: write, command: '{"volume": {{value}}}'}
north:
  connection: site
  homeassistant: true
broker:
  listen: 127.0.0.1:0
  users_file: users.txt
`

// The sign's profile point is given a remote flag: base's sign device gains
// a points section, and the site connection is added.
func mqttCenter(t *testing.T) string {
	t.Helper()
	y := strings.Replace(mqttBase, "    sign: {nominal_current: 2.4}\n", "    sign: {nominal_current: 2.4}\n    points:\n", 1)
	return strings.Replace(y, "devices:\n", "  site:\n    url: mqtt://127.0.0.1:1883\n    username: beacon\n    password: ${BEACON_MQTT_PASSWORD}\ndevices:\n", 1)
}

func TestMQTTSectionsResolve(t *testing.T) {
	path := writeCenter(t, mqttCenter(t))
	cfg, diags, err := Check(path)
	if err != nil || cfg == nil {
		t.Fatalf("Check: %v\n%v", err, diags)
	}
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	site := cfg.Connection("site")
	if site.ClientID != "beacon-test-county-test-center-site" {
		t.Errorf("client id = %q", site.ClientID)
	}
	n := cfg.North
	if n == nil || n.Connection != site || n.Prefix != "beacon" || !n.HomeAssistant || n.DiscoveryPrefix != "homeassistant" {
		t.Fatalf("north = %+v", n)
	}
	b := cfg.Broker
	if b == nil || b.Listen != "127.0.0.1:0" || b.UsersFile != filepath.Join(filepath.Dir(path), "users.txt") {
		t.Fatalf("broker = %+v", b)
	}
	for _, tc := range []struct {
		dev, point, command string
		remote              bool
	}{
		{"sign", "power", "", true},
		{"sign", "current", "", false},
		{"box", "play", "{{json}}", true},
		{"box", "volume", `{"volume": {{value}}}`, false},
	} {
		p := cfg.Device(tc.dev).Point(tc.point)
		if p == nil || p.Command != tc.command || p.Remote != tc.remote {
			t.Errorf("%s.%s = %+v, want command %q remote %v", tc.dev, tc.point, p, tc.command, tc.remote)
		}
	}
}

func TestMQTTProblems(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"remote on a read-only point", "      occupied: {field: occupancy, type: bool}", "      occupied: {field: occupancy, type: bool, remote: true}",
			[]string{`center.yaml:28:56: devices.hall.points.occupied.remote: remote commands need a writable point (access: write)`}},
		{"command template without a value", `command: '{"volume": {{value}}}'`, `command: '{"volume": 5}'`,
			[]string{`center.yaml:36:55: devices.box.points.volume.command: command template "{\"volume\": 5}" has no {{value}} (or {{json}}) to put the value in`}},
		{"command template that is not JSON", `command: '{"volume": {{value}}}'`, `command: '{"volume": {{value}}'`,
			[]string{`center.yaml:36:55: devices.box.points.volume.command: command template "{\"volume\": {{value}}" is not JSON once the value is filled in ({"volume": 1)`}},
		{"{{json}} on a number point", `command: '{"volume": {{value}}}'`, `command: '{{json}}'`,
			[]string{`center.yaml:36:55: devices.box.points.volume.command: {{json}} needs a string point whose value is JSON; use {{value}} for a number`}},
		{"writable point without a command topic", "    command_topic: pa/box/set\n", "",
			[]string{`center.yaml:29:3: devices.box.command_topic: missing required field (the topic the device takes commands on; point "play" is writable)`,
				`center.yaml:34:7: devices.box.points: a pa needs a "power" point (amplifier on Modbus) or a command_topic (an MQTT broadcast box)`}},
		{"wildcard in a topic", "topic: z2m/hall", "topic: z2m/+",
			[]string{`center.yaml:26:12: devices.hall.topic: topic "z2m/+" may not hold the wildcards + or #`}},
		{"north on a Modbus connection", "  connection: site\n  homeassistant", "  connection: bus\n  homeassistant",
			[]string{`center.yaml:38:15: north.connection: connection "bus" is tcp, not an MQTT connection`}},
		{"north connection misspelt", "  connection: site\n  homeassistant", "  connection: sit\n  homeassistant",
			[]string{`center.yaml:38:15: north.connection: unknown connection "sit"; did you mean "site"?`}},
		{"bad prefix", "  homeassistant: true\n", "  homeassistant: true\n  prefix: /beacon\n",
			[]string{`center.yaml:40:11: north.prefix: prefix "/beacon" may not start or end with '/' or hold an empty level`}},
		{"broker without users", "  users_file: users.txt\n", "",
			[]string{`center.yaml:40:1: broker.users_file: missing required field (a file of name:bcrypt-hash lines; the broker admits no anonymous clients)`}},
		{"broker listen without a port", "listen: 127.0.0.1:0", "listen: 127.0.0.1",
			[]string{`center.yaml:41:11: broker.listen: bad listen address "127.0.0.1": write HOST:PORT, such as 127.0.0.1:1883`}},
		{"ca_file on plain mqtt", "    username: beacon\n", "    username: beacon\n    ca_file: ca.pem\n",
			[]string{`center.yaml:13:14: connections.site.ca_file: ca_file applies only to mqtts:// connections`}},
		{"command on a Modbus point", "      power: {remote: true}", "      power: {remote: true, command: '{{value}}'}",
			[]string{`center.yaml:22:38: devices.sign.points.power.command: command applies only to points on an MQTT connection`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := mqttCenter(t)
			if !strings.Contains(y, tc.old) {
				t.Fatalf("config has no %q", tc.old)
			}
			got := checkLines(t, strings.Replace(y, tc.old, tc.new, 1))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
