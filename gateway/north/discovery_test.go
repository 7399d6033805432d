package north

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/beacon-edge/beacon/gateway/config"
)

const haCenter = `center:
  id: dongshan
  name: 东山村党群服务中心
  county: xinhui
  timezone: Asia/Shanghai
  location: {lat: 22.47, lon: 113.03}
connections:
  site: {url: mqtt://127.0.0.1:1883}
  bus: {url: tcp://127.0.0.1:1502}
devices:
  sign:
    kind: sign
    description: Rooftop name sign
    connection: bus
    unit: 1
    sign: {nominal_current: 2.4}
    points:
      power: {table: coil, address: 0, access: write, remote: true}
      current: {table: input, address: 0, type: uint16, scale: 0.01, unit: A}
  flag:
    kind: flagpole
    connection: bus
    unit: 2
    points:
      command: {table: holding, address: 0, access: write, remote: true}
      position: {table: input, address: 0, scale: 0.1, unit: "%"}
  hall:
    kind: occupancy
    connection: site
    topic: z2m/hall
    points:
      occupied: {field: occupancy, type: bool}
    occupancy: {room: 多功能厅 Hall}
  pa:
    kind: pa
    connection: bus
    unit: 3
    points:
      power: {table: coil, address: 0, access: write, remote: true}
      volume: {table: holding, address: 0, access: write, unit: "%", remote: true}
north:
  connection: site
  homeassistant: true
`

func TestDiscovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "center.yaml")
	if err := os.WriteFile(path, []byte(haCenter), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	msgs := Discovery(cfg, "beacon/xinhui/dongshan")
	var topics []string
	byTopic := map[string]map[string]any{}
	for _, m := range msgs {
		topics = append(topics, m.Topic)
		var v map[string]any
		if err := json.Unmarshal(m.Payload, &v); err != nil {
			t.Fatalf("%s: payload is not a JSON object: %v", m.Topic, err)
		}
		byTopic[m.Topic] = v
	}
	wantTopics := []string{
		"homeassistant/binary_sensor/beacon_xinhui_dongshan/gateway/config",
		"homeassistant/switch/beacon_xinhui_dongshan/sign_power/config",
		"homeassistant/sensor/beacon_xinhui_dongshan/sign_current/config",
		"homeassistant/cover/beacon_xinhui_dongshan/flag/config",
		"homeassistant/binary_sensor/beacon_xinhui_dongshan/hall_occupied/config",
		"homeassistant/switch/beacon_xinhui_dongshan/pa_power/config",
		"homeassistant/number/beacon_xinhui_dongshan/pa_volume/config",
	}
	if strings.Join(topics, "\n") != strings.Join(wantTopics, "\n") {
		t.Fatalf("topics:\n%s\nwant:\n%s", strings.Join(topics, "\n"), strings.Join(wantTopics, "\n"))
	}
	avail := func(point string) []any {
		return []any{
			map[string]any{"topic": "beacon/xinhui/dongshan/status"},
			map[string]any{"topic": "beacon/xinhui/dongshan/" + point, "value_template": "{{ 'online' if value_json.quality == 'good' else 'offline' }}"},
		}
	}
	dev := func(name, id string) map[string]any {
		return map[string]any{"identifiers": []any{"beacon_xinhui_dongshan_" + id}, "name": name, "via_device": "beacon_xinhui_dongshan"}
	}
	want := map[string]map[string]any{
		"homeassistant/binary_sensor/beacon_xinhui_dongshan/gateway/config": {
			"name": "Gateway", "unique_id": "beacon_xinhui_dongshan_gateway", "device_class": "connectivity",
			"state_topic": "beacon/xinhui/dongshan/status", "payload_on": "online", "payload_off": "offline",
			"device": map[string]any{"identifiers": []any{"beacon_xinhui_dongshan"}, "name": "东山村党群服务中心", "manufacturer": "Beacon", "model": "Beacon gateway"},
		},
		"homeassistant/switch/beacon_xinhui_dongshan/sign_power/config": {
			"name": "Power", "unique_id": "beacon_xinhui_dongshan_sign_power", "device": dev("Rooftop name sign", "sign"),
			"availability": avail("sign/power"), "availability_mode": "all",
			"state_topic": "beacon/xinhui/dongshan/sign/power", "value_template": "{{ 'ON' if value_json.value else 'OFF' }}",
			"command_topic": "beacon/xinhui/dongshan/sign/power/set",
			"payload_on":    `{"value":true,"by":"homeassistant"}`, "payload_off": `{"value":false,"by":"homeassistant"}`,
			"state_on": "ON", "state_off": "OFF", "icon": "mdi:sign-text",
		},
		"homeassistant/sensor/beacon_xinhui_dongshan/sign_current/config": {
			"name": "Current", "unique_id": "beacon_xinhui_dongshan_sign_current", "device": dev("Rooftop name sign", "sign"),
			"availability": avail("sign/current"), "availability_mode": "all",
			"state_topic": "beacon/xinhui/dongshan/sign/current", "value_template": "{{ value_json.value }}",
			"unit_of_measurement": "A", "device_class": "current", "state_class": "measurement",
		},
		"homeassistant/cover/beacon_xinhui_dongshan/flag/config": {
			"name": "Flag", "unique_id": "beacon_xinhui_dongshan_flag", "device": dev("Flag", "flag"), "icon": "mdi:flag",
			"availability": avail("flag/position"), "availability_mode": "all",
			"position_topic": "beacon/xinhui/dongshan/flag/position", "position_template": "{{ value_json.value }}",
			"position_open": 100.0, "position_closed": 0.0,
			"command_topic": "beacon/xinhui/dongshan/flag/command/set",
			"payload_open":  `{"value":1,"by":"homeassistant"}`, "payload_close": `{"value":2,"by":"homeassistant"}`, "payload_stop": `{"value":0,"by":"homeassistant"}`,
		},
		"homeassistant/binary_sensor/beacon_xinhui_dongshan/hall_occupied/config": {
			"name": "Occupied", "unique_id": "beacon_xinhui_dongshan_hall_occupied",
			"device":       map[string]any{"identifiers": []any{"beacon_xinhui_dongshan_hall"}, "name": "Hall", "via_device": "beacon_xinhui_dongshan", "suggested_area": "多功能厅 Hall"},
			"availability": avail("hall/occupied"), "availability_mode": "all",
			"state_topic": "beacon/xinhui/dongshan/hall/occupied", "value_template": "{{ 'ON' if value_json.value else 'OFF' }}",
			"device_class": "occupancy",
		},
		"homeassistant/number/beacon_xinhui_dongshan/pa_volume/config": {
			"name": "Volume", "unique_id": "beacon_xinhui_dongshan_pa_volume", "device": dev("Pa", "pa"),
			"availability": avail("pa/volume"), "availability_mode": "all",
			"state_topic": "beacon/xinhui/dongshan/pa/volume", "value_template": "{{ value_json.value }}",
			"command_topic": "beacon/xinhui/dongshan/pa/volume/set", "command_template": `{"value": {{ value }}, "by": "homeassistant"}`,
			"unit_of_measurement": "%",
		},
	}
	for topic, w := range want {
		if got := byTopic[topic]; !reflect.DeepEqual(got, w) {
			g, _ := json.MarshalIndent(got, "", "  ")
			e, _ := json.MarshalIndent(w, "", "  ")
			t.Errorf("%s:\n%s\nwant:\n%s", topic, g, e)
		}
	}
	// Home Assistant's own payloads are commands this package accepts.
	for _, p := range []string{`{"value":true,"by":"homeassistant"}`, `{"value":2,"by":"homeassistant"}`} {
		if _, err := ParseCommand([]byte(p), kindOf(p)); err != nil {
			t.Errorf("ParseCommand(%s): %v", p, err)
		}
	}
}
