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

	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/clock"
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
	stateDir := fs.String("state-dir", "", "`DIR` for job history and the telemetry outbox (default $BEACON_STATE_DIR, $STATE_DIRECTORY, or .beacon beside the config)")
	clockFrom := fs.String("clock-from", "", "dry run: start a simulated clock at `TIME` (RFC 3339, or YYYY-MM-DD HH:MM in the center's zone)")
	clockSpeed := fs.Float64("clock-speed", 1, "dry run: simulated seconds per real second")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: beacon run -c FILE [--state-dir DIR] [--clock-from TIME --clock-speed N] [--log-format text|json] [--log-level LEVEL]")
			return nil
		}
		return err
	}
	if *file == "" {
		return usagef("missing -c FILE")
	}
	if *clockSpeed <= 0 || *clockSpeed > 10000 {
		return usagef("--clock-speed %v must be more than 0 and at most 10000", *clockSpeed)
	}
	if *clockSpeed != 1 && *clockFrom == "" {
		return usagef("--clock-speed needs --clock-from")
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
	opts := centerOptions{Logger: logger, StateDir: resolveStateDir(*stateDir, cfg.File)}
	if *clockFrom != "" {
		start, err := parseClockFrom(*clockFrom, cfg.Center.Location)
		if err != nil {
			return err
		}
		opts.Clock, opts.Simulated = clock.NewScaled(start, *clockSpeed), true
		logger.Warn("dry run on a simulated clock: telemetry is tagged simulated=true", "from", start.Format(time.RFC3339), "speed", *clockSpeed)
	}
	return runCenter(ctx, cfg, opts)
}

// parseClockFrom reads --clock-from: RFC 3339, or a date and time in the
// center's zone.
func parseClockFrom(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("bad --clock-from %q: write 2026-12-01T17:00:00+08:00 or \"2026-12-01 17:00\"", s)
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
