package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// base is a minimal valid center. Cases below replace parts of it; line
// numbers in their expectations count from the first line of each case's
// YAML.
const base = `center:
  id: test-center
  name: 测试中心
  county: test-county
  timezone: Asia/Shanghai
  location: {lat: 22.5, lon: 113.0}
connections:
  bus:
    url: tcp://127.0.0.1:1502
devices:
  sign:
    kind: sign
    connection: bus
    unit: 1
    profile: relay-meter
    sign: {nominal_current: 2.4}
`

// writeCenter puts yaml in a temp folder as center.yaml beside a copy of
// testdata/profiles, and returns its path.
func writeCenter(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ProfileDir), 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join("testdata", ProfileDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", ProfileDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ProfileDir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "center.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkLines loads yaml and returns its diagnostics as printed by beacon
// check, with the temp folder cut from the file names.
func checkLines(t *testing.T, yaml string) []string {
	t.Helper()
	path := writeCenter(t, yaml)
	_, diags, err := Check(path)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	dir := filepath.Dir(path) + string(filepath.Separator)
	var lines []string
	for _, d := range diags {
		lines = append(lines, strings.ReplaceAll(d.String(), dir, ""))
	}
	return lines
}

func TestBaseIsValid(t *testing.T) {
	if lines := checkLines(t, base); len(lines) != 0 {
		t.Fatalf("base config has diagnostics:\n%s", strings.Join(lines, "\n"))
	}
}

func TestDemoCenterIsValid(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "configs", "demo-center.yaml"))
	if err != nil {
		t.Fatalf("demo center: %v", err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("demo center warnings: %v", cfg.Warnings)
	}
	kinds := map[string]int{}
	for _, d := range cfg.Devices {
		kinds[d.Kind]++
	}
	want := map[string]int{KindSign: 1, KindFlagpole: 1, KindOccupancy: 3, KindPA: 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("demo center has %d %s devices, want %d", kinds[k], k, n)
		}
	}
}

// replace returns base with old replaced by new, failing if old is absent.
func replace(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(base, old) {
		t.Fatalf("base has no %q", old)
	}
	return strings.Replace(base, old, new, 1)
}

func TestCheckReportsProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml func(t *testing.T) string
		want []string
	}{
		{"typo in a key", func(t *testing.T) string { return replace(t, "  timezone:", "  timezon:") },
			[]string{`center.yaml:5:3: center.timezon: unknown field "timezon"; did you mean "timezone"?`}},
		{"unknown key without a near miss", func(t *testing.T) string {
			return replace(t, "  name: 测试中心\n", "  name: 测试中心\n  colour: red\n")
		},
			[]string{`center.yaml:4:3: center.colour: unknown field "colour"`}},
		{"bad time zone", func(t *testing.T) string { return replace(t, "Asia/Shanghai", "Asia/Shangai") },
			[]string{`center.yaml:5:13: center.timezone: unknown time zone "Asia/Shangai": use an IANA name such as Asia/Shanghai`}},
		{"Local time zone", func(t *testing.T) string { return replace(t, "Asia/Shanghai", "Local") },
			[]string{`center.yaml:5:13: center.timezone: "Local" depends on the machine; name the zone, such as Asia/Shanghai`}},
		{"latitude out of range", func(t *testing.T) string { return replace(t, "lat: 22.5", "lat: 123") },
			[]string{`center.yaml:6:19: center.location.lat: latitude 123 is outside -90 to 90`}},
		{"longitude out of range", func(t *testing.T) string { return replace(t, "lon: 113.0", "lon: -181") },
			[]string{`center.yaml:6:30: center.location.lon: longitude -181 is outside -180 to 180`}},
		{"latitude not a number", func(t *testing.T) string { return replace(t, "lat: 22.5", "lat: north") },
			[]string{`center.yaml:6:19: center.location.lat: expected a number, got "north"`}},
		{"missing county", func(t *testing.T) string { return replace(t, "  county: test-county\n", "") },
			[]string{`center.yaml:1:1: center.county: missing required field`}},
		{"center id with capitals", func(t *testing.T) string { return replace(t, "id: test-center", "id: Test_Center") },
			[]string{`center.yaml:2:7: center.id: "Test_Center" may hold only lowercase letters, digits and '-', starting with a letter or digit (it is used in MQTT topics and InfluxDB tags)`}},
		{"missing location", func(t *testing.T) string { return replace(t, "  location: {lat: 22.5, lon: 113.0}\n", "") },
			[]string{`center.yaml:1:1: center.location: missing required field (lat and lon of the center, for sunrise and sunset)`}},
		{"YAML syntax error", func(t *testing.T) string { return replace(t, "    unit: 1\n", "    unit: [1\n") },
			[]string{`center.yaml:14:1: YAML syntax: did not find expected ',' or ']'`}},
		{"unquoted ${ENV} in a flow mapping", func(t *testing.T) string {
			return replace(t, "devices:\n", "  broker: {url: \"mqtt://127.0.0.1:1883\", username: b, password: ${PW}}\ndevices:\n")
		}, []string{`center.yaml:10:1: YAML syntax: did not find expected ',' or '}'; quote a ${ENV} reference inside { … }: password: "${MQTT_PASSWORD}"`}},
		{"unknown URL scheme", func(t *testing.T) string { return replace(t, "tcp://127.0.0.1:1502", "modbus://127.0.0.1:1502") },
			[]string{`center.yaml:9:10: connections.bus.url: unknown scheme "modbus" in "modbus://127.0.0.1:1502": use tcp, rtu, rtutcp, mqtt or mqtts`}},
		{"bad port", func(t *testing.T) string { return replace(t, "tcp://127.0.0.1:1502", "tcp://127.0.0.1:70000") },
			[]string{`center.yaml:9:10: connections.bus.url: port "70000" must be 1 to 65535`}},
		{"RTU URL with a host", func(t *testing.T) string { return replace(t, "tcp://127.0.0.1:1502", "rtu://dev/ttyUSB0") },
			[]string{`center.yaml:9:10: connections.bus.url: an RTU URL names the serial device after three slashes: rtu:///dev/ttyUSB0?baud=9600&parity=E&stop=1`}},
		{"RTU bad parity and unknown option", func(t *testing.T) string {
			return replace(t, "tcp://127.0.0.1:1502", "rtu:///dev/ttyUSB0?baud=9600&parity=X&bauds=2")
		}, []string{
			`center.yaml:9:10: connections.bus.url: parity "X" must be N, E or O`,
			`center.yaml:9:10: connections.bus.url: unknown serial option "bauds"; did you mean "baud"?`,
		}},
		{"bad duration", func(t *testing.T) string {
			return replace(t, "    url: tcp://127.0.0.1:1502\n", "    url: tcp://127.0.0.1:1502\n    timeout: 5 min\n")
		},
			[]string{`center.yaml:10:14: connections.bus.timeout: bad duration "5 min": write it like 500ms, 30s, 15m or 1h30m`}},
		{"literal secret is refused and not printed", func(t *testing.T) string {
			return replace(t, "devices:\n", "  broker:\n    url: mqtt://127.0.0.1:1883\n    username: beacon\n    password: hunter2\ndevices:\n")
		}, []string{
			`center.yaml:13:15: connections.broker.password: a secret may not be written in the config; use password_file: PATH or password: ${ENV_VAR}`,
		}},
		{"secret of the wrong type is not printed", func(t *testing.T) string {
			return replace(t, "devices:\n", "  broker:\n    url: mqtt://127.0.0.1:1883\n    username: beacon\n    password: {hunter2: x}\ndevices:\n")
		}, []string{
			`center.yaml:13:15: connections.broker.password: expected a string, got a mapping`,
		}},
		{"dangling connection", func(t *testing.T) string { return replace(t, "connection: bus", "connection: buss") },
			[]string{`center.yaml:13:17: devices.sign.connection: unknown connection "buss"; did you mean "bus"?`}},
		{"dangling profile", func(t *testing.T) string { return replace(t, "profile: relay-meter", "profile: relay-metre") },
			[]string{`center.yaml:15:14: devices.sign.profile: unknown profile "relay-metre"; did you mean "relay-meter"?`}},
		{"unknown device kind", func(t *testing.T) string { return replace(t, "kind: sign", "kind: sing") },
			[]string{`center.yaml:12:11: devices.sign.kind: unknown device kind "sing"; did you mean "sign"?`}},
		{"unit out of range for RTU", func(t *testing.T) string {
			return strings.Replace(replace(t, "tcp://127.0.0.1:1502", "rtu:///dev/ttyUSB0?baud=9600"), "unit: 1", "unit: 248", 1)
		}, []string{`center.yaml:14:11: devices.sign.unit: unit 248 is outside 1 to 247 for a rtu connection`}},
		{"missing unit", func(t *testing.T) string { return replace(t, "    unit: 1\n", "") },
			[]string{`center.yaml:11:3: devices.sign.unit: missing required field (the Modbus unit (slave) id)`}},
		{"duplicate device name", func(t *testing.T) string { return base + "  sign:\n    kind: generic\n" },
			[]string{`center.yaml:17:3: devices.sign: duplicate name "sign" (first defined at line 11)`}},
		{"duplicate key", func(t *testing.T) string { return replace(t, "    unit: 1\n", "    unit: 1\n    unit: 2\n") },
			[]string{`center.yaml:15:5: devices.sign.unit: field "unit" is given twice`}},
		{"wrong type for unit", func(t *testing.T) string { return replace(t, "unit: 1", "unit: one") },
			[]string{`center.yaml:14:11: devices.sign.unit: expected an integer, got "one"`}},
		{"register range past 65535", func(t *testing.T) string {
			return base + "    points:\n      energy: {table: holding, address: 65535, type: uint32}\n"
		}, []string{`center.yaml:18:41: devices.sign.points.energy.address: registers 65535 to 65536 run past 65535, the last Modbus address`}},
		{"address beyond 65535", func(t *testing.T) string {
			return base + "    points:\n      energy: {table: holding, address: 65536}\n"
		}, []string{`center.yaml:18:41: devices.sign.points.energy.address: address 65536 is outside 0 to 65535`}},
		{"string longer than one read", func(t *testing.T) string {
			return base + "    points:\n      label: {table: holding, address: 100, type: string, count: 126}\n"
		}, []string{`center.yaml:18:66: devices.sign.points.label.count: 126 registers is more than one Modbus read allows (125)`}},
		{"write to an input register", func(t *testing.T) string {
			return base + "    points:\n      current: {access: write}\n"
		}, []string{`center.yaml:18:25: devices.sign.points.current.access: input registers are read-only in Modbus; a writable point needs a coil or holding register`}},
		{"unknown type with a near miss", func(t *testing.T) string {
			return base + "    points:\n      energy: {table: holding, address: 10, type: unit32}\n"
		}, []string{`center.yaml:18:51: devices.sign.points.energy.type: unknown type "unit32"; did you mean "uint32"?`}},
		{"unknown byte order", func(t *testing.T) string {
			return base + "    points:\n      energy: {table: holding, address: 10, type: uint32, order: ACBD}\n"
		}, []string{`center.yaml:18:66: devices.sign.points.energy.order: unknown byte order "ACBD"; did you mean "ABCD"?`}},
		{"unknown byte order far from any", func(t *testing.T) string {
			return base + "    points:\n      energy: {table: holding, address: 10, type: uint32, order: big}\n"
		}, []string{`center.yaml:18:66: devices.sign.points.energy.order: unknown byte order "big"; use one of [ABCD CDAB BADC DCBA]`}},
		{"bool type required in a coil", func(t *testing.T) string {
			return base + "    points:\n      power: {type: int16}\n"
		}, []string{
			`center.yaml:18:21: devices.sign.points.power.type: a coil holds single bits; its type must be bool, not int16`,
		}},
		{"safe value of the wrong type", func(t *testing.T) string {
			return base + "    points:\n      power: {safe: maybe}\n"
		}, []string{`center.yaml:18:21: devices.sign.points.power.safe: "maybe" is not a boolean (true/false, on/off, 1/0) for a bool point`}},
		{"overlapping registers get a warning", func(t *testing.T) string {
			return base + "    points:\n      total: {table: holding, address: 10, type: uint32}\n      low: {table: holding, address: 11, type: int16}\n"
		}, []string{`center.yaml:19:38: devices.sign.points.low.address: warning: holding 11–11 overlaps point "total" (holding 10–11) with a different type (int16, not uint32)`}},
		{"rule names an unknown point", func(t *testing.T) string {
			return base + "rules:\n  - name: night\n    between: [sunset-15m, sunrise+15m]\n    set: {sign.powr: true}\n"
		}, []string{`center.yaml:20:11: rules[0].set.sign.powr: unknown point of sign "powr"; did you mean "power"?`}},
		{"rule writes a read-only point", func(t *testing.T) string {
			return base + "rules:\n  - name: night\n    between: [sunset-15m, sunrise+15m]\n    set: {sign.current: 2}\n"
		}, []string{`center.yaml:20:11: rules[0].set.sign.current: point sign.current is read-only; a rule can set only points with access: write`}},
		{"rule with a bad time", func(t *testing.T) string {
			return base + "rules:\n  - name: night\n    between: [sunset-15, sunrise+15m]\n    set: {sign.power: true}\n"
		}, []string{`center.yaml:19:15: rules[0].between[0]: bad offset "15" in "sunset-15": write it like sunset-15m or sunset+1h`}},
		{"rule with a bad cron", func(t *testing.T) string {
			return base + "rules:\n  - name: news\n    cron: \"61 7 * * *\"\n    set: {sign.power: true}\n"
		}, []string{`center.yaml:19:11: rules[0].cron: bad cron expression "61 7 * * *": end of range (61) above maximum (59): 61`}},
		{"rule with a bad day and no form", func(t *testing.T) string {
			return base + "rules:\n  - name: news\n    days: [mon, funday]\n    set: {sign.power: true}\n"
		}, []string{
			`center.yaml:18:5: rules[0]: a rule needs exactly one of between (a window), at or cron (a job)`,
			`center.yaml:19:17: rules[0].days[1]: unknown day "funday": use mon, tue, wed, thu, fri, sat or sun`,
		}},
		{"broadcast to a device that is not a PA", func(t *testing.T) string {
			return base + "rules:\n  - name: news\n    at: \"07:30\"\n    broadcast: {device: sign, clip: news}\n"
		}, []string{`center.yaml:20:25: rules[0].broadcast.device: device "sign" is a sign, not a pa`}},
		{"duplicate rule name", func(t *testing.T) string {
			return base + "rules:\n  - name: night\n    at: \"22:00\"\n    set: {sign.power: false}\n  - name: night\n    at: \"06:00\"\n    set: {sign.power: true}\n"
		}, []string{`center.yaml:21:11: rules[1].name: duplicate rule name "night" (first used at rules[0])`}},
		{"calendar with a bad date and no tags", func(t *testing.T) string {
			return base + "calendar:\n  - date: 2026-02-30\n"
		}, []string{
			`center.yaml:18:5: calendar[0].tags: missing required field (what the day is, such as half-mast, holiday or no-broadcast)`,
			`center.yaml:18:11: calendar[0].date: bad date "2026-02-30": write it as YYYY-MM-DD`,
		}},
		{"sign without nominal current", func(t *testing.T) string { return replace(t, "    sign: {nominal_current: 2.4}\n", "") },
			[]string{`center.yaml:11:3: devices.sign.sign.nominal_current: missing required field (the sign's commissioned current in A, measured when fully lit)`}},
		{"settings for another kind", func(t *testing.T) string { return base + "    flagpole: {travel_timeout: 30s}\n" },
			[]string{`center.yaml:17:5: devices.sign.flagpole: settings for a flagpole on a device of kind "sign"`}},
		{"telemetry with a bad size and influx token literal", func(t *testing.T) string {
			return base + "telemetry:\n  outbox: {max_size: lots}\n  influx: {url: \"ftp://x\", bucket: b, token: s3cret}\n"
		}, []string{
			`center.yaml:18:22: telemetry.outbox.max_size: bad size "lots": write it like 256MiB or 2GiB`,
			`center.yaml:19:17: telemetry.influx.url: bad URL "ftp://x": write http://HOST:PORT or https://HOST:PORT`,
			`center.yaml:19:46: telemetry.influx.token: a secret may not be written in the config; use token_file: PATH or token: ${ENV_VAR}`,
		}},
		{"api listen without a port", func(t *testing.T) string { return base + "api:\n  listen: 127.0.0.1\n" },
			[]string{`center.yaml:18:11: api.listen: bad listen address "127.0.0.1": write HOST:PORT, such as 127.0.0.1:8080`}},
		{"errors come sorted by line, all at once", func(t *testing.T) string {
			s := replace(t, "lat: 22.5", "lat: 123")
			s = strings.Replace(s, "  timezone:", "  timezon:", 1)
			return strings.Replace(s, "unit: 1", "unit: one", 1)
		}, []string{
			`center.yaml:5:3: center.timezon: unknown field "timezon"; did you mean "timezone"?`,
			`center.yaml:6:19: center.location.lat: latitude 123 is outside -90 to 90`,
			`center.yaml:14:11: devices.sign.unit: expected an integer, got "one"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkLines(t, tt.yaml(t))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("diagnostics:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
			for _, line := range got {
				for _, secret := range []string{"hunter2", "s3cret"} {
					if strings.Contains(line, secret) {
						t.Errorf("a secret is printed: %s", line)
					}
				}
			}
		})
	}
}

func TestLoadReturnsTypedError(t *testing.T) {
	_, err := Load(writeCenter(t, replace(t, "lat: 22.5", "lat: 123")))
	var cerr *Error
	if !errors.As(err, &cerr) || len(cerr.Diagnostics.Errors()) != 1 {
		t.Fatalf("Load error = %v, want *Error with one diagnostic", err)
	}
}
