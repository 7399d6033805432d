package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/reconcile"
	"github.com/beacon-edge/beacon/internal/clock"
)

// OutboxPath is where a center's outbox lives: telemetry.outbox.path (a
// relative path is resolved against the config's folder), else
// $STATE_DIRECTORY/outbox.db (systemd's StateDirectory=beacon), else
// .beacon/outbox.db beside the config.
func OutboxPath(cfg *config.Config) string {
	dir := filepath.Dir(cfg.File)
	switch p := cfg.Telemetry.OutboxPath; {
	case p != "" && filepath.IsAbs(p):
		return p
	case p != "":
		return filepath.Join(dir, p)
	}
	if sd := os.Getenv("STATE_DIRECTORY"); sd != "" {
		return filepath.Join(filepath.SplitList(sd)[0], "outbox.db")
	}
	return filepath.Join(dir, ".beacon", "outbox.db")
}

// SinkOptions are the parts of a Sink that are not in the config.
type SinkOptions struct {
	Clock  clock.Clock // nil: the real clock
	Logger *slog.Logger
	// Writer overrides the InfluxDB of the config (tests). Nil with no
	// telemetry.influx configured: telemetry stays in the local outbox.
	Writer Writer
	// Forwarder tunes delivery; Batch and Flush default to the config's.
	Forwarder ForwarderOptions
	// SyncEvery is the outbox's group-commit interval (default
	// DefaultSyncEvery).
	SyncEvery time.Duration
	// Simulated tags every point simulated=true (a dry run on a simulated
	// clock, the demo).
	Simulated bool
}

// Sink records a running center: every store change as a `point` sample
// (and `sign`, `flag`, `occupancy` state), every reconciler write as an
// `actuation`, a `gateway` heartbeat, broadcasts and nightly summaries;
// and, with InfluxDB configured, forwards them. It implements the
// gateway's telemetry hook (Run with the store, Audit).
type Sink struct {
	cfg     *config.Config
	clk     clock.Clock
	log     *slog.Logger
	outbox  *Outbox
	rec     *Recorder
	fwd     *Forwarder
	writer  *InfluxWriter // owned, closed by Close
	started time.Time

	mu        sync.Mutex
	lostAudit uint64
	lostSeen  uint64 // store changes lost, as last logged
	closeOnce sync.Once
	closeErr  error
}

// OpenSink opens the center's outbox and prepares delivery. Close releases
// it.
func OpenSink(cfg *config.Config, opts SinkOptions) (*Sink, error) {
	s := &Sink{cfg: cfg, clk: opts.Clock, log: opts.Logger}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("part", "telemetry")
	tc := cfg.Telemetry
	o, err := OpenOutbox(OutboxPath(cfg), OutboxOptions{MaxBytes: tc.OutboxMaxSize, SyncEvery: opts.SyncEvery, Logger: s.log})
	if err != nil {
		return nil, err
	}
	s.outbox = o
	src := Source{County: cfg.Center.County, Center: cfg.Center.ID, Simulated: opts.Simulated}
	s.rec, err = NewRecorder(o, src, RecorderOptions{StaleAfter: signStaleAfter(cfg)})
	if err != nil {
		o.Close()
		return nil, err
	}
	w := opts.Writer
	if w == nil && tc.Influx != nil {
		token, err := tc.Influx.Token.Read()
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("influxdb token: %w", err)
		}
		s.writer = NewInfluxWriter(InfluxOptions{URL: tc.Influx.URL, Org: tc.Influx.Org, Bucket: tc.Influx.Bucket, Token: token})
		w = s.writer
	}
	if w != nil {
		fo := opts.Forwarder
		if fo.Batch == 0 && tc.Influx != nil {
			fo.Batch = tc.Influx.Batch
		}
		if fo.Flush == 0 && tc.Influx != nil {
			fo.Flush = tc.Influx.Flush
		}
		fo.Clock, fo.Logger = s.clk, s.log
		s.fwd = NewForwarder(o, w, fo)
	}
	return s, nil
}

// signStaleAfter is how long a sign reading stands: 3 × the slowest poll
// of a sign's current point, as in the point store; 30 s without one.
func signStaleAfter(cfg *config.Config) time.Duration {
	d := time.Duration(0)
	for _, dev := range cfg.Devices {
		if p := dev.Point("current"); dev.Kind == config.KindSign && p != nil {
			d = max(d, 3*p.Poll)
		}
	}
	if d <= 0 {
		d = 30 * time.Second
	}
	return d
}

// Recorder is the sink's recorder, for other parts that record points.
func (s *Sink) Recorder() *Recorder { return s.rec }

// Outbox is the sink's outbox.
func (s *Sink) Outbox() *Outbox { return s.outbox }

// Forwarder is the sink's forwarder, or nil without InfluxDB.
func (s *Sink) Forwarder() *Forwarder { return s.fwd }

// Audit records a reconciler write as an `actuation` point. It does not
// block (the outbox queues in memory).
func (s *Sink) Audit(ev reconcile.AuditEvent) {
	if err := s.rec.Record(Actuation(Source{}, ev)); err != nil {
		s.mu.Lock()
		s.lostAudit++
		s.mu.Unlock()
	}
}

// Broadcast records one broadcast.
func (s *Sink) Broadcast(b BroadcastRecord) error { return s.rec.Record(b.Point(Source{})) }

// CloseNight writes a sign's nightly summary once (see Recorder.CloseNight)
// and mirrors all summaries to NightsFile for `beacon uptime`.
func (s *Sink) CloseNight(ctx context.Context, device string, start, end time.Time) (SignNight, error) {
	n, err := s.rec.CloseNight(ctx, device, start, end)
	if err != nil {
		return n, err
	}
	all, err := s.rec.Nights()
	if err != nil {
		return n, err
	}
	return n, WriteNightsFile(NightsFile(s.outbox.Path()), all)
}

// Run records the store's changes and the heartbeat, and forwards, until
// ctx ends; it returns nil then. The outbox stays open for Close.
func (s *Sink) Run(ctx context.Context, store *points.Store) error {
	s.started = s.clk.Now()
	sub := store.Subscribe(4096)
	defer sub.Close()
	var wg sync.WaitGroup
	fwdErr := make(chan error, 1)
	if s.fwd != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fwdErr <- s.fwd.Run(ctx)
		}()
	}
	defer wg.Wait()
	every := s.cfg.Telemetry.Heartbeat
	if every <= 0 {
		every = config.DefaultHeartbeat
	}
	beat := s.clk.After(every)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-fwdErr:
			if err != nil {
				return fmt.Errorf("forward telemetry: %w", err)
			}
		case ch, ok := <-sub.C:
			if !ok {
				return nil
			}
			s.change(store, ch)
		case now := <-beat:
			beat = s.clk.After(every)
			s.heartbeat(now, store, sub.Dropped())
		}
	}
}

func (s *Sink) change(store *points.Store, ch points.Change) {
	p, ok := PointSample(Source{}, ch)
	if !ok {
		return
	}
	var errs []error
	errs = append(errs, s.rec.Record(p))
	ref := ch.New.Ref
	dev := s.cfg.Device(ref.Device)
	switch {
	case dev == nil:
	case dev.Kind == config.KindSign && ref.Point == "current" && dev.Sign != nil:
		st := SignState{Device: dev.Name, Time: ch.New.Time, Quality: ch.New.Quality}
		if amps, ok := ch.New.Value.AsNumber(); ok && st.Quality == points.Good {
			st.CurrentAmps = amps
			st.Lit = amps >= dev.Sign.LitFraction*dev.Sign.NominalCurrent
		} else {
			st.Quality = points.Bad
		}
		if pw, ok := store.Get(drivers.PointRef{Device: dev.Name, Point: "power"}); ok && pw.Quality == points.Good {
			if b, ok := pw.Value.AsBool(); ok {
				st.Commanded = &b
			}
		}
		errs = append(errs, s.rec.Sign(st))
	case dev.Kind == config.KindFlagpole, dev.Kind == config.KindOccupancy:
		meas, tags := MeasFlag, []Tag(nil)
		if dev.Kind == config.KindOccupancy {
			meas = MeasOccupancy
			if dev.Occupancy != nil {
				tags = []Tag{{"room", dev.Occupancy.Room}}
			}
		}
		var pts []points.Point
		for _, cp := range dev.Points {
			if pt, ok := store.Get(cp.Ref()); ok {
				pts = append(pts, pt)
			}
		}
		errs = append(errs, s.rec.Record(DeviceState(Source{}, meas, dev.Name, ch.New.Time, tags, pts)))
	}
	if err := errors.Join(errs...); err != nil {
		s.log.Warn("telemetry sample not recorded", "device", ref.Device, "point", ref.Point, "err", err)
	}
}

func (s *Sink) heartbeat(now time.Time, store *points.Store, lostChanges uint64) {
	online := map[string]bool{}
	for _, p := range store.Snapshot() {
		if p.Quality == points.Good {
			online[p.Ref.Device] = true
		}
	}
	st := s.outbox.Stats()
	h := Heartbeat{Time: now, Uptime: now.Sub(s.started), OutboxDepth: st.Depth(), OutboxBytes: st.Bytes,
		DevicesOnline: len(online), Dropped: st.Dropped, Rejected: st.Rejected}
	if err := s.rec.Record(h.Point(Source{})); err != nil {
		s.log.Warn("heartbeat not recorded", "err", err)
	}
	if lostChanges > s.lostSeen {
		s.log.Warn("telemetry fell behind the point store; samples lost", "lost", lostChanges-s.lostSeen, "lost_total", lostChanges)
		s.lostSeen = lostChanges
	}
}

// Close commits what is pending and closes the outbox and the InfluxDB
// client. Call it after Run has returned.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.outbox.Close()
		if s.writer != nil {
			s.writer.Close()
		}
	})
	return s.closeErr
}
