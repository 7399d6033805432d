package broker

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"golang.org/x/crypto/bcrypt"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/mqtt"
	"github.com/beacon-edge/beacon/drivers/mqtt/mqtttest"
	"github.com/beacon-edge/beacon/gateway/config"
)

const wait = 10 * time.Second

func init() { hashCost = bcrypt.MinCost } // fast tests; the format is the same

func usersFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func hash(t *testing.T, pass string) string {
	t.Helper()
	h, err := HashPassword(pass)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func start(t *testing.T) *Broker {
	t.Helper()
	b, err := Start(&config.Broker{Listen: "127.0.0.1:0", UsersFile: usersFile(t, "# site users", "", "beacon:"+hash(t, "s3cret"), "sensor:"+hash(t, "other"))}, nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestLogin(t *testing.T) {
	b := start(t)
	tests := []struct {
		name, user, pass string
		want             error // nil: connects
	}{
		{"good password", "beacon", "s3cret", nil},
		{"second user", "sensor", "other", nil},
		{"bad password", "beacon", "wrong", packets.ErrorRefusedNotAuthorised},
		{"another user's password", "sensor", "s3cret", packets.ErrorRefusedNotAuthorised},
		{"unknown user", "mallory", "s3cret", packets.ErrorRefusedNotAuthorised},
		{"anonymous", "", "", packets.ErrorRefusedNotAuthorised},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("t-" + tc.user).SetAutoReconnect(false)
			if tc.user != "" {
				o.SetUsername(tc.user).SetPassword(tc.pass)
			}
			c := paho.NewClient(o)
			tok := c.Connect()
			if !tok.WaitTimeout(wait) {
				t.Fatal("connect timed out")
			}
			defer c.Disconnect(50)
			if err := tok.Error(); !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
				t.Fatalf("connect: %v, want %v", err, tc.want)
			}
		})
	}
}

// The southbound driver and a sensor work over the embedded broker as over
// Mosquitto: the demo's occupancy sensors run this way.
func TestDriverOverEmbeddedBroker(t *testing.T) {
	b := start(t)
	t.Setenv("TEST_BROKER_PASSWORD", "s3cret")
	u, _ := url.Parse("mqtt://" + b.Addr())
	conn := &config.Connection{Name: "site", URL: u, Protocol: config.MQTT, Timeout: time.Second, ClientID: "beacon-test-site",
		Username: "beacon", Password: config.Secret{Env: "TEST_BROKER_PASSWORD"}}
	dev := &config.Device{Name: "hall", Kind: config.KindOccupancy, Topic: "z2m/hall",
		Points: []*config.Point{{Device: "hall", Name: "occupied", Field: "occupancy", Type: config.TypeBool, Access: config.Read}}}
	d, err := mqtt.OpenWith(conn, []*config.Device{dev}, nil, mqtt.Options{Timings: mqtt.Timings{ConnectRetryInterval: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mqtttest.WaitFor(t, wait, "the driver to log in", d.Connected)
	sensor := mqtttest.Client(t, b.Addr(), "sensor", "sensor", "other")
	mqtttest.Publish(t, sensor, "z2m/hall", `{"occupancy":true}`, true)
	ref := drivers.PointRef{Device: "hall", Point: "occupied"}
	mqtttest.WaitFor(t, wait, "the occupancy value", func() bool {
		s, err := d.Read(context.Background(), []drivers.PointRef{ref})
		return err == nil && s[0].Err == nil && drivers.Equal(s[0].Value, drivers.Bool(true), 0)
	})
}

func TestParseUsers(t *testing.T) {
	good := hash(t, "pw")
	tests := []struct {
		name  string
		text  string
		users []string
		err   string
	}{
		{"users with comments and blank lines", "# users\n\nbeacon:" + good + "\n  sensor:" + good + "  \n", []string{"beacon", "sensor"}, ""},
		{"htpasswd $2y$ hash", "pa:" + strings.Replace(good, "$2a$", "$2y$", 1) + "\n", []string{"pa"}, ""},
		{"plain password", "beacon:s3cret\n", nil, "line 1: user beacon: not a bcrypt hash"},
		{"no colon", "# x\nbeacon\n", nil, "line 2: want NAME:BCRYPT-HASH"},
		{"empty name", ":" + good + "\n", nil, "line 1: want NAME:BCRYPT-HASH"},
		{"duplicate", "a:" + good + "\na:" + good + "\n", nil, "line 2: user a given twice"},
		{"empty file", "# nobody\n", nil, "no users: the broker would admit no one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUsers(strings.NewReader(tc.text))
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("ParseUsers = %v, want an error starting %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range tc.users {
				if !u.Check(name, "pw") || u.Check(name, "wrong") {
					t.Errorf("user %s: Check does not tell pw from wrong", name)
				}
			}
			if len(u) != len(tc.users) {
				t.Errorf("%d users, want %d", len(u), len(tc.users))
			}
		})
	}
}

func TestStartFails(t *testing.T) {
	if _, err := Start(&config.Broker{Listen: "127.0.0.1:0", UsersFile: filepath.Join(t.TempDir(), "missing")}, nil); err == nil || !strings.Contains(err.Error(), "open users file") {
		t.Errorf("Start with no users file = %v", err)
	}
	b := start(t)
	if _, err := StartWith(b.Addr(), Users{"a": []byte(hash(t, "x"))}, nil); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Start on a busy port = %v", err)
	}
}
