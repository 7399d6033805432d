package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/beacon-edge/beacon/gateway/config"
)

// Timings is how a client connects and reconnects; zero fields take the
// defaults below.
type Timings struct {
	// ConnectRetryInterval is the wait between attempts of the first
	// connection (default 1s).
	ConnectRetryInterval time.Duration
	// MaxReconnectInterval caps paho's reconnect backoff, which starts at
	// 1s and doubles (default 30s).
	MaxReconnectInterval time.Duration
	// KeepAlive is the MQTT keep-alive (default 30s, MQTT 3.1.1 §3.1.2.10).
	KeepAlive time.Duration
	// ConnectTimeout bounds one connection attempt (default 10s).
	ConnectTimeout time.Duration
}

func (t Timings) withDefaults() Timings {
	if t.ConnectRetryInterval <= 0 {
		t.ConnectRetryInterval = time.Second
	}
	if t.MaxReconnectInterval <= 0 {
		t.MaxReconnectInterval = 30 * time.Second
	}
	if t.KeepAlive <= 0 {
		t.KeepAlive = 30 * time.Second
	}
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = 10 * time.Second
	}
	return t
}

// ClientOptions returns the paho options every Beacon client of conn uses:
// MQTT 3.1.1, the given stable client id with a persistent session
// (CleanSession false, so the broker keeps QoS 1 messages while Beacon is
// away), connection in the background with retry and auto-reconnect, TLS
// with the system roots (plus the connection's CA file) for mqtts://, and
// the username and password from the config. Handlers are left to the
// caller.
//
// The client keeps no store of its own outgoing messages (noResend): a
// publish not acknowledged when the connection drops is not sent again
// after the reconnect. A late device command could do harm (the reconciler
// retries from a fresh read-back instead), and north republishes its whole
// state on every connection anyway. It also avoids paho's resume race
// (eclipse-paho/paho.mqtt.golang#703), where a message published just as
// the connection came up was sent twice while being modified. The broker
// still keeps the session, so messages to Beacon wait for it.
func ClientOptions(conn *config.Connection, clientID string, t Timings) (*paho.ClientOptions, error) {
	t = t.withDefaults()
	if conn.URL == nil {
		return nil, fmt.Errorf("connection %s has no URL", conn.Name)
	}
	host, port := conn.URL.Hostname(), conn.URL.Port()
	scheme := "tcp"
	if conn.Protocol == config.MQTTS {
		scheme = "ssl"
	}
	if port == "" {
		port = map[string]string{"tcp": "1883", "ssl": "8883"}[scheme]
	}
	o := paho.NewClientOptions()
	o.AddBroker(scheme + "://" + net.JoinHostPort(host, port))
	o.SetClientID(clientID)
	o.SetProtocolVersion(4) // MQTT 3.1.1
	o.SetCleanSession(false)
	o.SetAutoReconnect(true)
	o.SetConnectRetry(true)
	o.SetConnectRetryInterval(t.ConnectRetryInterval)
	o.SetMaxReconnectInterval(t.MaxReconnectInterval)
	o.SetKeepAlive(t.KeepAlive)
	o.SetPingTimeout(10 * time.Second)
	o.SetConnectTimeout(t.ConnectTimeout)
	o.SetWriteTimeout(10 * time.Second)
	o.SetOrderMatters(true) // handlers run in arrival order, one at a time
	o.SetStore(noResend{})
	if conn.Username != "" {
		o.SetUsername(conn.Username)
	}
	if conn.Password.IsSet() {
		pw, err := conn.Password.Read()
		if err != nil {
			return nil, fmt.Errorf("read password of connection %s from %s: %w", conn.Name, conn.Password, err)
		}
		o.SetPassword(pw)
	}
	if scheme == "ssl" {
		tc, err := tlsConfig(host, conn.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS for connection %s: %w", conn.Name, err)
		}
		o.SetTLSConfig(tc)
	}
	return o, nil
}

// noResend is a paho.Store that stores nothing.
type noResend struct{}

func (noResend) Open()                             {}
func (noResend) Put(string, packets.ControlPacket) {}
func (noResend) Get(string) packets.ControlPacket  { return nil }
func (noResend) All() []string                     { return nil }
func (noResend) Del(string)                        {}
func (noResend) Close()                            {}
func (noResend) Reset()                            {}

func tlsConfig(host, caFile string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: host}, nil
}
