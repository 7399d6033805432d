package north

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/memory"
	"github.com/beacon-edge/beacon/drivers/mqtt"
	"github.com/beacon-edge/beacon/drivers/mqtt/mqtttest"
	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/internal/clock"
)

const wait = 10 * time.Second

var fastTimings = mqtt.Timings{ConnectRetryInterval: 50 * time.Millisecond, MaxReconnectInterval: 200 * time.Millisecond}

// centerYAML is a center with an MQTT occupancy sensor and a sign on a
// Modbus connection that the test serves from drivers/memory. The sign's
// power takes remote commands; its current does not.
const centerYAML = `center:
  id: dongshan
  name: 东山村党群服务中心
  county: xinhui
  timezone: Asia/Shanghai
  location: {lat: 22.47, lon: 113.03}
connections:
  site:
    url: %s
  bus:
    url: tcp://127.0.0.1:1502
devices:
  hall:
    kind: occupancy
    connection: site
    topic: z2m/hall
    points:
      occupied: {field: occupancy, type: bool}
  sign:
    kind: sign
    connection: bus
    unit: 1
    sign: {nominal_current: 2.4}
    points:
      power: {table: coil, address: 0, access: write, remote: true}
      current: {table: input, address: 0, type: uint16, scale: 0.01, unit: A}
north:
  connection: site
`

func loadCenter(t testing.TB, brokerURL string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "center.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(centerYAML, brokerURL)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("load center: %v", err)
	}
	return cfg
}

var (
	power   = drivers.PointRef{Device: "sign", Point: "power"}
	current = drivers.PointRef{Device: "sign", Point: "current"}
	occ     = drivers.PointRef{Device: "hall", Point: "occupied"}
)

// center is a running gateway with north, over a memory driver for the sign.
type center struct {
	gw   *gateway.Gateway
	pub  *Publisher
	mem  *memory.Driver
	stop func()
}

func startCenter(t testing.TB, cfg *config.Config, logger *slog.Logger) *center {
	t.Helper()
	mem := memory.New(clock.Real{})
	mem.Add(power, drivers.Bool(true))
	mem.Add(current, drivers.Number(2.31))
	c := &center{mem: mem}
	opts := gateway.Options{
		Logger: logger,
		Drivers: map[config.Protocol]gateway.DriverFactory{
			config.MQTT: func(conn *config.Connection, devs []*config.Device, log *slog.Logger) (drivers.Driver, error) {
				return mqtt.OpenWith(conn, devs, log, mqtt.Options{Timings: fastTimings})
			},
			config.ModbusTCP: func(*config.Connection, []*config.Device, *slog.Logger) (drivers.Driver, error) { return mem, nil },
		},
		North: func(ctx context.Context, g *gateway.Gateway) error { return c.pub.Run(ctx) },
	}
	gw, err := gateway.New(cfg, opts)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	c.gw = gw
	c.pub, err = New(cfg, Parts{Store: gw.Store(), Priorities: gw.Priorities(), Trigger: gw.Reconciler().Trigger},
		Options{Logger: logger, Timings: fastTimings})
	if err != nil {
		t.Fatalf("north.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	stopped := false
	c.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("gateway.Run: %v", err)
			}
		case <-time.After(wait):
			t.Errorf("gateway did not stop within %v", wait)
		}
	}
	t.Cleanup(c.stop)
	mqtttest.WaitFor(t, wait, "north to connect", c.pub.Connected)
	return c
}

func stateOf(t testing.TB, m mqtttest.Msg) State {
	t.Helper()
	var s State
	if err := json.Unmarshal([]byte(m.Payload), &s); err != nil {
		t.Fatalf("state on %s is not JSON: %v: %s", m.Topic, err, m.Payload)
	}
	return s
}

// hasState reports whether the latest message on topic is a state with
// that value and quality.
func hasState(col *mqtttest.Collector, topic string, value any, quality string) bool {
	m, ok := col.Last(topic)
	if !ok {
		return false
	}
	var s State
	if json.Unmarshal([]byte(m.Payload), &s) != nil {
		return false
	}
	return s.Value == value && s.Quality == quality
}

const base = "beacon/xinhui/dongshan"

func TestStateAndCommandsEndToEnd(t *testing.T) {
	broker := mqtttest.Start(t, mqtttest.Options{})
	cfg := loadCenter(t, broker.URL())
	// A command left retained on the broker is refused when north
	// subscribes: it would otherwise be applied again on every reconnect.
	early := mqtttest.Client(t, broker.Addr(), "early", "", "")
	errCol := mqtttest.Collect(t, early, base+"/error")
	mqtttest.Publish(t, early, base+"/sign/power/set", `{"value":false,"by":"stale"}`, true)
	c := startCenter(t, cfg, logger(t))
	mqtttest.WaitFor(t, wait, "the retained command refused", func() bool { return len(errCol.Messages()) > 0 })
	if em := errorOf(t, errCol.Messages()[0]); em.Topic != base+"/sign/power/set" || em.Reason != "retained commands are ignored: publish set commands with retain off" {
		t.Errorf("error = %+v", em)
	}
	mqtttest.Publish(t, early, base+"/sign/power/set", "", true) // clear it

	sensor := mqtttest.Client(t, broker.Addr(), "sensor", "", "")
	mqtttest.Publish(t, sensor, "z2m/hall", `{"occupancy":true,"illuminance":40}`, false)

	// A client that subscribes later gets the retained state.
	watcher := mqtttest.Client(t, broker.Addr(), "watcher", "", "")
	col := mqtttest.Collect(t, watcher, "beacon/#")
	mqtttest.WaitFor(t, wait, "retained occupancy state", func() bool { return hasState(col, base+"/hall/occupied", true, "good") })
	mqtttest.WaitFor(t, wait, "retained sign state", func() bool { return hasState(col, base+"/sign/power", true, "good") })
	if m, _ := col.Last(base + "/status"); m.Payload != Online || !m.Retained {
		t.Errorf("status = %+v, want retained %q", m, Online)
	}
	st := stateOf(t, mustLast(t, col, base+"/sign/current"))
	if st.Value != 2.31 || st.Quality != "good" || st.Error != "" {
		t.Errorf("sign/current state = %+v, want 2.31 good", st)
	}
	if _, err := time.Parse(time.RFC3339, st.Time); err != nil {
		t.Errorf("state time %q is not RFC 3339: %v", st.Time, err)
	}

	// A valid command switches the sign off through the manual slot.
	start := time.Now()
	mqtttest.Publish(t, watcher, base+"/sign/power/set", `{"value":false,"expires":"30m","by":"li.wei"}`, false)
	mqtttest.WaitFor(t, wait, "the sign to be switched off", func() bool {
		v, _ := c.mem.Value(power)
		return drivers.Equal(v, drivers.Bool(false), 0)
	})
	mqtttest.WaitFor(t, wait, "the new state on MQTT", func() bool { return hasState(col, base+"/sign/power", false, "good") })
	cmd, slot, ok := c.gw.Priorities().Effective(power, time.Now())
	if !ok || slot != priority.Manual || cmd.Author != "mqtt:li.wei" {
		t.Fatalf("effective = %+v at %s, want the manual slot by mqtt:li.wei", cmd, slot)
	}
	if d := cmd.Expires.Sub(start); d < 30*time.Minute-time.Second || d > 30*time.Minute+5*time.Second {
		t.Errorf("command expires %v after it was sent, want 30m", d)
	}

	// Refused commands: a reason on the error topic, and no effect.
	writes := len(c.mem.Writes())
	rejects := []struct {
		name    string
		topic   string
		payload string
		reason  string
	}{
		{"not JSON", base + "/sign/power/set", `on`, `bad command: want a JSON object like {"value":true,"expires":"30m","by":"name"}: invalid character 'o' looking for beginning of value`},
		{"misspelt field", base + "/sign/power/set", `{"value":true,"expire":"30m"}`, `bad command: want a JSON object like {"value":true,"expires":"30m","by":"name"}: json: unknown field "expire"`},
		{"wrong type", base + "/sign/power/set", `{"value":1}`, `bad command: value: 1 is not true/false or ON/OFF`},
		{"expiry too long", base + "/sign/power/set", `{"value":true,"expires":"200h"}`, `bad command: expires 200h is longer than 168h0m0s`},
		{"point not remote", base + "/sign/current/set", `{"value":1}`, `point sign.current does not take remote commands (remote: true in the config)`},
		{"unknown point", base + "/sign/colour/set", `{"value":true}`, `no point sign.colour in center dongshan`},
	}
	for _, tc := range rejects {
		t.Run(tc.name, func(t *testing.T) {
			col.Reset()
			mqtttest.Publish(t, watcher, tc.topic, tc.payload, false)
			mqtttest.WaitFor(t, wait, "an error message", func() bool { return len(col.On(base+"/error")) > 0 })
			em := errorOf(t, col.On(base + "/error")[0])
			if em.Topic != tc.topic || em.Reason != tc.reason {
				t.Errorf("error = {topic %q, reason %q}\nwant  {topic %q, reason %q}", em.Topic, em.Reason, tc.topic, tc.reason)
			}
		})
	}
	if n := len(c.mem.Writes()); n != writes {
		t.Errorf("refused commands made %d writes", n-writes)
	}
	if cmd, _, _ := c.gw.Priorities().Effective(power, time.Now()); !drivers.Equal(cmd.Value, drivers.Bool(false), 0) || cmd.Author != "mqtt:li.wei" {
		t.Errorf("after refused commands the effective command is %+v, want li.wei's", cmd)
	}

	// value null hands the point back: no manual command is left.
	mqtttest.Publish(t, watcher, base+"/sign/power/set", `{"value":null,"by":"li.wei"}`, false)
	mqtttest.WaitFor(t, wait, "the manual slot to empty", func() bool {
		_, slot, ok := c.gw.Priorities().Effective(power, time.Now())
		return !ok || slot != priority.Manual
	})

	// A clean stop leaves "offline" retained.
	c.stop()
	late := mqtttest.Client(t, broker.Addr(), "late", "", "")
	lateCol := mqtttest.Collect(t, late, base+"/status")
	mqtttest.WaitFor(t, wait, "retained offline", func() bool { m, ok := lateCol.Last(base + "/status"); return ok && m.Payload == Offline })
}

func errorOf(t testing.TB, m mqtttest.Msg) ErrorMessage {
	t.Helper()
	var em ErrorMessage
	if err := json.Unmarshal([]byte(m.Payload), &em); err != nil {
		t.Fatalf("error message is not JSON: %v: %s", err, m.Payload)
	}
	return em
}

// logger logs to the test's output.
func logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func mustLast(t testing.TB, col *mqtttest.Collector, topic string) mqtttest.Msg {
	t.Helper()
	m, ok := col.Last(topic)
	if !ok {
		t.Fatalf("nothing on %s", topic)
	}
	return m
}

// The broker restarts and forgets everything (sessions, retained
// messages): the gateway reconnects, publishes its whole state again, and
// a command delivered twice takes effect once.
func TestBrokerRestart(t *testing.T) {
	broker := mqtttest.Start(t, mqtttest.Options{})
	cfg := loadCenter(t, broker.URL())
	c := startCenter(t, cfg, nil)
	sensor := mqtttest.Client(t, broker.Addr(), "sensor", "", "")
	mqtttest.Publish(t, sensor, "z2m/hall", `{"occupancy":true}`, false)
	op := mqtttest.Client(t, broker.Addr(), "operator", "", "")
	col := mqtttest.Collect(t, op, "beacon/#")
	mqtttest.WaitFor(t, wait, "occupancy state", func() bool { return hasState(col, base+"/hall/occupied", true, "good") })

	cmdOff := `{"value":false,"expires":"1h","by":"ops","id":"c-1"}`
	mqtttest.Publish(t, op, base+"/sign/power/set", cmdOff, false)
	mqtttest.WaitFor(t, wait, "the sign off", func() bool { return hasState(col, base+"/sign/power", false, "good") })
	republished := c.pub.Stats().Republished

	broker.Stop()
	mqtttest.WaitFor(t, wait, "north to notice", func() bool { return !c.pub.Connected() })
	if err := os.Remove(broker.PersistenceFile()); err != nil {
		t.Fatalf("forget the broker's state: %v", err)
	}
	broker.Start()
	mqtttest.WaitFor(t, wait, "north to reconnect and republish", func() bool { return c.pub.Stats().Republished > republished })

	// A fresh subscriber sees the whole state, retained, from the new broker.
	fresh := mqtttest.Client(t, broker.Addr(), "fresh", "", "")
	freshCol := mqtttest.Collect(t, fresh, "beacon/#")
	mqtttest.WaitFor(t, wait, "the state republished", func() bool {
		m, ok := freshCol.Last(base + "/status")
		return ok && m.Payload == Online && hasState(freshCol, base+"/sign/power", false, "good") && hasState(freshCol, base+"/sign/current", 2.31, "good")
	})
	for _, m := range freshCol.Messages() {
		if !m.Retained {
			t.Errorf("%s arrived not retained", m.Topic)
		}
	}
	if _, ok := freshCol.Last(base + "/hall/occupied"); !ok {
		t.Errorf("hall/occupied was not republished")
	}

	// Switch on with a new command, then the first command arrives again:
	// it must not switch the sign off a second time.
	mqtttest.WaitFor(t, wait, "the operator to reconnect", op.IsConnectionOpen)
	mqtttest.WaitFor(t, wait, "north's command subscription", func() bool {
		// The subscription follows the connection; a command sent before
		// it is lost (the broker forgot the session), so send until seen.
		if c.pub.Stats().Applied >= 2 {
			return true
		}
		mqtttest.Publish(t, op, base+"/sign/power/set", `{"value":true,"expires":"1h","by":"ops","id":"c-2"}`, false)
		return false
	})
	mqtttest.WaitFor(t, wait, "the sign on", func() bool { return hasState(freshCol, base+"/sign/power", true, "good") })
	dups := c.pub.Stats().Duplicates
	mqtttest.Publish(t, op, base+"/sign/power/set", cmdOff, false)
	mqtttest.WaitFor(t, wait, "the copy to be seen", func() bool { return c.pub.Stats().Duplicates == dups+1 })
	if v, _ := c.mem.Value(power); !drivers.Equal(v, drivers.Bool(true), 0) {
		t.Errorf("the sign is %v after a copy of the first command; want it still on", v)
	}
	var got []string
	for _, w := range c.mem.Writes() {
		got = append(got, w.Value.String())
	}
	if strings.Join(got, ",") != "false,true" {
		t.Errorf("writes = %v, want [false true]: each command once", got)
	}
}
