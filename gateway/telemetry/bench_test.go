package telemetry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// centerPoints returns n samples of a 50-point center (10 devices × 5
// points) sampled every 10 s, as `point` samples, starting at base.
func centerPoints(base time.Time, n int) []Point {
	out := make([]Point, n)
	for i := range out {
		round, k := i/50, i%50
		out[i] = Point{Measurement: MeasPoint,
			Source: Source{County: "xinhui", Center: "dongshan", Device: "dev" + strconv.Itoa(k/5)},
			Tags:   []Tag{{"point", "p" + strconv.Itoa(k%5)}},
			Fields: []Field{{"value", 2.31 + float64(i%97)/100}, {"quality", "good"}},
			Time:   base.Add(time.Duration(round) * 10 * time.Second)}
	}
	return out
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// BenchmarkOutboxAppend: points appended in rounds of 50 (one poll of the
// center), committed by the group commit (SyncEvery 200 ms), and a final
// Sync; reports points/s and stored bytes per point.
func BenchmarkOutboxAppend(b *testing.B) {
	for _, every := range []time.Duration{DefaultSyncEvery, -1} {
		b.Run(fmt.Sprintf("sync=%v", every), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "outbox.db")
			o, err := OpenOutbox(path, OutboxOptions{MaxBytes: 8 << 30, SyncEvery: every})
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			pts := centerPoints(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 50*100)
			b.ResetTimer()
			for i := 0; i < b.N; i += 50 {
				j := i % len(pts)
				o.Append(pts[j : j+50]...)
			}
			if err := o.Sync(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			st := o.Stats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
			b.ReportMetric(float64(st.Bytes)/float64(st.Points), "stored-B/point")
			o.Close()
			b.ReportMetric(float64(fileSize(b, path))/float64(st.Points), "file-B/point")
		})
	}
}

// BenchmarkOutboxSyncEach: one point appended and synced at a time — the
// cost of an fsynced commit on this disk.
func BenchmarkOutboxSyncEach(b *testing.B) {
	o, err := OpenOutbox(filepath.Join(b.TempDir(), "outbox.db"), OutboxOptions{SyncEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	pts := centerPoints(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 1000)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		o.Append(pts[i%len(pts)])
		if err := o.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// TestDrainBacklog measures how fast a backlog drains into the real
// InfluxDB on loopback. It runs only with BEACON_DRAIN_POINTS set (e.g.
// 3024000, a 7-day backlog of a 50-point center sampled every 10 s).
func TestDrainBacklog(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BEACON_DRAIN_POINTS"))
	if n <= 0 {
		t.Skip("set BEACON_DRAIN_POINTS to run")
	}
	batch := 5000
	if v, _ := strconv.Atoi(os.Getenv("BEACON_DRAIN_BATCH")); v > 0 {
		batch = v
	}
	srv, bucket := sharedInflux(t)
	path := filepath.Join(t.TempDir(), "outbox.db")
	o := openTestOutbox(t, path, OutboxOptions{MaxBytes: 8 << 30})
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	fill := time.Now()
	const round = 50 * 1000
	for i := 0; i < n; i += round {
		pts := centerPoints(base.Add(time.Duration(i/50)*10*time.Second), min(round, n-i))
		if err := o.Append(pts...); err != nil {
			t.Fatal(err)
		}
		if err := o.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	fillTook := time.Since(fill)
	st := o.Stats()
	t.Logf("filled %d points in %v (%.0f points/s); %.1f stored B/point; file %d B", st.Points, fillTook,
		float64(n)/fillTook.Seconds(), float64(st.Bytes)/float64(st.Points), fileSize2(t, path))
	w := newTestWriter(t, srv, bucket)
	start := time.Now()
	runForwarder(t, NewForwarder(o, w, ForwarderOptions{Batch: batch, Flush: 10 * time.Millisecond}))
	waitFor(t, 30*time.Minute, "the backlog to drain", func() (bool, error) { return o.Stats().Depth() == 0, nil })
	took := time.Since(start)
	t.Logf("drained %d points in %v: %.0f points/s (batch %d)", n, took, float64(n)/took.Seconds(), batch)
	if got, err := fluxCount(t.Context(), w, bucket, MeasPoint, "value"); err != nil || got != int64(n) {
		t.Errorf("influxdb holds %d, %v; want %d", got, err, n)
	}
}

func fileSize2(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
