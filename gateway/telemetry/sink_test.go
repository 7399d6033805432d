package telemetry

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/points"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/gateway/reconcile"
	"github.com/beacon-edge/beacon/internal/clock"
)

// The sink turns store changes, audit events and the heartbeat into the
// schema's lines, in the local outbox (no InfluxDB configured).
func TestSinkRecordsTheSchema(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{
		File:   filepath.Join(dir, "center.yaml"),
		Center: config.Center{ID: "dongshan", County: "xinhui"},
		Devices: []*config.Device{{Name: "sign", Kind: config.KindSign, Sign: &config.SignSettings{NominalCurrent: 2.4, LitFraction: 0.7},
			Points: []*config.Point{{Device: "sign", Name: "current", Poll: 10 * time.Second}, {Device: "sign", Name: "power", Poll: 10 * time.Second}}}},
		Telemetry: config.Telemetry{Heartbeat: time.Minute, OutboxMaxSize: 1 << 20},
	}
	start := time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	s, err := OpenSink(cfg, SinkOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := s.Outbox().Path(), filepath.Join(dir, ".beacon", "outbox.db"); got != want && !strings.HasSuffix(got, "outbox.db") {
		t.Errorf("outbox at %s, want %s", got, want)
	}
	store := points.New(points.Options{Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, store) }()
	// Wait until Run has subscribed and armed its heartbeat timer.
	waitFor(t, 5*time.Second, "the sink to start", func() (bool, error) { return clk.Waiters() > 0, nil })

	ref := func(p string) drivers.PointRef { return drivers.PointRef{Device: "sign", Point: p} }
	store.Update("sign-bus", drivers.Sample{Ref: ref("power"), Value: drivers.Bool(true), Time: start})
	store.Update("sign-bus", drivers.Sample{Ref: ref("current"), Value: drivers.Number(2.0), Time: start.Add(time.Second)})
	store.Update("sign-bus", drivers.Sample{Ref: ref("current"), Err: errors.New("timeout"), Time: start.Add(2 * time.Second)})
	waitFor(t, 5*time.Second, "the samples", func() (bool, error) { return s.Outbox().Stats().Depth() >= 5, nil })
	s.Audit(reconcile.AuditEvent{Time: start.Add(3 * time.Second), Ref: ref("power"), Slot: priority.Manual, Author: "user:li",
		Value: drivers.Bool(true), Readback: drivers.Bool(true), Result: reconcile.Complied})
	waitFor(t, 5*time.Second, "the samples", func() (bool, error) { return s.Outbox().Stats().Depth() >= 6, nil })
	clk.Advance(time.Minute)
	waitFor(t, 5*time.Second, "the heartbeat", func() (bool, error) { return s.Outbox().Stats().Depth() >= 7, nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Outbox().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := s.Outbox().Peek(100)
	if err != nil {
		t.Fatal(err)
	}
	const tags = "center=dongshan,county=xinhui"
	want := []string{
		"point," + tags + ",device=sign,point=power value_bool=true,quality=\"good\" 1780336800000000000",
		"point," + tags + ",device=sign,point=current value=2,quality=\"good\" 1780336801000000000",
		"sign," + tags + ",device=sign lit=true,current=2,commanded=true,quality=\"good\" 1780336801000000000",
		"point," + tags + ",device=sign,point=current quality=\"bad\" 1780336802000000000",
		"sign," + tags + ",device=sign commanded=true,quality=\"bad\" 1780336802000000000",
		"actuation," + tags + ",device=sign,point=power,slot=manual author=\"user:li\",result=\"complied\",value_bool=true,readback_bool=true 1780336803000000000",
		"gateway," + tags + ",device=gateway uptime_s=60,outbox_depth=6i,outbox_bytes=0i,devices_online=1i,dropped=0i,rejected=0i 1780336860000000000",
	}
	got := strings.Split(string(b.Body), "\n")
	if len(got) != len(want) {
		t.Fatalf("outbox holds %d lines:\n%s", len(got), b.Body)
	}
	for i := range want {
		// The stored size depends on how the group commit chunked the lines.
		got[i] = regexp.MustCompile(`outbox_bytes=\d+i`).ReplaceAllString(got[i], "outbox_bytes=0i")
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}
