package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/broker"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/north"
)

func init() {
	commands["run"] = command{summary: "run the gateway for a center (the daemon)", run: runRun}
}

// shutdownGrace bounds a clean stop: the write in flight completes and state
// is flushed within it, or the daemon exits anyway and says so.
const shutdownGrace = 5 * time.Second

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	file := fs.String("c", "", "center config `FILE`")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: beacon run -c FILE [--log-format text|json] [--log-level LEVEL]")
			return nil
		}
		return err
	}
	if *file == "" {
		return usagef("missing -c FILE")
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	cfg, diags, err := config.Check(*file)
	if err != nil {
		return err
	}
	if cfg == nil {
		for _, d := range diags {
			fmt.Fprintln(stderr, d)
		}
		fmt.Fprintf(stderr, "beacon run: %s has errors; not starting\n", *file)
		return exitError{code: 1}
	}
	for _, d := range cfg.Warnings {
		logger.Warn("config", "warning", d.String())
	}
	return runGateway(ctx, cfg, logger)
}

// runGateway runs cfg until ctx ends and waits at most shutdownGrace for it
// to stop.
func runGateway(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	// MQTT (issue 6): the embedded broker, when the config has broker:, and
	// the north publisher, when it has north:.
	if cfg.Broker != nil {
		b, err := broker.Start(cfg.Broker, logger)
		if err != nil {
			return err
		}
		defer b.Close()
	}
	opts := gateway.Options{Logger: logger, Drivers: driverFactories()}
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
	g, err := gateway.New(cfg, opts)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
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

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("bad --log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("bad --log-format %q: use text or json", format)
}
