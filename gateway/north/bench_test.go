package north

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/modbus"
	"github.com/beacon-edge/beacon/drivers/mqtt"
	"github.com/beacon-edge/beacon/drivers/mqtt/mqtttest"
	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/config"
)

const benchCenter = `center:
  id: bench
  name: Bench
  county: lab
  timezone: Asia/Shanghai
  location: {lat: 22.47, lon: 113.03}
connections:
  site: {url: %s}
  bus: {url: tcp://%s, timeout: 1s}
devices:
  hall:
    kind: occupancy
    connection: site
    topic: z2m/hall
    points:
      occupied: {field: occupancy, type: bool}
  lights:
    kind: generic
    connection: bus
    unit: 1
    points:
      power: {table: coil, address: 0, access: write}
rules:
  - name: occupied-lights
    when: [{point: hall.occupied, is: true}]
    set: {lights.power: true}
    otherwise: {lights.power: false}
`

// BenchmarkOccupancyToModbusWrite measures the latency from an occupancy
// message published to Mosquitto to the Modbus write it causes arriving at
// a Modbus TCP server over loopback. The path, all of it real: sensor
// client → Mosquitto → drivers/mqtt → point store → the gateway's
// scheduler, woken by the change of a point its rule's condition reads
// (rule occupied-lights: when hall.occupied is true, lights on, otherwise
// off) → the Schedule slot → reconciler → drivers/modbus Driver (FC05) →
// modbus.Server's OnWrite. Each iteration toggles the occupancy and waits
// for the write and its read-back.
func BenchmarkOccupancyToModbusWrite(b *testing.B) {
	broker := mqtttest.Start(b, mqtttest.Options{})
	srv := modbus.NewServer(modbus.ServerConfig{})
	unit := srv.AddUnit(1, modbus.NewBank(modbus.BankConfig{Coils: modbus.Range{Start: 0, Count: 8}}))
	writes := make(chan time.Time, 16)
	unit.OnWrite = func(modbus.WriteEvent) { writes <- time.Now() }
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	path := filepath.Join(b.TempDir(), "center.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(benchCenter, broker.URL(), addr)), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Options{StateDir: b.TempDir(), Drivers: map[config.Protocol]gateway.DriverFactory{
		config.MQTT: func(conn *config.Connection, devs []*config.Device, log *slog.Logger) (drivers.Driver, error) {
			return mqtt.OpenWith(conn, devs, log, mqtt.Options{Timings: fastTimings})
		},
		config.ModbusTCP: modbus.Open,
	}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	defer func() { cancel(); <-done }()

	occupied := drivers.PointRef{Device: "hall", Point: "occupied"}
	lights := drivers.PointRef{Device: "lights", Point: "power"}
	sensor := mqtttest.Client(b, broker.Addr(), "sensor", "", "")
	// Wait until the driver is subscribed: the first message lands.
	mqtttest.WaitFor(b, wait, "the first occupancy to reach the store", func() bool {
		if p, ok := gw.Store().Get(occupied); ok && !p.Value.IsZero() {
			return true
		}
		mqtttest.Publish(b, sensor, "z2m/hall", `{"occupancy":false}`, false)
		return false
	})
	mqtttest.WaitFor(b, wait, "the lights off", func() bool {
		p, ok := gw.Store().Get(lights)
		return ok && drivers.Equal(p.Value, drivers.Bool(false), 0)
	})
	for len(writes) > 0 {
		<-writes
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		on := i%2 == 0
		start := time.Now()
		sensor.Publish("z2m/hall", 1, false, fmt.Sprintf(`{"occupancy":%t}`, on))
		select {
		case at := <-writes:
			lat = append(lat, at.Sub(start))
		case <-time.After(wait):
			b.Fatalf("iteration %d: no Modbus write within %v", i, wait)
		}
		mqtttest.WaitFor(b, wait, "the read-back", func() bool {
			p, ok := gw.Store().Get(lights)
			return ok && drivers.Equal(p.Value, drivers.Bool(on), 0)
		})
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}
