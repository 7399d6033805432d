package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/telemetry"
)

func init() {
	commands["uptime"] = command{summary: "nightly sign compliance from the local store or InfluxDB", run: runUptime}
}

func runUptime(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("uptime", stderr)
	file := fs.String("c", "", "center config `FILE`")
	nights := fs.Int("nights", 7, "how many nights back to show")
	local := fs.Bool("local", false, "read the local store even when InfluxDB is configured")
	stateDir := fs.String("state-dir", "", "the gateway's state `DIR`, as given to beacon run")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: beacon uptime -c FILE [--nights N] [--local] [--state-dir DIR]\n\nPrints each sign's nightly compliance: required, lit, dark and unknown minutes.\nReads InfluxDB when telemetry.influx is configured, else the gateway's local store.")
			return nil
		}
		return err
	}
	if *file == "" {
		return usagef("missing -c FILE")
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *nights < 1 {
		return usagef("--nights must be at least 1")
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return err
	}
	since := time.Now().Add(-time.Duration(*nights+1) * 24 * time.Hour)
	var ns []telemetry.SignNight
	var from string
	if in := cfg.Telemetry.Influx; in != nil && !*local {
		token, err := in.Token.Read()
		if err != nil {
			return fmt.Errorf("influxdb token: %w", err)
		}
		w := telemetry.NewInfluxWriter(telemetry.InfluxOptions{URL: in.URL, Org: in.Org, Bucket: in.Bucket, Token: token, Timeout: 30 * time.Second})
		defer w.Close()
		if ns, err = w.QueryNights(ctx, in.Bucket, cfg.Center.ID, since); err != nil {
			return err
		}
		from = "influxdb " + in.URL.Redacted() + " bucket " + in.Bucket
	} else {
		if cfg.Telemetry.OutboxPath == "" {
			cfg.Telemetry.OutboxPath = filepath.Join(resolveStateDir(*stateDir, cfg.File), "outbox.db")
		}
		path := telemetry.NightsFile(telemetry.OutboxPath(cfg))
		ns, err = telemetry.ReadNightsFile(path)
		if err != nil && !errors.Is(err, iofs.ErrNotExist) {
			return err
		}
		from = "local store " + path
	}
	printNights(stdout, cfg, from, ns, *nights)
	return nil
}

// printNights prints the last n nights per sign, in the center's time zone.
func printNights(w io.Writer, cfg *config.Config, from string, ns []telemetry.SignNight, n int) {
	fmt.Fprintf(w, "%s  %s  sign compliance from %s\n", cfg.Center.ID, cfg.Center.Name, from)
	if len(ns) == 0 {
		fmt.Fprintln(w, "no nightly summaries yet")
		return
	}
	loc := cfg.Center.Location
	if loc == nil {
		loc = time.UTC
	}
	// The last n distinct nights.
	starts := map[string]bool{}
	for i := len(ns) - 1; i >= 0; i-- {
		starts[ns[i].Start.In(loc).Format("2006-01-02")] = true
		if len(starts) > n {
			delete(starts, ns[i].Start.In(loc).Format("2006-01-02"))
			ns = ns[i+1:]
			break
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "night\tsign\twindow\trequired\tlit\tdark\tunknown\tcompliance\t")
	for _, x := range ns {
		s, e := x.Start.In(loc), x.End.In(loc)
		fmt.Fprintf(tw, "%s\t%s\t%s-%s\t%d\t%d\t%d\t%d\t%.1f%%\t\n", s.Format("2006-01-02"), x.Device,
			s.Format("15:04"), e.Format("15:04"), x.Required, x.Lit, x.Dark, x.Unknown, 100*x.Compliance)
	}
	tw.Flush()
}
