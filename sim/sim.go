// Package sim is a simulated center: it reads the same center config as the
// gateway and serves its Modbus devices on the configured addresses, with
// registers that behave like the hardware — a sign draws its nominal current
// when switched on, a flag takes about 30 s from bottom to top, rooms fill
// and empty over the day, a PA plays a clip for its length. Faults can be
// injected while it runs: offline, slow, exception answers, a partly dark
// strip, a stuck relay, a jammed flag motor.
//
// cmd/beaconsim serves it on its own; beacon demo and the end-to-end tests
// run it in-process. Time comes from an injected clock, so a simulated
// night can pass in minutes.
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/modbus"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/clock"
)

// Options tune a simulated center.
type Options struct {
	Clock  clock.Clock  // nil: the real clock
	Logger *slog.Logger // nil: discard
	// AnyPort makes every server listen on 127.0.0.1:0 instead of its
	// configured address; Addrs tells where. Tests use it.
	AnyPort bool
	// Step is the physics step in simulated time (default 100ms).
	Step time.Duration
	// Seed makes gusts, noise and room use repeatable.
	Seed uint64
}

// Center is a running simulated center.
type Center struct {
	cfg     *config.Config
	clk     clock.Clock
	log     *slog.Logger
	step    time.Duration
	anyPort bool
	rng     *rand.Rand

	mu      sync.Mutex
	servers []*modbus.Server
	addrs   map[string]string // connection name → listening address
	devices map[string]*device
	order   []string
	// mqttDevices are the simulated MQTT sensors (StartMQTT).
	mqttDevices []*mqttDevice
}

// New builds a simulated center from a config. Start serves it.
func New(cfg *config.Config, opts Options) (*Center, error) {
	c := &Center{cfg: cfg, clk: opts.Clock, log: opts.Logger, step: opts.Step, anyPort: opts.AnyPort,
		rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5eed)), addrs: map[string]string{}, devices: map[string]*device{}}
	if c.clk == nil {
		c.clk = clock.Real{}
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.step <= 0 {
		c.step = 100 * time.Millisecond
	}
	for _, d := range cfg.Devices {
		if d.Connection == nil || !d.Connection.Protocol.IsModbus() {
			continue
		}
		dev, err := newDevice(d)
		if err != nil {
			return nil, fmt.Errorf("simulate %s: %w", d.Name, err)
		}
		c.devices[d.Name] = dev
		c.order = append(c.order, d.Name)
	}
	sort.Strings(c.order)
	return c, nil
}

// Start listens on every Modbus connection's address (or on free loopback
// ports with AnyPort) and serves the devices. RTU serial lines cannot be
// simulated here and are skipped with a warning.
func (c *Center) Start() error {
	for _, conn := range c.cfg.Connections {
		var units []*device
		for _, name := range c.order {
			if d := c.devices[name]; d.cfg.Connection == conn {
				units = append(units, d)
			}
		}
		if len(units) == 0 {
			continue
		}
		addr := conn.URL.Host
		if c.anyPort {
			addr = "127.0.0.1:0"
		}
		srv := modbus.NewServer(modbus.ServerConfig{UnknownUnit: modbus.UnknownUnitGatewayFailed, Logger: c.log})
		for _, d := range units {
			d.unit = srv.AddUnit(byte(d.cfg.Unit), d.bank)
			d.unit.DeviceID = []modbus.DeviceObject{
				{ID: 0, Value: []byte("Beacon simulator")},
				{ID: 1, Value: []byte("sim-" + d.cfg.Kind)},
				{ID: 2, Value: []byte("1.0")},
			}
			d.applyFaults()
			d.unit.OnWrite = func(ev modbus.WriteEvent) {
				c.mu.Lock()
				defer c.mu.Unlock()
				d.onWrite(ev, c.clk.Now())
			}
		}
		var (
			bound net.Addr
			err   error
		)
		switch conn.Protocol {
		case config.ModbusTCP:
			bound, err = srv.ListenTCP(addr)
		case config.ModbusRTUOverTCP:
			bound, err = srv.ListenRTUOverTCP(addr)
		default:
			c.log.Warn("cannot simulate a serial line; its devices are not served", "connection", conn.Name, "url", conn.URL.Redacted())
			continue
		}
		if err != nil {
			srv.Close()
			c.Close()
			return fmt.Errorf("serve connection %s on %s: %w", conn.Name, addr, err)
		}
		c.mu.Lock()
		c.servers = append(c.servers, srv)
		c.addrs[conn.Name] = bound.String()
		c.mu.Unlock()
		c.log.Info("simulating", "connection", conn.Name, "addr", bound.String(), "devices", len(units))
	}
	return nil
}

// Addrs returns where each simulated connection listens.
func (c *Center) Addrs() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.addrs))
	for k, v := range c.addrs {
		out[k] = v
	}
	return out
}

// Close stops every server and disconnects the MQTT devices.
func (c *Center) Close() error {
	c.closeMQTT()
	c.mu.Lock()
	servers := c.servers
	c.servers = nil
	c.mu.Unlock()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// Run advances the simulated hardware every Step of the clock until ctx
// ends.
func (c *Center) Run(ctx context.Context) error {
	last := c.clk.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.clk.After(c.step):
		}
		now := c.clk.Now()
		dt := now.Sub(last)
		last = now
		c.mu.Lock()
		for _, name := range c.order {
			if d, ok := c.devices[name]; ok {
				d.advance(now, dt, c)
			}
		}
		c.advanceMQTT(now)
		c.mu.Unlock()
	}
}

// Value returns a device point's current engineering value, as a client
// would read it.
func (c *Center) Value(device, point string) (drivers.Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.devices[device]
	if !ok {
		return drivers.Value{}, fmt.Errorf("no simulated device %q", device)
	}
	p := d.cfg.Point(point)
	if p == nil {
		return drivers.Value{}, fmt.Errorf("device %s has no point %q", device, point)
	}
	return d.get(p)
}

// SetValue sets a device point as the hardware would (a switch thrown by
// hand, a sensor reading).
func (c *Center) SetValue(device, point string, v drivers.Value) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.devices[device]
	if !ok {
		return fmt.Errorf("no simulated device %q", device)
	}
	p := d.cfg.Point(point)
	if p == nil {
		return fmt.Errorf("device %s has no point %q", device, point)
	}
	return d.set(p, v)
}

// noise returns a factor 1±spread.
func (c *Center) noise(spread float64) float64 { return 1 + spread*(2*c.rng.Float64()-1) }
