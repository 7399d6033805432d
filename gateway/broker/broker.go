// Package broker is Beacon's embedded MQTT broker (mochi-mqtt/server), for
// sites without a broker of their own and for the demo: `beacon run` starts
// it when the config has a broker: section, and the center's MQTT devices and
// the north publisher connect to it like to any other broker.
//
// Every client must log in: users are read from a file of "name:hash"
// lines, the hash being bcrypt (the format of `htpasswd -nbB NAME PASS`, or
// of HashPassword). bcrypt, not a fast hash, so that a stolen users file
// does not give the passwords away to a GPU; its cost (about 50 ms a login
// at cost 10) is paid once per connection. Every user may publish and
// subscribe to every topic. Sessions and retained messages are kept in
// memory: they end with the process, which is also the gateway's.
package broker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/bcrypt"

	"github.com/beacon-edge/beacon/gateway/config"
)

// Broker is a running embedded broker.
type Broker struct {
	srv  *mqtt.Server
	addr string
}

// Users maps user names to bcrypt hashes.
type Users map[string][]byte

// hashCost is the bcrypt cost of HashPassword: bcrypt.DefaultCost (10);
// tests lower it.
var hashCost = bcrypt.DefaultCost

// HashPassword returns a users-file line's hash of password.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), hashCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// ParseUsers reads a users file: one "name:bcrypt-hash" line per user;
// blank lines and lines starting with # are skipped. Errors name the line.
func ParseUsers(r io.Reader) (Users, error) {
	users := Users{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("line %d: want NAME:BCRYPT-HASH", n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("line %d: user %s: not a bcrypt hash (make one with htpasswd -nbB NAME PASSWORD): %w", n, name, err)
		}
		if _, dup := users[name]; dup {
			return nil, fmt.Errorf("line %d: user %s given twice", n, name)
		}
		users[name] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	if len(users) == 0 {
		return nil, errors.New("no users: the broker would admit no one")
	}
	return users, nil
}

// LoadUsers reads a users file (see ParseUsers).
func LoadUsers(path string) (Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open users file: %w", err)
	}
	defer f.Close()
	u, err := ParseUsers(f)
	if err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	return u, nil
}

// Check reports whether password is name's. A login of an unknown user
// costs as much as one of a known user, so that timing does not tell which
// names exist.
func (u Users) Check(name, password string) bool {
	h, ok := u[name]
	if !ok {
		for _, other := range u {
			_ = bcrypt.CompareHashAndPassword(other, []byte(password))
			break
		}
		return false
	}
	return bcrypt.CompareHashAndPassword(h, []byte(password)) == nil
}

// Start serves cfg.Listen with the users of cfg.UsersFile until Close.
func Start(cfg *config.Broker, logger *slog.Logger) (*Broker, error) {
	users, err := LoadUsers(cfg.UsersFile)
	if err != nil {
		return nil, fmt.Errorf("start MQTT broker: %w", err)
	}
	return StartWith(cfg.Listen, users, logger)
}

// StartWith serves listen (HOST:PORT; port 0 picks a free one, see Addr)
// for users until Close.
func StartWith(listen string, users Users, logger *slog.Logger) (*Broker, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	logger = logger.With("part", "broker")
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("start MQTT broker on %s: %w", listen, err)
	}
	srv := mqtt.New(&mqtt.Options{Logger: logger})
	if err := srv.AddHook(&authHook{users: users, log: logger}, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("start MQTT broker: add auth hook: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("beacon", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("start MQTT broker on %s: %w", listen, err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("start MQTT broker on %s: %w", listen, err)
	}
	logger.Info("MQTT broker listening", "addr", ln.Addr().String(), "users", len(users))
	return &Broker{srv: srv, addr: ln.Addr().String()}, nil
}

// Addr is the address the broker listens on, HOST:PORT.
func (b *Broker) Addr() string { return b.addr }

// Close disconnects every client and stops listening.
func (b *Broker) Close() error {
	if err := b.srv.Close(); err != nil {
		return fmt.Errorf("stop MQTT broker: %w", err)
	}
	return nil
}

// authHook admits the users of a users file; every user may use every
// topic.
type authHook struct {
	mqtt.HookBase
	users Users
	log   *slog.Logger
}

func (h *authHook) ID() string { return "beacon-users" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

// OnConnectAuthenticate checks the CONNECT packet's user name and password
// (MQTT 3.1.1 §3.1.3.4–5); a refused client gets return code 5, not
// authorised (§3.2.2.3).
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	if h.users.Check(user, string(pk.Connect.Password)) {
		return true
	}
	h.log.Warn("MQTT login refused", "user", user, "remote", cl.Net.Remote, "client", cl.ID)
	return false
}

func (h *authHook) OnACLCheck(*mqtt.Client, string, bool) bool { return true }
