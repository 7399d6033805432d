// Command county is the county service: the uptime report and the county
// dashboard with alerts, over the central InfluxDB (package county).
//
//	county report --influx URL --county ID --from DATE --to DATE [--format table|csv|json]
//	county serve  --influx URL --county ID [--listen 127.0.0.1:8090]
//
// The InfluxDB token is read from --token-file or $BEACON_INFLUX_TOKEN.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/beacon-edge/beacon/county"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage:
  county report --influx URL --county ID --from YYYY-MM-DD --to YYYY-MM-DD [--format table|csv|json]
  county serve  --influx URL --county ID [--listen 127.0.0.1:8090] [--webhook URL]

Run "county report -h" or "county serve -h" for the flags.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "report":
		err = runReport(ctx, args[1:], stdout, stderr)
	case "serve":
		err = runServe(ctx, args[1:], stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "county: unknown command %q\n%s", args[0], usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "county:", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// common holds the flags of both commands.
type common struct {
	influx, countyID, bucket, org, tokenFile, tz string
	lookback                                     time.Duration
	verbose, simulated                           bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.influx, "influx", "", "InfluxDB base `URL` (required)")
	fs.StringVar(&c.countyID, "county", "", "county `ID`: the county tag (required)")
	fs.StringVar(&c.bucket, "bucket", "beacon/autogen", "InfluxDB `bucket` (1.8: database/retention)")
	fs.StringVar(&c.org, "org", "", "InfluxDB organization (2.x)")
	fs.StringVar(&c.tokenFile, "token-file", "", "read the InfluxDB token from `FILE` (else $BEACON_INFLUX_TOKEN)")
	fs.StringVar(&c.tz, "tz", "Local", "the county's time `ZONE` (IANA name); nights are named after local dates")
	fs.DurationVar(&c.lookback, "lookback", 31*24*time.Hour, "how far before the range to look for the county's centers")
	fs.BoolVar(&c.verbose, "v", false, "log each query")
	fs.BoolVar(&c.simulated, "include-simulated", false, "also read data tagged simulated=true (the demo, dry runs); never for real uptime")
}

func (c *common) config(stderr io.Writer) (county.Config, error) {
	var errs []error
	if c.influx == "" {
		errs = append(errs, errors.New("--influx is required"))
	}
	if c.countyID == "" {
		errs = append(errs, errors.New("--county is required"))
	}
	loc, err := time.LoadLocation(c.tz)
	if err != nil {
		errs = append(errs, fmt.Errorf("--tz: %w", err))
	}
	token := os.Getenv("BEACON_INFLUX_TOKEN")
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("--token-file: %w", err))
		}
		token = strings.TrimSpace(string(b))
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return county.Config{URL: c.influx, Token: token, Org: c.org, Bucket: c.bucket, County: c.countyID,
		Location: loc, Lookback: c.lookback, IncludeSimulated: c.simulated, Logger: logger}, errors.Join(errs...)
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("county report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	from := fs.String("from", "", "first night, `YYYY-MM-DD` (the local date its window starts; required)")
	to := fs.String("to", "", "last night, `YYYY-MM-DD` (required)")
	format := fs.String("format", "table", "output: table, csv or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := c.config(stderr)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	f, err := county.ParseDate(*from)
	if err != nil {
		errs = append(errs, fmt.Errorf("--from: %w", err))
	}
	t, err := county.ParseDate(*to)
	if err != nil {
		errs = append(errs, fmt.Errorf("--to: %w", err))
	}
	if *format != county.FormatTable && *format != county.FormatCSV && *format != county.FormatJSON {
		errs = append(errs, fmt.Errorf("--format %q: want table, csv or json", *format))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(stderr, "county report:", err)
		fs.Usage()
		return errUsage
	}
	svc, err := county.New(cfg)
	if err != nil {
		return err
	}
	defer svc.Close()
	r, err := svc.Report(ctx, f, t)
	if err != nil {
		return err
	}
	return r.Write(stdout, *format)
}

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("county serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	listen := fs.String("listen", "127.0.0.1:8090", "HTTP listen `ADDRESS`")
	refresh := fs.Duration("refresh", time.Minute, "how often the page reloads itself")
	darkAfter := fs.Duration("alert-dark-after", 15*time.Minute, "alert on a sign dark inside its required window for longer than this (N)")
	offlineAfter := fs.Duration("alert-offline-after", 10*time.Minute, "alert on a gateway offline for longer than this (M)")
	repeat := fs.Duration("alert-repeat", time.Hour, "repeat an active alert this often")
	every := fs.Duration("alert-every", time.Minute, "evaluate alerts this often")
	webhook := fs.String("webhook", "", "POST alert events as JSON to `URL` (run it on one copy only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := c.config(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "county serve:", err)
		fs.Usage()
		return errUsage
	}
	svc, err := county.New(cfg)
	if err != nil {
		return err
	}
	defer svc.Close()
	alerts := county.NewAlerter(svc, county.AlertRules{DarkAfter: *darkAfter, OfflineAfter: *offlineAfter, Repeat: *repeat, Webhook: *webhook})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: county.NewDashboard(svc, county.DashboardOptions{Refresh: *refresh, Alerts: alerts}), ReadHeaderTimeout: 10 * time.Second}
	cfg.Logger.Info("county dashboard", "url", "http://"+ln.Addr().String()+"/", "county", cfg.County)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- alerts.Run(ctx, *every) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
