package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/broker"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/north"
	"github.com/beacon-edge/beacon/gateway/telemetry"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/kinds"
)

// centerOptions are what `beacon run` and `beacon demo` choose beyond the
// config.
type centerOptions struct {
	Logger    *slog.Logger
	Clock     clock.Clock // nil: real
	Simulated bool        // the clock is simulated: telemetry is tagged so
	StateDir  string
	// Drivers overrides the built-in protocol drivers (nil: all of them).
	Drivers map[config.Protocol]gateway.DriverFactory
	// StaleAfterPolls is passed to the gateway (0: its default).
	StaleAfterPolls int
	// Started, when set, is called with the running gateway.
	Started func(*gateway.Gateway)
	// APIListen overrides api.listen (the demo listens on a free port);
	// APIStarted hears the page's URL once it listens (webapi.go).
	APIListen  string
	APIStarted func(url string)
}

// resolveStateDir picks the state directory: the flag, $BEACON_STATE_DIR,
// systemd's $STATE_DIRECTORY, or .beacon beside the config.
func resolveStateDir(flagValue, configFile string) string {
	for _, d := range []string{flagValue, os.Getenv("BEACON_STATE_DIR"), os.Getenv("STATE_DIRECTORY")} {
		if d != "" {
			return filepath.SplitList(d)[0]
		}
	}
	return filepath.Join(filepath.Dir(configFile), ".beacon")
}

// runCenter runs a center until ctx ends — embedded broker, telemetry,
// MQTT north and the gateway — and stops it within shutdownGrace.
func runCenter(ctx context.Context, cfg *config.Config, o centerOptions) error {
	logger := o.Logger
	if err := os.MkdirAll(o.StateDir, 0o750); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if cfg.Broker != nil {
		b, err := broker.Start(cfg.Broker, logger)
		if err != nil {
			return err
		}
		defer b.Close()
	}
	if cfg.Telemetry.OutboxPath == "" {
		cfg.Telemetry.OutboxPath = filepath.Join(o.StateDir, "outbox.db")
	}
	sink, err := telemetry.OpenSink(cfg, telemetry.SinkOptions{Clock: o.Clock, Logger: logger, Simulated: o.Simulated})
	if err != nil {
		return fmt.Errorf("open telemetry: %w", err)
	}
	defer sink.Close()

	drv := o.Drivers
	if drv == nil {
		drv = driverFactories()
	}
	opts := gateway.Options{
		Clock: o.Clock, Logger: logger, Drivers: drv, StateDir: o.StateDir, Telemetry: sink, StaleAfterPolls: o.StaleAfterPolls,
		OnNight: func(device string, start, end time.Time) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			n, err := sink.CloseNight(ctx, device, start, end)
			if err != nil {
				logger.Error("record sign night", "device", device, "err", err)
				return
			}
			logger.Info("sign night recorded", "device", device, "required_min", n.Required, "lit_min", n.Lit, "dark_min", n.Dark, "unknown_min", n.Unknown, "compliance", n.Compliance)
		},
		OnBroadcast: func(r kinds.BroadcastRecord) {
			outcome := string(r.Result)
			if r.Reason != "" {
				outcome += ": " + r.Reason
			}
			what := r.Clip
			if what == "" {
				what = "text"
			}
			if err := sink.Broadcast(telemetry.BroadcastRecord{Device: r.Device, Start: r.Start, Clip: what, Source: r.Source, Duration: r.Duration(), Outcome: outcome}); err != nil {
				logger.Error("record broadcast", "device", r.Device, "err", err)
			}
		},
	}
	if cfg.North != nil {
		opts.North = func(ctx context.Context, g *gateway.Gateway) error {
			parts := north.Parts{Store: g.Store(), Priorities: g.Priorities(), Trigger: g.Reconciler().Trigger}
			pub, err := north.New(cfg, parts, north.Options{Logger: logger})
			if err != nil {
				logger.Error("MQTT north not started; the center runs without it", "err", err)
				return nil
			}
			return pub.Run(ctx)
		}
	}
	web, err := newWebAPI(cfg, o, sink, &opts)
	if err != nil {
		return err
	}
	g, err := gateway.New(cfg, opts)
	if err != nil {
		return err
	}
	if err := web.start(g); err != nil {
		return err
	}
	if o.Started != nil {
		o.Started(g)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	apiDone := make(chan struct{})
	go func() {
		defer close(apiDone)
		if err := web.serve(runCtx); err != nil {
			logger.Error("web page and API not served; the center runs without them", "err", err)
		}
	}()
	defer func() { cancel(); <-apiDone }()
	done := make(chan error, 1)
	go func() { done <- g.Run(runCtx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	logger.Info("stopping", "grace", shutdownGrace)
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(shutdownGrace):
		return fmt.Errorf("gateway did not stop within %v; exiting anyway", shutdownGrace)
	}
}
