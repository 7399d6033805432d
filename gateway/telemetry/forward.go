package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/beacon-edge/beacon/internal/clock"
)

// Writer delivers a batch of line protocol (lines joined by '\n', ns
// precision) to InfluxDB. A nil error means InfluxDB answered 2xx.
type Writer interface {
	Write(ctx context.Context, body []byte) error
}

// ErrMalformed marks a batch InfluxDB refused as malformed (HTTP 400): it
// would be refused again, so it is deleted and counted as rejected rather
// than retried for ever. InfluxDB 1.8 answers 400 also to a partial write
// (a field type conflict), having stored the other points.
var ErrMalformed = errors.New("influxdb refused the batch as malformed")

// InfluxWriter writes through influxdb-client-go's blocking write API: one
// HTTP POST to /api/v2/write per batch, without the library's in-memory
// retry queue (the Outbox is the queue).
type InfluxWriter struct {
	client influxdb2.Client
	api    api.WriteAPIBlocking
	query  api.QueryAPI
}

// InfluxOptions locate an InfluxDB and its bucket. For InfluxDB 1.8 the
// bucket is "database/retention" and Token is "user:password", or empty
// without authentication.
type InfluxOptions struct {
	URL     *url.URL
	Org     string
	Bucket  string
	Token   string
	Timeout time.Duration // per request; default 30s
}

// NewInfluxWriter returns a Writer and Flux reader for one bucket. Close
// releases its connections.
func NewInfluxWriter(o InfluxOptions) *InfluxWriter {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := influxdb2.DefaultOptions().
		SetPrecision(time.Nanosecond).
		SetHTTPRequestTimeout(uint(timeout / time.Second)).
		SetMaxRetries(0).
		SetHTTPClient(&http.Client{Timeout: timeout, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second,
		}})
	c := influxdb2.NewClientWithOptions(o.URL.String(), o.Token, opts)
	return &InfluxWriter{client: c, api: c.WriteAPIBlocking(o.Org, o.Bucket), query: c.QueryAPI(o.Org)}
}

// Write posts body to InfluxDB's /api/v2/write. A 400 is reported as
// ErrMalformed; other failures are worth retrying.
func (w *InfluxWriter) Write(ctx context.Context, body []byte) error {
	err := w.api.WriteRecord(ctx, string(body))
	if err == nil {
		return nil
	}
	var he *http2.Error
	if errors.As(err, &he) && (he.StatusCode == http.StatusBadRequest || he.StatusCode == http.StatusUnprocessableEntity) {
		return fmt.Errorf("write to influxdb: %w: %w", ErrMalformed, err)
	}
	return fmt.Errorf("write to influxdb: %w", err)
}

// Query runs a Flux query and returns its raw result for reading.
func (w *InfluxWriter) Query(ctx context.Context, flux string) (*api.QueryTableResult, error) {
	res, err := w.query.Query(ctx, flux)
	if err != nil {
		return nil, fmt.Errorf("flux query: %w", err)
	}
	return res, nil
}

// Close releases the client's connections.
func (w *InfluxWriter) Close() { w.client.Close() }

// ForwarderOptions tune a Forwarder.
type ForwarderOptions struct {
	// Batch is the most points per write (default 5000); the outbox's
	// chunks are never split, so a write may hold up to one chunk more.
	Batch int
	// Flush is how long fewer than Batch points wait for more before they
	// are sent anyway (default 10s). A backlog is sent without waiting.
	Flush time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed write; it
	// doubles from MinBackoff (default 1s) up to MaxBackoff (default 30s).
	MinBackoff, MaxBackoff time.Duration
	Clock                  clock.Clock // nil: the real clock
	Logger                 *slog.Logger
}

// Forwarder sends an Outbox's points to a Writer, oldest first, and
// deletes each batch only after the Writer reports success.
type Forwarder struct {
	outbox *Outbox
	w      Writer
	opts   ForwarderOptions
	clk    clock.Clock
	log    *slog.Logger

	mu     sync.Mutex
	status ForwarderStatus
}

// ForwarderStatus tells how delivery goes.
type ForwarderStatus struct {
	LastSent  time.Time // when the last batch was acknowledged
	LastError string    // the latest failure, empty after a success
	Failures  int       // consecutive failed writes
}

// NewForwarder returns a Forwarder from o to w; Run runs it.
func NewForwarder(o *Outbox, w Writer, opts ForwarderOptions) *Forwarder {
	if opts.Batch <= 0 {
		opts.Batch = 5000
	}
	if opts.Flush <= 0 {
		opts.Flush = 10 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	f := &Forwarder{outbox: o, w: w, opts: opts, clk: opts.Clock, log: opts.Logger}
	if f.clk == nil {
		f.clk = clock.Real{}
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	return f
}

// Status returns the forwarder's delivery status.
func (f *Forwarder) Status() ForwarderStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// Run forwards until ctx ends; it returns nil then. It returns an error
// only if the outbox cannot be read or written.
func (f *Forwarder) Run(ctx context.Context) error {
	backoff := f.opts.MinBackoff
	var flushTimer <-chan time.Time
	flushDue := false
	for {
		changed := f.outbox.Changed()
		b, err := f.outbox.Peek(f.opts.Batch)
		if err != nil {
			return err
		}
		if b.Points == 0 {
			flushTimer, flushDue = nil, false
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
			}
			continue
		}
		if b.Points < f.opts.Batch && !flushDue {
			if flushTimer == nil {
				flushTimer = f.clk.After(f.opts.Flush)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
			case <-flushTimer:
				flushTimer, flushDue = nil, true
			}
			continue
		}
		err = f.w.Write(ctx, b.Body)
		switch {
		case err == nil:
			if err := f.outbox.Ack(b); err != nil {
				return err
			}
			f.succeeded(b.Points)
			backoff = f.opts.MinBackoff
			flushDue = b.Points >= f.opts.Batch // a full batch: the rest may go at once
		case errors.Is(err, ErrMalformed):
			f.log.Error("influxdb refused a batch; it is dropped and counted as rejected", "points", b.Points, "first", b.First, "err", err)
			if err := f.outbox.Reject(b); err != nil {
				return err
			}
		case ctx.Err() != nil:
			return nil
		default:
			f.failed(err, backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-f.clk.After(backoff):
			}
			backoff = min(2*backoff, f.opts.MaxBackoff)
		}
	}
}

func (f *Forwarder) succeeded(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status.Failures > 0 {
		f.log.Info("influxdb reachable again", "failed_writes", f.status.Failures)
	}
	f.status = ForwarderStatus{LastSent: f.clk.Now()}
}

func (f *Forwarder) failed(err error, backoff time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status.Failures == 0 {
		f.log.Warn("influxdb write failed; points stay in the outbox, retrying with backoff", "err", err, "retry_in", backoff)
	}
	f.status.Failures++
	f.status.LastError = err.Error()
}

// QueryNights reads the `sign_night` summaries of a center that start at
// or after since, oldest first, through Flux.
func (w *InfluxWriter) QueryNights(ctx context.Context, bucket, center string, since time.Time) ([]SignNight, error) {
	flux := fmt.Sprintf(`from(bucket: %q)
  |> range(start: %s)
  |> filter(fn: (r) => r._measurement == %q and r.center == %q)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
		bucket, since.UTC().Format(time.RFC3339Nano), MeasSignNight, center)
	res, err := w.Query(ctx, flux)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	var out []SignNight
	for res.Next() {
		r := res.Record()
		num := func(k string) int64 {
			switch v := r.ValueByKey(k).(type) {
			case int64:
				return v
			case float64:
				return int64(v)
			}
			return 0
		}
		dev, _ := r.ValueByKey(TagDevice).(string)
		comp, _ := r.ValueByKey("compliance").(float64)
		out = append(out, SignNight{Device: dev, Start: r.Time().UTC(), End: time.Unix(0, num("window_end")).UTC(),
			Required: int(num("required_min")), Lit: int(num("lit_min")), Dark: int(num("dark_min")),
			Unknown: int(num("unknown_min")), Compliance: comp})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("read sign_night: %w", err)
	}
	sortNights(out)
	return out, nil
}
