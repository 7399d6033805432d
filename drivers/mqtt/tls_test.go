package mqtt

import (
	"fmt"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers/mqtt/mqtttest"
	"github.com/beacon-edge/beacon/internal/testenv"
)

// TestMQTTSOverTLS: an mqtts:// connection to Mosquitto's TLS listener
// connects with the site's CA in ca_file, and does not connect to a broker
// whose certificate no trusted CA vouches for.
func TestMQTTSOverTLS(t *testing.T) {
	certFile, keyFile := testenv.SelfSignedCert(t)
	broker := mqtttest.Start(t, mqtttest.Options{Conf: fmt.Sprintf("certfile %s\nkeyfile %s\n", certFile, keyFile)})
	url := fmt.Sprintf("mqtts://127.0.0.1:%d", broker.Port)

	trusted := testConn(t, url)
	trusted.CAFile = certFile
	d := open(t, trusted, fast, nil)
	waitConnected(t, d)

	untrusted := testConn(t, url)
	untrusted.ClientID += "-untrusted"
	u := open(t, untrusted, fast, nil)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if u.Connected() {
			t.Fatal("connected over TLS to a broker whose certificate no CA vouches for")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
