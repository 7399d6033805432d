// Package gateway is the runtime of one center: it turns a validated config
// into running parts and wires them — one driver per connection, a poller
// that feeds the point store, priority arrays seeded with each point's safe
// value, and the reconciler that converges devices to their effective
// values. Rules, telemetry, MQTT north and the HTTP API attach here as they
// arrive.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/gateway/reconcile"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/kinds"
)

// DriverFactory opens the driver of one connection, serving the given
// devices' points. It must not block on the network: a device that is down
// at start is a device whose points go bad, not a gateway that will not
// start.
type DriverFactory func(conn *config.Connection, devices []*config.Device, logger *slog.Logger) (drivers.Driver, error)

// Options are the parts of a Gateway that are not in the config.
type Options struct {
	Clock  clock.Clock  // nil: the real clock
	Logger *slog.Logger // nil: discard
	// Drivers maps a connection protocol to its driver. A connection whose
	// protocol has none is reported at start and its points stay bad.
	Drivers map[config.Protocol]DriverFactory
	// SweepInterval is how often staleness is re-evaluated (default 1s).
	SweepInterval time.Duration
	// StaleAfterPolls is how many poll intervals without an update make a
	// point stale (default 3). The demo, whose clock runs hundreds of
	// times faster than real time, raises it so that a millisecond's
	// hiccup is not a minute's outage.
	StaleAfterPolls int
	// OnNight hears each sign's required window when it ends, and after a
	// restart the windows that ended while the gateway was down (it must be
	// idempotent). Telemetry computes the nightly summary from it.
	OnNight func(device string, start, end time.Time)
	// OnBroadcast hears every broadcast outcome.
	OnBroadcast func(kinds.BroadcastRecord)
	// StateDir holds what must survive a restart: which job instants ran,
	// which sign nights were reported, the hours each flag has flown, the
	// managers' overrides.
	// Required when the config has jobs.
	StateDir string
	// EvaluateInterval is how often device kinds judge their devices
	// (a sign lit or dark, a room occupied), default 1s.
	EvaluateInterval time.Duration
	// North, when set, runs with the gateway and stops with it: the MQTT
	// north publisher (gateway/north), given the gateway's parts.
	North func(ctx context.Context, g *Gateway) error
	// Reconcile tunes the reconciler (intervals, backoff); its
	// Connections, Priorities, Store, Clock and Logger are filled in here.
	Reconcile reconcile.Config
	// Telemetry, when set, runs with the gateway: it is given the point
	// store and every write the reconciler makes (gateway/telemetry.Sink).
	Telemetry Telemetry
}

// Telemetry records what the center measures and does.
type Telemetry interface {
	// Run records the store's changes until ctx ends.
	Run(ctx context.Context, store *points.Store) error
	// Audit receives every write; it must not block.
	Audit(reconcile.AuditEvent)
}

// SafeAuthor is the author of the Default-slot commands that hold each
// point's configured safe value.
const SafeAuthor = "config:safe"

// Gateway runs one center.
type Gateway struct {
	cfg        *config.Config
	clk        clock.Clock
	log        *slog.Logger
	store      *points.Store
	priorities *priority.Table
	reconciler *reconcile.Reconciler
	north      func(context.Context, *Gateway) error // nil: none
	links      []*link
	sweepEvery time.Duration
	devices    *devices
	evalEvery  time.Duration
	telemetry  Telemetry // nil: none
	sched      *scheduler
	stateDir   string
	onNight    func(device string, start, end time.Time)
}

// link is one connection with its driver (nil when none could be opened)
// and the points it polls.
type link struct {
	conn   *config.Connection
	driver drivers.Driver
	points []*config.Point
	err    error // why driver is nil
}

// New builds a Gateway from a validated config. It opens drivers but does
// not start anything; Run does.
func New(cfg *config.Config, opts Options) (*Gateway, error) {
	g := &Gateway{cfg: cfg, clk: opts.Clock, log: opts.Logger, sweepEvery: opts.SweepInterval}
	if g.clk == nil {
		g.clk = clock.Real{}
	}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g.log = g.log.With("center", cfg.Center.ID)
	if g.sweepEvery <= 0 {
		g.sweepEvery = time.Second
	}
	g.store = points.New(points.Options{Clock: g.clk})
	stalePolls := opts.StaleAfterPolls
	if stalePolls <= 0 {
		stalePolls = 3 // three missed polls make a point stale
	}
	g.priorities = priority.NewTable()
	g.north = opts.North

	var rcConns []reconcile.Connection
	for _, conn := range cfg.Connections {
		l := &link{conn: conn}
		var devs []*config.Device
		for _, d := range cfg.Devices {
			if d.Connection == conn {
				devs = append(devs, d)
				l.points = append(l.points, d.Points...)
			}
		}
		if len(devs) == 0 {
			continue
		}
		for _, p := range l.points {
			g.store.Declare(p.Ref(), time.Duration(stalePolls)*p.Poll)
			if !p.Safe.IsZero() {
				cmd := priority.Command{Value: p.Safe, Author: SafeAuthor, Set: g.clk.Now()}
				if err := g.priorities.Set(p.Ref(), priority.Default, cmd); err != nil {
					return nil, fmt.Errorf("seed safe value of %s: %w", p.Ref(), err)
				}
			}
		}
		factory := opts.Drivers[conn.Protocol]
		switch {
		case factory == nil:
			l.err = fmt.Errorf("no %s driver in this build", conn.Protocol)
		default:
			l.driver, l.err = factory(conn, devs, g.log.With("connection", conn.Name))
		}
		if l.err != nil {
			g.log.Error("connection unusable; its points stay bad", "connection", conn.Name, "err", l.err)
		}
		g.links = append(g.links, l)
		if l.driver == nil {
			continue
		}
		rc := reconcile.Connection{Name: conn.Name, Driver: l.driver}
		for _, p := range l.points {
			if p.Writable() {
				rc.Points = append(rc.Points, reconcile.Point{Ref: p.Ref(), Tolerance: tolerance(p)})
			}
		}
		rcConns = append(rcConns, rc)
	}
	rcfg := opts.Reconcile
	rcfg.Connections, rcfg.Priorities, rcfg.Store, rcfg.Clock, rcfg.Logger = rcConns, g.priorities, g.store, g.clk, g.log
	if tel := opts.Telemetry; tel != nil {
		g.telemetry = tel
		if audit := rcfg.Audit; audit != nil {
			rcfg.Audit = func(ev reconcile.AuditEvent) { audit(ev); tel.Audit(ev) }
		} else {
			rcfg.Audit = tel.Audit
		}
	}
	rec, err := reconcile.New(rcfg)
	if err != nil {
		g.closeDrivers()
		return nil, fmt.Errorf("build reconciler: %w", err)
	}
	g.reconciler = rec
	g.evalEvery = opts.EvaluateInterval
	if g.evalEvery <= 0 {
		g.evalEvery = time.Second
	}
	g.stateDir = opts.StateDir
	g.buildDevices()
	g.loadFlagHours()
	g.restoreOverrides()
	g.onNight = opts.OnNight
	if err := g.buildScheduler(opts.StateDir); err != nil {
		g.closeDrivers()
		return nil, err
	}
	g.sched.onBroadcast = opts.OnBroadcast
	return g, nil
}

// tolerance is how far a read-back may differ from the command and still
// count as equal: half a raw step for scaled integers, a tiny margin for
// floats (a float32 register cannot hold every float64), exact otherwise.
func tolerance(p *config.Point) float64 {
	switch p.Type {
	case config.TypeBool, config.TypeString:
		return 0
	case config.TypeFloat32:
		return 1e-6 * math.Max(1, math.Abs(p.Scale))
	case config.TypeFloat64:
		return 1e-9
	}
	return math.Abs(p.Scale) / 2
}

// Store is the gateway's point store.
func (g *Gateway) Store() *points.Store { return g.store }

// Priorities is the gateway's priority table.
func (g *Gateway) Priorities() *priority.Table { return g.priorities }

// Reconciler is the gateway's reconciler, for status and triggers.
func (g *Gateway) Reconciler() *reconcile.Reconciler { return g.reconciler }

// Run runs the center until ctx ends, then stops every part: the write in
// flight completes, drivers are closed. It returns nil on a clean stop.
func (g *Gateway) Run(ctx context.Context) error {
	now := g.clk.Now()
	for _, l := range g.links {
		if l.driver == nil {
			for _, p := range l.points {
				g.store.Update(l.conn.Name, drivers.Sample{Ref: p.Ref(), Time: now, Err: l.err})
			}
		}
	}
	g.log.Info("gateway running", "devices", len(g.cfg.Devices), "connections", len(g.links))

	var (
		wg     sync.WaitGroup
		errMu  sync.Mutex
		failed []error
	)
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errMu.Lock()
				failed = append(failed, fmt.Errorf("%s: %w", name, err))
				errMu.Unlock()
			}
		}()
	}
	for _, l := range g.links {
		if l.driver == nil {
			continue
		}
		start("poll "+l.conn.Name, func(ctx context.Context) error { return g.poll(ctx, l) })
		if sub, ok := l.driver.(drivers.Subscriber); ok {
			source := l.conn.Name
			start("subscribe "+source, func(ctx context.Context) error {
				return sub.Subscribe(ctx, func(s drivers.Sample) {
					s.Time = g.clk.Now()
					g.store.Update(points.SourceSubscription, s)
				})
			})
		}
	}
	start("sweep", g.sweep)
	if g.north != nil {
		start("north", func(ctx context.Context) error { return g.north(ctx, g) })
	}
	// The schedule's first decisions are in the slots before the
	// reconciler's first pass, so that a gateway started by day does not
	// flash the sign on with its safe value first.
	g.sched.tick(ctx)
	start("reconcile", g.reconciler.Run)
	if g.telemetry != nil {
		start("telemetry", func(ctx context.Context) error { return g.telemetry.Run(ctx, g.store) })
	}
	start("evaluate devices", func(ctx context.Context) error { return g.evaluateDevices(ctx, g.evalEvery) })
	for _, f := range g.devices.flagpoles {
		start("flagpole "+f.Device(), f.Run)
	}
	if len(g.devices.flagpoles) > 0 {
		start("flag hours", g.keepFlagHours)
	}
	if g.overridesFile() != "" {
		start("overrides", g.keepOverrides)
	}
	start("schedule", g.sched.run)
	wg.Wait()
	g.closeDrivers()
	g.log.Info("gateway stopped")
	return errors.Join(failed...)
}

func (g *Gateway) closeDrivers() {
	for _, l := range g.links {
		if l.driver != nil {
			if err := l.driver.Close(); err != nil {
				g.log.Warn("close driver", "connection", l.conn.Name, "err", err)
			}
		}
	}
}

// sweep re-evaluates staleness so that subscribers hear of points that
// stopped reporting.
func (g *Gateway) sweep(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-g.clk.After(g.sweepEvery):
			g.store.Sweep(g.clk.Now())
		}
	}
}
