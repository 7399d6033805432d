package sim

import (
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/beacon-edge/beacon/gateway/broker"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/clock"
)

// TestMQTTSensors: the demo's room sensors publish Zigbee2MQTT-style JSON
// with the fields their points name, follow the day's pattern, and say
// offline on their availability topic when the fault is injected.
func TestMQTTSensors(t *testing.T) {
	hash, err := broker.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.StartWith("127.0.0.1:0", broker.Users{"site": []byte(hash)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIM_TEST_MQTT_PASSWORD", "pw")
	defer b.Close()
	cfg, err := config.Load(filepath.Join("..", "configs", "demo-center.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	site := cfg.Connection("site-broker")
	site.URL.Host, site.Username, site.Password = b.Addr(), "site", config.Secret{Env: "SIM_TEST_MQTT_PASSWORD"}

	var mu sync.Mutex
	got := map[string]string{}
	o := paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("watcher").SetUsername("site").SetPassword("pw")
	watcher := paho.NewClient(o)
	if tok := watcher.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect watcher: %v", tok.Error())
	}
	defer watcher.Disconnect(0)
	tok := watcher.Subscribe("zigbee2mqtt/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		got[m.Topic()] = string(m.Payload())
		mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	// 09:00 local: every room is in use in the morning.
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, cfg.Center.Location))
	c, err := New(cfg, Options{Clock: clk, AnyPort: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartMQTT(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	advance := func() {
		clk.Advance(time.Second)
		c.mu.Lock()
		c.advanceMQTT(clk.Now())
		c.mu.Unlock()
	}
	wait := func(what string, cond func(map[string]string) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			advance()
			mu.Lock()
			ok := cond(got)
			mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; got %v", what, got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("the hall's state", func(m map[string]string) bool { return m["zigbee2mqtt/hall-sensor"] != "" })
	var hall struct {
		Occupancy   *bool    `json:"occupancy"`
		Illuminance *float64 `json:"illuminance"`
	}
	mu.Lock()
	err = json.Unmarshal([]byte(got["zigbee2mqtt/hall-sensor"]), &hall)
	avail := got["zigbee2mqtt/hall-sensor/availability"]
	mu.Unlock()
	if err != nil || hall.Occupancy == nil || !*hall.Occupancy || hall.Illuminance == nil || *hall.Illuminance <= 0 {
		t.Fatalf("hall state %+v (%v), want occupied with some light at 09:00", hall, err)
	}
	if avail != "online" {
		t.Errorf("hall availability %q, want online", avail)
	}
	if err := c.SetFault("hall", FaultOffline, true); err != nil {
		t.Fatal(err)
	}
	wait("the hall going offline", func(m map[string]string) bool { return m["zigbee2mqtt/hall-sensor/availability"] == "offline" })
}
