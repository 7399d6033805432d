// Package mqtttest runs a real Mosquitto broker for tests: on a free
// loopback port, with its config, password file and persistence in a temp
// folder, stopped in t.Cleanup. A missing mosquitto skips the test on a
// laptop and fails it under CI=true (internal/testenv).
package mqtttest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/beacon-edge/beacon/internal/testenv"
)

// Options configure a Mosquitto.
type Options struct {
	// Users maps user names to passwords. When set, anonymous clients are
	// refused and a password file is made with mosquitto_passwd.
	Users map[string]string
	// Conf is added to the generated mosquitto.conf, e.g.
	// "max_queued_messages 0\n" for a benchmark that must lose nothing.
	Conf string
}

// Mosquitto is a running (or stopped, between Stop and Start) broker.
type Mosquitto struct {
	t    testing.TB
	bin  string
	dir  string
	conf string
	// Port is the broker's TCP port on 127.0.0.1; it stays the same across
	// restarts so that clients reconnect to it.
	Port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
}

// Start starts Mosquitto and waits until it accepts connections.
func Start(t testing.TB, opts Options) *Mosquitto {
	t.Helper()
	m := &Mosquitto{t: t, bin: testenv.LookPath(t, "mosquitto", "/usr/sbin"), dir: t.TempDir(), Port: testenv.FreePort(t)}
	m.conf = filepath.Join(m.dir, "mosquitto.conf")
	conf := fmt.Sprintf("listener %d 127.0.0.1\npersistence true\npersistence_location %s/\nautosave_interval 1\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nuser root\n", m.Port, m.dir)
	if len(opts.Users) == 0 {
		conf += "allow_anonymous true\n"
	} else {
		passwd := testenv.LookPath(t, "mosquitto_passwd", "/usr/bin")
		file := filepath.Join(m.dir, "passwd")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for user, pass := range opts.Users {
			if out, err := exec.Command(passwd, "-b", file, user, pass).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_passwd %s: %v: %s", user, err, out)
			}
		}
		conf += "allow_anonymous false\npassword_file " + file + "\n"
	}
	conf += opts.Conf
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	m.Start()
	return m
}

// URL is the broker's address as a connection URL.
func (m *Mosquitto) URL() string { return "mqtt://127.0.0.1:" + strconv.Itoa(m.Port) }

// Addr is the broker's HOST:PORT.
func (m *Mosquitto) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Port)) }

// PersistenceFile is where the broker saves sessions and retained
// messages; remove it between Stop and Start for a broker that forgot all.
func (m *Mosquitto) PersistenceFile() string { return filepath.Join(m.dir, "mosquitto.db") }

// Start (re)starts a stopped broker on the same port and persistence
// folder, and waits up to 10 s until it accepts connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		m.t.Fatal("mosquitto is already running")
	}
	m.out = &syncBuffer{}
	cmd := exec.Command(m.bin, "-c", m.conf)
	cmd.Stdout, cmd.Stderr = m.out, m.out
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	m.cmd, m.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", m.Addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			m.cmd = nil
			m.t.Fatalf("mosquitto exited at start: %s", m.out.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto did not accept connections on %s within 10s: %v\n%s", m.Addr(), err, m.out.String())
		}
	}
}

// Stop stops the broker with SIGTERM (it saves its persistence database)
// and waits for it to exit. It is safe to call when stopped.
func (m *Mosquitto) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(os.Interrupt)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd = nil
}

// Log returns what the broker has logged since it last started.
func (m *Mosquitto) Log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.out == nil {
		return ""
	}
	return m.out.String()
}

// WaitFor polls cond every 5 ms until it holds or timeout passes, and fails
// the test with what otherwise.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, timeout, what, cond)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Client connects a plain paho client (clean session, QoS 1) to the broker
// at url ("127.0.0.1:PORT" or tcp://…), failing the test if it cannot
// within 10 s; it is disconnected in t.Cleanup.
func Client(t testing.TB, addr, id, user, pass string) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(true).SetConnectRetry(false).SetMaxReconnectInterval(200 * time.Millisecond)
	if user != "" {
		o.SetUsername(user).SetPassword(pass)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect test client %s to %s: %v", id, addr, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// Publish publishes payload at QoS 1 and waits for the broker's ack.
func Publish(t testing.TB, c paho.Client, topic string, payload string, retained bool) {
	t.Helper()
	tok := c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish to %s: %v", topic, tok.Error())
	}
}

// Msg is one message a Collector received.
type Msg struct {
	Topic    string
	Payload  string
	Retained bool
}

// Collector records every message on a topic filter.
type Collector struct {
	mu   sync.Mutex
	msgs []Msg
}

// Collect subscribes c to filter at QoS 1 and records what arrives.
func Collect(t testing.TB, c paho.Client, filter string) *Collector {
	t.Helper()
	col := &Collector{}
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		col.mu.Lock()
		col.msgs = append(col.msgs, Msg{Topic: m.Topic(), Payload: string(m.Payload()), Retained: m.Retained()})
		col.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe to %s: %v", filter, tok.Error())
	}
	return col
}

// Messages returns what arrived so far, in order.
func (c *Collector) Messages() []Msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Msg(nil), c.msgs...)
}

// Last returns the latest message on topic.
func (c *Collector) Last(topic string) (Msg, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if c.msgs[i].Topic == topic {
			return c.msgs[i], true
		}
	}
	return Msg{}, false
}

// On returns the messages on topic, in order.
func (c *Collector) On(topic string) []Msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Msg
	for _, m := range c.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// Reset forgets what arrived so far.
func (c *Collector) Reset() {
	c.mu.Lock()
	c.msgs = nil
	c.mu.Unlock()
}
