package telemetry

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

var testSource = Source{County: "qingshan", Center: "dongshan", Device: "sign"}

// samplePoint is the i-th of a series of numbered samples, 10 s apart.
func samplePoint(base time.Time, i int) Point {
	return Point{
		Measurement: "point",
		Source:      testSource,
		Tags:        []Tag{{"point", "current"}},
		Fields:      []Field{{"value", 1.5 + float64(i)}, {"seq", int64(i)}, {"quality", "good"}},
		Time:        base.Add(time.Duration(i) * 10 * time.Second),
	}
}

// fluxInt runs a Flux query whose single table has one integer _value.
func fluxInt(ctx context.Context, w *InfluxWriter, flux string) (int64, error) {
	res, err := w.Query(ctx, flux)
	if err != nil {
		return 0, err
	}
	defer res.Close()
	var n int64
	for res.Next() {
		switch v := res.Record().Value().(type) {
		case int64:
			n += v
		case float64:
			n += int64(v)
		default:
			return 0, fmt.Errorf("unexpected %T %v", v, v)
		}
	}
	return n, res.Err()
}

func fluxCount(ctx context.Context, w *InfluxWriter, bucket, measurement, field string) (int64, error) {
	return fluxInt(ctx, w, fmt.Sprintf(`from(bucket: %q) |> range(start: 1970-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == %q and r._field == %q) |> group() |> count()`, bucket, measurement, field))
}

func newTestWriter(t *testing.T, srv *influxServer, bucket string) *InfluxWriter {
	w := NewInfluxWriter(InfluxOptions{URL: srv.URL, Bucket: bucket, Timeout: 10 * time.Second})
	t.Cleanup(w.Close)
	return w
}

// runForwarder runs f until the test ends.
func runForwarder(t *testing.T, f *Forwarder) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("forwarder: %v", err)
		}
	})
}

func openTestOutbox(t *testing.T, path string, opts OutboxOptions) *Outbox {
	t.Helper()
	o, err := OpenOutbox(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func TestForwardToInfluxAndReadBackWithFlux(t *testing.T) {
	srv, bucket := sharedInflux(t)
	ctx := t.Context()
	w := newTestWriter(t, srv, bucket)
	o := openTestOutbox(t, filepath.Join(t.TempDir(), "outbox.db"), OutboxOptions{ChunkPoints: 7})
	base := time.Date(2026, 6, 1, 18, 0, 0, 123456789, time.UTC)
	const n = 50
	for i := range n {
		if err := o.Append(samplePoint(base, i)); err != nil {
			t.Fatal(err)
		}
	}
	// Odd characters in tags and strings survive the round trip.
	odd := Point{Measurement: "actuation", Source: Source{County: "qingshan", Center: "dong shan,1", Device: "pa=1"},
		Fields: []Field{{"author", `user:"li"\x`}, {"ok", true}}, Time: base}
	if err := o.Append(odd); err != nil {
		t.Fatal(err)
	}
	runForwarder(t, NewForwarder(o, w, ForwarderOptions{Batch: 20, Flush: 50 * time.Millisecond, MinBackoff: 10 * time.Millisecond}))
	waitFor(t, 20*time.Second, "the outbox to drain", func() (bool, error) {
		st := o.Stats()
		return st.Depth() == 0 && st.Sent == n+1, nil
	})

	got, err := fluxCount(ctx, w, bucket, "point", "value")
	if err != nil || got != n {
		t.Fatalf("count of point.value = %d, %v; want %d", got, err, n)
	}
	sum, err := fluxInt(ctx, w, fmt.Sprintf(`from(bucket: %q) |> range(start: 1970-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "point" and r._field == "seq" and r.county == "qingshan" and r.center == "dongshan" and r.device == "sign" and r.point == "current")
  |> group() |> sum()`, bucket))
	if want := int64(n * (n - 1) / 2); err != nil || sum != want {
		t.Fatalf("sum of seq = %d, %v; want %d", sum, err, want)
	}
	// The exact timestamp and value of one point, read back.
	res, err := w.Query(ctx, fmt.Sprintf(`from(bucket: %q) |> range(start: 1970-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "point" and r._field == "value") |> first()`, bucket))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Next() {
		t.Fatalf("no first point: %v", res.Err())
	}
	if r := res.Record(); !r.Time().Equal(base) || r.Value() != 1.5 {
		t.Errorf("first point = %v %v, want %v 1.5", r.Time(), r.Value(), base)
	}
	res.Close()
	res, err = w.Query(ctx, fmt.Sprintf(`from(bucket: %q) |> range(start: 1970-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "actuation" and r._field == "author")`, bucket))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Next() {
		t.Fatalf("no actuation point: %v", res.Err())
	}
	if r := res.Record(); r.Value() != `user:"li"\x` || r.ValueByKey("center") != "dong shan,1" || r.ValueByKey("device") != "pa=1" {
		t.Errorf("actuation = %v center=%v device=%v", r.Value(), r.ValueByKey("center"), r.ValueByKey("device"))
	}
	res.Close()

	// A resend (the gateway died between InfluxDB's 2xx and the delete)
	// overwrites: the same samples appended again leave the count alone.
	for i := range n {
		o.Append(samplePoint(base, i))
	}
	waitFor(t, 20*time.Second, "the resend to drain", func() (bool, error) {
		st := o.Stats()
		return st.Depth() == 0 && st.Sent == 2*n+1, nil
	})
	if got, err := fluxCount(ctx, w, bucket, "point", "value"); err != nil || got != n {
		t.Fatalf("after resend, count = %d, %v; want %d", got, err, n)
	}
}

// A full outbox evicts its oldest chunks, and the points that reach
// InfluxDB afterwards are exactly the newest ones: appended − dropped.
func TestFullOutboxDropsOldestAndCountsExactly(t *testing.T) {
	srv, bucket := sharedInflux(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "outbox.db")
	o, err := OpenOutbox(path, OutboxOptions{MaxBytes: 64 << 10, ChunkPoints: 100})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC)
	const n = 20000
	for i := range n {
		o.Append(samplePoint(base, i))
		if i%1000 == 999 {
			if err := o.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	// The counters are durable: reopen and read them.
	o = openTestOutbox(t, path, OutboxOptions{MaxBytes: 64 << 10, ChunkPoints: 100})
	st := o.Stats()
	if st.Dropped == 0 || st.Points+st.Dropped != n || st.Bytes > 64<<10 {
		t.Fatalf("stats = %+v: want dropped > 0, points+dropped = %d, bytes ≤ %d", st, n, 64<<10)
	}
	w := newTestWriter(t, srv, bucket)
	runForwarder(t, NewForwarder(o, w, ForwarderOptions{Batch: 5000, Flush: 50 * time.Millisecond}))
	waitFor(t, 20*time.Second, "the outbox to drain", func() (bool, error) { return o.Stats().Depth() == 0, nil })
	got, err := fluxCount(ctx, w, bucket, "point", "seq")
	if err != nil || uint64(got) != n-st.Dropped {
		t.Fatalf("count in influxdb = %d, %v; want %d − %d dropped", got, err, n, st.Dropped)
	}
	minSeq, err := fluxInt(ctx, w, fmt.Sprintf(`from(bucket: %q) |> range(start: 1970-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "point" and r._field == "seq") |> group() |> min()`, bucket))
	if err != nil || uint64(minSeq) != st.Dropped {
		t.Fatalf("oldest seq in influxdb = %d, %v; want %d (the %d oldest dropped)", minSeq, err, st.Dropped, st.Dropped)
	}
	if final := o.Stats(); final.Dropped != st.Dropped || final.Sent != n-st.Dropped {
		t.Errorf("final stats %+v: want dropped %d, sent %d", final, st.Dropped, n-st.Dropped)
	}
}
