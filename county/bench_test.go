package county

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/telemetry"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/internal/influxtest"
)

// The benchmark county: 1,000 centers × 30 nights of sign_night, and the
// last two hours of sign samples and heartbeats (one a minute) — written
// as line protocol with the gateway's InfluxWriter.
const (
	benchCenters = 1000
	benchNights  = 30
	benchRecent  = 2 * time.Hour
)

var benchNow = time.Date(2026, 6, 30, 2, 0, 0, 0, cst) // night of 2026-06-29, 02:00

var bench struct {
	once   sync.Once
	err    error
	target InfluxTarget
	took   time.Duration
	lines  int
}

func benchCounty(b *testing.B) InfluxTarget {
	b.Helper()
	srv, bucket := influxtest.Shared(b)
	bench.once.Do(func() {
		bench.target = InfluxTarget{URL: srv.URL, Bucket: bucket}
		w := telemetry.NewInfluxWriter(telemetry.InfluxOptions{URL: srv.URL, Bucket: bucket, Timeout: 60 * time.Second})
		defer w.Close()
		ctx := context.Background()
		t0 := time.Now()
		var buf []byte
		n := 0
		flush := func(force bool) {
			if bench.err != nil || len(buf) == 0 || !force && n%10000 != 0 {
				return
			}
			bench.err = w.Write(ctx, buf[:len(buf)-1])
			buf = buf[:0]
		}
		add := func(p telemetry.Point) {
			var err error
			if buf, err = p.AppendLine(buf); err != nil {
				bench.err = err
			}
			buf = append(buf, '\n')
			n++
			flush(false)
		}
		first := time.Date(2026, 5, 30, 0, 0, 0, 0, cst)
		for c := range benchCenters {
			src := telemetry.Source{County: "bench", Center: fmt.Sprintf("c%04d", c)}
			for k := range benchNights {
				if c%97 == 5 && k == 20 {
					continue // never reported
				}
				d := first.AddDate(0, 0, k)
				start := d.Add(18*time.Hour + time.Duration(c%30)*time.Minute)
				end := d.Add(30 * time.Hour)
				req := int(end.Sub(start) / time.Minute)
				night := telemetry.SignNight{Device: "sign", Start: start, End: end, Required: req, Lit: req, Compliance: 1}
				if c%13 == 0 && k%7 == 3 {
					night.Lit, night.Dark, night.Compliance = req-120, 120, float64(req-120)/float64(req)
				}
				add(night.Point(src))
			}
			on := true
			for t := benchNow.Add(-benchRecent); t.Before(benchNow); t = t.Add(time.Minute) {
				if c%50 == 7 && t.After(benchNow.Add(-30*time.Minute)) {
					continue // offline for the last half hour
				}
				amps := 2.4
				if c%41 == 3 {
					amps = 0.2
				}
				st := telemetry.SignState{Device: "sign", Time: t, Quality: points.Good, CurrentAmps: amps, Lit: amps > 1.68, Commanded: &on}
				add(st.Point(src))
				add(telemetry.Heartbeat{Time: t, Uptime: time.Hour}.Point(src))
			}
		}
		flush(true)
		bench.took, bench.lines = time.Since(t0), n
	})
	if bench.err != nil {
		b.Fatalf("seed: %v", bench.err)
	}
	return bench.target
}

func benchService(b *testing.B, target InfluxTarget) *Service {
	s, err := New(Config{URL: target.URL.String(), Bucket: target.Bucket, County: "bench", Location: cst, Clock: clock.NewFake(benchNow), Logger: benchLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s
}

// BenchmarkReport1000x30 is `county report` over 30 nights of 1,000
// centers.
func BenchmarkReport1000x30(b *testing.B) {
	s := benchService(b, benchCounty(b))
	b.Logf("seeded %d lines in %v", bench.lines, bench.took.Round(time.Millisecond))
	from := time.Date(2026, 5, 30, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, benchNights-1)
	var rows int
	for b.Loop() {
		r, err := s.Report(b.Context(), from, to)
		if err != nil {
			b.Fatal(err)
		}
		rows = len(r.Nights)
	}
	if rows != benchCenters*benchNights {
		b.Fatalf("%d rows, want %d", rows, benchCenters*benchNights)
	}
	b.ReportMetric(float64(rows), "rows")
}

// BenchmarkDashboardPage1000x30 is one GET / of the dashboard: status now,
// and the 30-night heatmap of 1,000 centers.
func BenchmarkDashboardPage1000x30(b *testing.B) {
	s := benchService(b, benchCounty(b))
	srv := httptest.NewServer(NewDashboard(s, DashboardOptions{}))
	defer srv.Close()
	var size int
	for b.Loop() {
		resp, err := http.Get(srv.URL + "/")
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("HTTP %d: %s", resp.StatusCode, body)
		}
		size = len(body)
	}
	b.ReportMetric(float64(size), "bytes/page")
}

// benchLogger logs each query's time with BEACON_BENCH_DEBUG=1.
func benchLogger() *slog.Logger {
	if os.Getenv("BEACON_BENCH_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
