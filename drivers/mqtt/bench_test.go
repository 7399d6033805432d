package mqtt

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/mqtt/mqtttest"
)

// BenchmarkSouthboundMessages measures sustained state messages per second
// through Mosquitto into the driver and out of Subscribe: a sensor client
// publishes b.N Zigbee2MQTT-style messages at QoS 1 without waiting between
// them; the clock stops when the driver has delivered all of them.
func BenchmarkSouthboundMessages(b *testing.B) {
	// Mosquitto queues at most 1000 messages per client by default and
	// drops the rest; unlimited here, so that the rate is the driver's.
	broker := mqtttest.Start(b, mqtttest.Options{Conf: "max_queued_messages 0\n"})
	conn := testConn(&testing.T{}, broker.URL())
	conn.ClientID = "beacon-bench"
	d, err := OpenWith(conn, testDevices(), nil, fast)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	mqtttest.WaitFor(b, wait, "connect", d.Connected)
	var delivered atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Subscribe(ctx, func(s drivers.Sample) {
		if s.Ref.Point == "occupied" {
			delivered.Add(1)
		}
	})
	sensor := mqtttest.Client(b, broker.Addr(), "sensor", "", "")
	base, _ := d.Stats()
	b.ResetTimer()
	start := time.Now()
	var last paho.Token
	for i := range b.N {
		last = sensor.Publish("z2m/hall", 1, false, fmt.Sprintf(`{"occupancy":%t,"illuminance":%d,"linkquality":87}`, i%2 == 0, i%500))
	}
	if last != nil {
		last.WaitTimeout(time.Minute)
	}
	mqtttest.WaitFor(b, time.Minute, "every message", func() bool { m, _ := d.Stats(); return m-base == uint64(b.N) })
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	if got := delivered.Load(); got != int64(b.N) {
		b.Errorf("Subscribe delivered %d occupancy samples, want %d", got, b.N)
	}
}
