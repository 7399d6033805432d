// Package county is the county service: it reads the telemetry that every
// center's gateway writes to the central InfluxDB (gateway/telemetry) and
// answers the county operator's questions — was every sign lit all night
// (the uptime report), is it lit now and which centers are offline (the
// dashboard), and which sign or gateway needs someone now (alerts).
//
// It reads InfluxDB with Flux only and keeps no state of its own besides
// the alerts' start/repeat/clear bookkeeping, so as many copies as needed
// can run (DESIGN.md, Scale). Data recorded on a simulated clock (tag
// simulated=true) is never read.
//
// Definitions follow DESIGN.md, "Uptime definitions": a night's required,
// lit, dark and unknown minutes come from the gateways' sign_night
// summaries; a night a center never reported is filled in here as fully
// unknown (see docs/COUNTY.md).
package county

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api/query"

	"github.com/beacon-edge/beacon/internal/clock"
)

// Config says where the county's telemetry is and how to judge it.
type Config struct {
	URL    string // InfluxDB base URL, e.g. http://influx:8086
	Token  string // InfluxDB token; for 1.8 "user:password" or empty
	Org    string // ignored by InfluxDB 1.8
	Bucket string // "database/retention" for 1.8 (default "beacon/autogen")
	County string // the county tag

	// Location is the county's time zone: a night is named after the
	// local date on which its window starts (default time.Local).
	Location *time.Location
	// Lookback is how far before a report's first night the service looks
	// for the county's centers and their windows (default 31 days). A
	// center silent for longer is no longer in the county.
	Lookback time.Duration
	// DefaultWindow is the required window assumed for a night no sign of
	// the county reported, as offsets from the local midnight of the
	// night's date (default 18:00 → 30:00, i.e. 06:00 next morning).
	DefaultWindow [2]time.Duration
	// ReportGrace is how long after a window's end a missing summary is
	// still only late, not missing (default 1 h).
	ReportGrace time.Duration

	// OfflineAfter: a gateway without a heartbeat for this long is offline
	// (default 3 min: three missed one-minute heartbeats).
	OfflineAfter time.Duration
	// StaleAfter: a sign whose latest sample is older is unknown (default
	// 3 min).
	StaleAfter time.Duration
	// StatusLookback bounds the samples read for the status now (default
	// 24 h); flag and broadcast records are read over Lookback.
	StatusLookback time.Duration

	// IncludeSimulated reads data tagged simulated=true too (the demo, dry
	// runs); never for real uptime.
	IncludeSimulated bool

	Timeout time.Duration // per query (default 60 s)
	Clock   clock.Clock   // default the real clock
	Logger  *slog.Logger
}

// Validate checks the config after defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("influx: URL is required"))
	}
	if c.County == "" {
		errs = append(errs, errors.New("county: the county ID is required"))
	}
	if c.Bucket == "" {
		errs = append(errs, errors.New("bucket: required"))
	}
	if c.DefaultWindow[1] <= c.DefaultWindow[0] {
		errs = append(errs, fmt.Errorf("default window: end %v is not after start %v", c.DefaultWindow[1], c.DefaultWindow[0]))
	}
	return errors.Join(errs...)
}

func (c *Config) defaults() {
	if c.Bucket == "" {
		c.Bucket = "beacon/autogen"
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.Lookback <= 0 {
		c.Lookback = 31 * 24 * time.Hour
	}
	if c.DefaultWindow == [2]time.Duration{} {
		c.DefaultWindow = [2]time.Duration{18 * time.Hour, 30 * time.Hour}
	}
	if c.ReportGrace <= 0 {
		c.ReportGrace = time.Hour
	}
	if c.OfflineAfter <= 0 {
		c.OfflineAfter = 3 * time.Minute
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = 3 * time.Minute
	}
	if c.StatusLookback <= 0 {
		c.StatusLookback = 24 * time.Hour
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Service answers reports, status and alerts from InfluxDB. It is safe
// for concurrent use.
type Service struct {
	cfg    Config
	client influxdb2.Client
	log    *slog.Logger
}

// New returns a Service over the config's InfluxDB. Close releases it.
func New(cfg Config) (*Service, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := influxdb2.DefaultOptions().
		SetHTTPRequestTimeout(uint(cfg.Timeout / time.Second)).
		SetHTTPClient(&http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 8, IdleConnTimeout: 90 * time.Second,
		}})
	c := influxdb2.NewClientWithOptions(strings.TrimRight(cfg.URL, "/"), cfg.Token, opts)
	return &Service{cfg: cfg, client: c, log: cfg.Logger.With("county", cfg.County)}, nil
}

// Config returns the service's config with defaults applied.
func (s *Service) Config() Config { return s.cfg }

// Close releases the InfluxDB client.
func (s *Service) Close() { s.client.Close() }

// Now is the service clock's time.
func (s *Service) Now() time.Time { return s.cfg.Clock.Now() }

// base is the start of every query: the county's bucket over [start,
// stop), without data from simulated clocks.
func (s *Service) base(start, stop time.Time) string {
	q := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r.county == %s)`,
		fluxString(s.cfg.Bucket), start.UTC().Format(time.RFC3339Nano), stop.UTC().Format(time.RFC3339Nano), fluxString(s.cfg.County))
	if !s.cfg.IncludeSimulated {
		q += `
  |> filter(fn: (r) => not exists r.simulated or r.simulated != "true")`
	}
	return q
}

// run executes a Flux query and calls each for every record.
func (s *Service) run(ctx context.Context, what, flux string, each func(*query.FluxRecord)) error {
	t0 := time.Now()
	// A QueryAPI per query: influxdb-client-go v2.14 initialises its URL
	// lazily without a lock, a data race between concurrent first queries.
	res, err := s.client.QueryAPI(s.cfg.Org).Query(ctx, flux)
	if err != nil {
		return fmt.Errorf("query %s of county %s: %w", what, s.cfg.County, err)
	}
	defer res.Close()
	n := 0
	for res.Next() {
		each(res.Record())
		n++
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("read %s of county %s: %w", what, s.cfg.County, err)
	}
	s.log.Debug("flux query", "what", what, "records", n, "took", time.Since(t0))
	return nil
}

// fluxString quotes s as a Flux string literal.
func fluxString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", `\${`)
	return `"` + r.Replace(s) + `"`
}

func str(r *query.FluxRecord, key string) string {
	s, _ := r.ValueByKey(key).(string)
	return s
}

func num(r *query.FluxRecord, key string) (float64, bool) {
	switch v := r.ValueByKey(key).(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case uint64:
		return float64(v), true
	}
	return 0, false
}

func intv(r *query.FluxRecord, key string) int {
	f, _ := num(r, key)
	return int(f)
}
