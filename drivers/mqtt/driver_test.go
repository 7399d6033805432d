package mqtt

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/mqtt/mqtttest"
	"github.com/beacon-edge/beacon/gateway/config"
)

const wait = 10 * time.Second

var fast = Options{Timings: Timings{ConnectRetryInterval: 50 * time.Millisecond, MaxReconnectInterval: 200 * time.Millisecond}}

func testConn(t *testing.T, rawURL string) *config.Connection {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return &config.Connection{Name: "site", URL: u, Protocol: config.Protocol(u.Scheme), Timeout: 200 * time.Millisecond,
		ClientID: "beacon-test-" + strings.ReplaceAll(t.Name(), "/", "-")}
}

func pt(dev, name, field string, typ config.Type, access config.Access, command string) *config.Point {
	return &config.Point{Device: dev, Name: name, Field: field, Type: typ, Access: access, Scale: 1, Command: command}
}

// testDevices are a Zigbee2MQTT-style occupancy sensor and an IP broadcast
// box.
func testDevices() []*config.Device {
	return []*config.Device{
		{Name: "hall", Kind: config.KindOccupancy, Topic: "z2m/hall", AvailabilityTopic: "z2m/hall/availability",
			Points: []*config.Point{
				pt("hall", "occupied", "occupancy", config.TypeBool, config.Read, ""),
				pt("hall", "illuminance", "illuminance", config.TypeFloat64, config.Read, ""),
				pt("hall", "count", "state.count", config.TypeFloat64, config.Read, ""),
				pt("hall", "never", "not.sent", config.TypeFloat64, config.Read, ""),
			}},
		{Name: "box", Kind: config.KindPA, Topic: "pa/box/state", CommandTopic: "pa/box/set",
			Points: []*config.Point{
				pt("box", "play", "playing", config.TypeString, config.Write, "{{json}}"),
				pt("box", "volume", "volume", config.TypeFloat64, config.Write, `{"volume": {{value}}}`),
				pt("box", "power", "state.power", config.TypeBool, config.Write, ""),
			}},
	}
}

func ref(dev, p string) drivers.PointRef { return drivers.PointRef{Device: dev, Point: p} }

func open(t *testing.T, conn *config.Connection, opts Options, logger *slog.Logger) *Driver {
	t.Helper()
	d, err := OpenWith(conn, testDevices(), logger, opts)
	if err != nil {
		t.Fatalf("OpenWith: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func waitConnected(t *testing.T, d *Driver) {
	t.Helper()
	mqtttest.WaitFor(t, wait, "the driver to connect", d.Connected)
}

// want is what one point should read as: a value, or an error wrapping err.
type want struct {
	v   drivers.Value
	err error
}

func readMatches(d *Driver, wants map[drivers.PointRef]want) bool {
	for r, w := range wants {
		s, err := d.Read(context.Background(), []drivers.PointRef{r})
		if err != nil {
			return false
		}
		if w.err == errAny {
			if s[0].Err == nil {
				return false
			}
			continue
		}
		if w.err != nil {
			if !errors.Is(s[0].Err, w.err) {
				return false
			}
			continue
		}
		if s[0].Err != nil || !drivers.Equal(s[0].Value, w.v, 0) || s[0].Value.Kind() != w.v.Kind() {
			return false
		}
	}
	return true
}

// waitRead waits until d reads as wants, or fails saying how it differs.
func waitRead(t *testing.T, d *Driver, what string, wants map[drivers.PointRef]want) {
	t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !readMatches(d, wants) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: after %v:%s", what, wait, describe(d, wants))
		}
		<-tick.C
	}
}

func describe(d *Driver, wants map[drivers.PointRef]want) string {
	var b strings.Builder
	for r, w := range wants {
		s, _ := d.Read(context.Background(), []drivers.PointRef{r})
		got := "?"
		if len(s) == 1 {
			got = s[0].Value.GoString()
			if s[0].Err != nil {
				got = "error: " + s[0].Err.Error()
			}
		}
		wantText := w.v.GoString()
		if w.err != nil {
			wantText = "error wrapping " + w.err.Error()
		}
		b.WriteString("\n  " + r.String() + ": got " + got + ", want " + wantText)
	}
	return b.String()
}

func TestStateMessagesAgainstMosquitto(t *testing.T) {
	broker := mqtttest.Start(t, mqtttest.Options{})
	d := open(t, testConn(t, broker.URL()), fast, nil)

	// Before any message: no value yet, an error sample, not a zero value.
	waitConnected(t, d)
	s, err := d.Read(context.Background(), []drivers.PointRef{ref("hall", "occupied")})
	if err != nil || !errors.Is(s[0].Err, ErrNoMessage) {
		t.Fatalf("Read before any message = %v, %v; want a sample wrapping ErrNoMessage", s, err)
	}
	if _, err := d.Read(context.Background(), []drivers.PointRef{ref("hall", "nope")}); !errors.Is(err, ErrUnknownPoint) {
		t.Fatalf("Read of an unknown ref: err = %v, want ErrUnknownPoint", err)
	}

	var mu sync.Mutex
	var pushed []drivers.Sample
	ctx, cancel := context.WithCancel(context.Background())
	subDone := make(chan error, 1)
	go func() {
		subDone <- d.Subscribe(ctx, func(s drivers.Sample) { mu.Lock(); pushed = append(pushed, s); mu.Unlock() })
	}()
	mqtttest.WaitFor(t, wait, "the subscription", func() bool { d.mu.Lock(); defer d.mu.Unlock(); return len(d.subs) == 1 })

	sensor := mqtttest.Client(t, broker.Addr(), "sensor", "", "")
	occupied, lux, count, never := ref("hall", "occupied"), ref("hall", "illuminance"), ref("hall", "count"), ref("hall", "never")
	steps := []struct {
		name    string
		topic   string
		payload string
		want    map[drivers.PointRef]want
	}{
		{"full message", "z2m/hall", `{"occupancy":true,"illuminance":120,"state":{"count":3},"linkquality":80}`,
			map[drivers.PointRef]want{occupied: {v: drivers.Bool(true)}, lux: {v: drivers.Number(120)}, count: {v: drivers.Number(3)}, never: {err: ErrNoMessage}}},
		{"partial update keeps the other fields", "z2m/hall", `{"occupancy":false}`,
			map[drivers.PointRef]want{occupied: {v: drivers.Bool(false)}, lux: {v: drivers.Number(120)}, count: {v: drivers.Number(3)}}},
		{"wrong type marks only its point bad", "z2m/hall", `{"occupancy":"maybe","illuminance":80}`,
			map[drivers.PointRef]want{occupied: {err: ErrWrongType}, lux: {v: drivers.Number(80)}, count: {v: drivers.Number(3)}}},
		{"not JSON marks every point bad", "z2m/hall", `{"occupancy":tru`,
			map[drivers.PointRef]want{occupied: {err: errAny}, lux: {err: errAny}, count: {err: errAny}}},
		{"a good message heals", "z2m/hall", `{"occupancy":"ON","illuminance":95.5,"state":{"count":"4"}}`,
			map[drivers.PointRef]want{occupied: {v: drivers.Bool(true)}, lux: {v: drivers.Number(95.5)}, count: {v: drivers.Number(4)}}},
		{"offline marks every point bad", "z2m/hall/availability", `offline`,
			map[drivers.PointRef]want{occupied: {err: ErrOffline}, lux: {err: ErrOffline}, never: {err: ErrOffline}}},
		{"online (Zigbee2MQTT JSON) restores the last values", "z2m/hall/availability", `{"state":"online"}`,
			map[drivers.PointRef]want{occupied: {v: drivers.Bool(true)}, lux: {v: drivers.Number(95.5)}, never: {err: errAny}}},
	}
	for _, st := range steps {
		mqtttest.Publish(t, sensor, st.topic, st.payload, false)
		waitRead(t, d, st.name, st.want)
	}
	// The parse error names the topic and the JSON problem.
	mu.Lock()
	var parseErr string
	for _, s := range pushed {
		if s.Ref == lux && s.Err != nil && strings.Contains(s.Err.Error(), "parse") {
			parseErr = s.Err.Error()
		}
	}
	n := len(pushed)
	mu.Unlock()
	if want := "parse message on z2m/hall: decode JSON: "; !strings.HasPrefix(parseErr, want) {
		t.Errorf("pushed parse error = %q, want prefix %q", parseErr, want)
	}
	if n < 10 {
		t.Errorf("Subscribe delivered %d samples, want every point of every message (≥10)", n)
	}
	cancel()
	if err := <-subDone; err != nil {
		t.Errorf("Subscribe returned %v after its ctx ended, want nil", err)
	}
}

// errAny matches any error in want.
var errAny = anyError{}

type anyError struct{}

func (anyError) Error() string { return "any error" }

func TestBadPayloadsAreLoggedOncePerDevicePerMinute(t *testing.T) {
	broker := mqtttest.Start(t, mqtttest.Options{})
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	var nowMu sync.Mutex
	now := time.Date(2026, 6, 1, 20, 0, 0, 0, time.UTC)
	opts := fast
	opts.Now = func() time.Time { nowMu.Lock(); defer nowMu.Unlock(); return now }
	d := open(t, testConn(t, broker.URL()), opts, logger)
	waitConnected(t, d)
	sensor := mqtttest.Client(t, broker.Addr(), "sensor", "", "")
	for i, step := range []struct {
		advance time.Duration
		payload string
	}{{0, "garbage"}, {10 * time.Second, "{"}, {20 * time.Second, "[1,"}, {61 * time.Second, "nope"}} {
		nowMu.Lock()
		now = now.Add(step.advance)
		nowMu.Unlock()
		mqtttest.Publish(t, sensor, "z2m/hall", step.payload, false)
		mqtttest.WaitFor(t, wait, "the message", func() bool { m, _ := d.Stats(); return m == uint64(i+1) })
	}
	logMu.Lock()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	logMu.Unlock()
	var bad []string
	for _, l := range lines {
		if strings.Contains(l, "bad payload") {
			bad = append(bad, l)
		}
	}
	if len(bad) != 2 {
		t.Fatalf("bad payloads logged %d times, want 2 (first, then after a minute):\n%s", len(bad), strings.Join(bad, "\n"))
	}
	for i, want := range []string{"device=hall", "not_logged=2"} {
		if !strings.Contains(bad[1], want) {
			t.Errorf("second log line %q lacks %q (check %d)", bad[1], want, i)
		}
	}
	if _, badCount := d.Stats(); badCount != 4 {
		t.Errorf("bad messages = %d, want 4", badCount)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestWritePublishesCommands(t *testing.T) {
	broker := mqtttest.Start(t, mqtttest.Options{})
	d := open(t, testConn(t, broker.URL()), fast, nil)
	waitConnected(t, d)
	box := mqtttest.Client(t, broker.Addr(), "box", "", "")
	col := mqtttest.Collect(t, box, "pa/box/set")
	tests := []struct {
		name  string
		point string
		value drivers.Value
		want  string
	}{
		{"JSON command of a broadcast box", "play", drivers.String(`{"play":"morning-news","volume":60,"zones":[1,2]}`), `{"play":"morning-news","volume":60,"zones":[1,2]}`},
		{"value template", "volume", drivers.Number(55), `{"volume": 55}`},
		{"default: the field path nested", "power", drivers.Bool(true), `{"state":{"power":true}}`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := d.Write(context.Background(), ref("box", tc.point), tc.value); err != nil {
				t.Fatalf("Write: %v", err)
			}
			mqtttest.WaitFor(t, wait, "the command", func() bool { return len(col.Messages()) == i+1 })
			if got := col.Messages()[i].Payload; got != tc.want {
				t.Errorf("published %s, want %s", got, tc.want)
			}
		})
	}
	rejects := []struct {
		name  string
		ref   drivers.PointRef
		value drivers.Value
		want  error
	}{
		{"read-only point", ref("hall", "occupied"), drivers.Bool(true), ErrNotWritable},
		{"unknown point", ref("box", "bass"), drivers.Number(1), ErrUnknownPoint},
		{"value that is not JSON for {{json}}", ref("box", "play"), drivers.String("morning-news"), ErrBadCommand},
		{"wrong kind", ref("box", "volume"), drivers.String("loud"), ErrBadCommand},
	}
	for _, tc := range rejects {
		t.Run(tc.name, func(t *testing.T) {
			if err := d.Write(context.Background(), tc.ref, tc.value); !errors.Is(err, tc.want) {
				t.Errorf("Write = %v, want %v", err, tc.want)
			}
		})
	}
	if n := len(col.Messages()); n != len(tests) {
		t.Errorf("%d commands published, want %d (rejected writes publish nothing)", n, len(tests))
	}
}

// A device that answers a command with its new state: Write returns once
// the state arrived, so an immediate read-back sees it.
func TestWriteWaitsForTheDevicesAnswer(t *testing.T) {
	broker := mqtttest.Start(t, mqtttest.Options{})
	conn := testConn(t, broker.URL())
	conn.Timeout = 5 * time.Second // a write would take this long if it did not see the answer
	d := open(t, conn, fast, nil)
	waitConnected(t, d)
	box := mqtttest.Client(t, broker.Addr(), "box", "", "")
	tok := box.Subscribe("pa/box/set", 1, func(c paho.Client, m paho.Message) {
		c.Publish("pa/box/state", 1, false, m.Payload()) // {"volume": N} is also its state
	})
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	start := time.Now()
	if err := d.Write(context.Background(), ref("box", "volume"), drivers.Number(42)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Write took %v; it should return when the device answers", took)
	}
	s, err := d.Read(context.Background(), []drivers.PointRef{ref("box", "volume")})
	if err != nil || s[0].Err != nil || !drivers.Equal(s[0].Value, drivers.Number(42), 0) {
		t.Fatalf("read-back = %v, %v; want 42", s, err)
	}
}

// After a broker restart that lost every session, the driver reconnects and
// subscribes again; a write while the broker is down fails at once rather
// than being queued.
func TestReconnectResubscribes(t *testing.T) {
	broker := mqtttest.Start(t, mqtttest.Options{})
	d := open(t, testConn(t, broker.URL()), fast, nil)
	waitConnected(t, d)
	sensor := mqtttest.Client(t, broker.Addr(), "sensor", "", "")
	mqtttest.Publish(t, sensor, "z2m/hall", `{"occupancy":true}`, false)
	occ := map[drivers.PointRef]want{ref("hall", "occupied"): {v: drivers.Bool(true)}}
	mqtttest.WaitFor(t, wait, "the first message", func() bool { return readMatches(d, occ) })

	broker.Stop()
	mqtttest.WaitFor(t, wait, "the driver to notice", func() bool { return !d.Connected() })
	if err := d.Write(context.Background(), ref("box", "power"), drivers.Bool(true)); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Write while the broker is down = %v, want ErrNotConnected", err)
	}
	down := map[drivers.PointRef]want{ref("hall", "occupied"): {err: ErrNotConnected}}
	if !readMatches(d, down) {
		t.Errorf("while the broker is down:%s", describe(d, down))
	}
	if err := os.Remove(broker.PersistenceFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err) // the broker forgets the session: only a resubscription brings messages
	}
	broker.Start()
	waitConnected(t, d)
	mqtttest.WaitFor(t, wait, "the sensor client to reconnect", sensor.IsConnectionOpen)
	occ2 := map[drivers.PointRef]want{ref("hall", "occupied"): {v: drivers.Bool(false)}}
	// The resubscription races the sensor's publish; publish until it lands.
	mqtttest.WaitFor(t, wait, "a message after the restart", func() bool {
		if readMatches(d, occ2) {
			return true
		}
		mqtttest.Publish(t, sensor, "z2m/hall", `{"occupancy":false}`, false)
		return false
	})
}

func TestOpenDoesNotWaitForTheBroker(t *testing.T) {
	conn := testConn(t, "mqtt://127.0.0.1:1") // nothing listens on port 1
	start := time.Now()
	d := open(t, conn, fast, nil)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Open took %v with no broker; it must not block", took)
	}
	s, err := d.Read(context.Background(), []drivers.PointRef{ref("hall", "occupied")})
	if err != nil || !errors.Is(s[0].Err, ErrNotConnected) {
		t.Fatalf("Read = %v, %v; want a sample wrapping ErrNotConnected", s, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
}

func TestPasswordAuthentication(t *testing.T) {
	broker := mqtttest.Start(t, mqtttest.Options{Users: map[string]string{"beacon": "s3cret-pass"}})
	tests := []struct {
		name     string
		password string
		connects bool
	}{
		{"good password", "s3cret-pass", true},
		{"bad password", "wrong", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TEST_MQTT_PASSWORD", tc.password)
			conn := testConn(t, broker.URL())
			conn.Username, conn.Password = "beacon", config.Secret{Env: "TEST_MQTT_PASSWORD"}
			d := open(t, conn, fast, nil)
			if tc.connects {
				waitConnected(t, d)
				return
			}
			mqtttest.WaitFor(t, wait, "the broker to refuse the client", func() bool {
				return strings.Contains(broker.Log(), "not authorised")
			})
			if d.Connected() {
				t.Fatal("connected with a bad password")
			}
		})
	}
	t.Run("secret not set", func(t *testing.T) {
		conn := testConn(t, broker.URL())
		conn.Username, conn.Password = "beacon", config.Secret{Env: "TEST_MQTT_PASSWORD_UNSET"}
		if _, err := OpenWith(conn, testDevices(), nil, fast); err == nil || !strings.Contains(err.Error(), "TEST_MQTT_PASSWORD_UNSET is not set") {
			t.Fatalf("OpenWith = %v, want an error naming the unset variable", err)
		}
	})
}
