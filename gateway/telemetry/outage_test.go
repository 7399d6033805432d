package telemetry

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary a recording gateway (helperMain) instead
// of running tests, so that the outage test can kill -9 it.
const helperEnv = "BEACON_TELEMETRY_HELPER"

// helperMain records simNight into an outbox and forwards it to InfluxDB,
// driven by commands on stdin, one per line, each answered on stdout:
//
//	until! UNIXNANO the same, answering "started" first
//	until UNIXNANO  record the night's readings before that instant (resuming
//	                after the last one already in the outbox), sync; → "at UNIXNANO"
//	close           CloseNight for sign over the window; → the summary as JSON
//	stats           → "depth N sent N"
//
// It exits when stdin closes.
func helperMain() int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "helper:", err); return 1 }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o, err := OpenOutbox(os.Getenv("OUTBOX"), OutboxOptions{SyncEvery: 5 * time.Millisecond})
	if err != nil {
		return fail(err)
	}
	defer o.Close()
	rec, err := NewRecorder(o, testSource, RecorderOptions{StaleAfter: 90 * time.Second})
	if err != nil {
		return fail(err)
	}
	u, _ := url.Parse(os.Getenv("INFLUX_URL"))
	w := NewInfluxWriter(InfluxOptions{URL: u, Bucket: os.Getenv("BUCKET"), Timeout: 5 * time.Second})
	defer w.Close()
	f := NewForwarder(o, w, ForwarderOptions{Batch: 500, Flush: 10 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	fdone := make(chan error, 1)
	go func() { fdone <- f.Run(ctx) }()
	night := simNight()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "until", "until!":
			if cmd == "until!" {
				fmt.Println("started") // the parent kills us now, mid-recording
			}
			ns, _ := strconv.ParseInt(arg, 10, 64)
			last, _ := rec.LastSign("sign")
			for _, s := range night {
				if s.Time.After(last) && s.Time.UnixNano() < ns {
					if err := rec.Sign(s); err != nil {
						return fail(err)
					}
				}
			}
			if err := o.Sync(ctx); err != nil {
				return fail(err)
			}
			last, _ = rec.LastSign("sign")
			fmt.Printf("at %d\n", last.UnixNano())
		case "close":
			n, err := rec.CloseNight(ctx, "sign", nightStart, nightEnd)
			if err != nil {
				return fail(err)
			}
			js, _ := json.Marshal(n)
			fmt.Printf("%s\n", js)
		case "stats":
			st := o.Stats()
			fmt.Printf("depth %d sent %d\n", st.Depth(), st.Sent)
		}
	}
	cancel()
	if err := <-fdone; err != nil {
		return fail(err)
	}
	return 0
}

// recorder is a helperMain subprocess.
type recorder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
}

func startRecorder(t *testing.T, outbox string, srv *influxServer, bucket string) *recorder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "OUTBOX="+outbox, "INFLUX_URL="+srv.URL.String(), "BUCKET="+bucket)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &recorder{cmd: cmd, stdin: stdin, lines: make(chan string, 16), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	go func() { cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { r.cmd.Process.Kill(); <-r.done })
	return r
}

// ask sends a command and waits for its answer.
func (r *recorder) ask(t *testing.T, cmd string) string {
	t.Helper()
	if _, err := fmt.Fprintln(r.stdin, cmd); err != nil {
		t.Fatalf("send %q: %v", cmd, err)
	}
	select {
	case line, ok := <-r.lines:
		if !ok {
			t.Fatalf("%q: recorder exited", cmd)
		}
		return line
	case <-time.After(30 * time.Second):
		t.Fatalf("%q: no answer in 30s", cmd)
	}
	return ""
}

func (r *recorder) kill9(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.done
}

// The gateway records a night; InfluxDB stops in the evening; the gateway
// is killed with SIGKILL in the middle of recording during the outage and
// restarted; it finishes the night and writes its summary; InfluxDB comes
// back. Every sample is then in InfluxDB exactly once, and the summary
// equals that of a night recorded without any outage.
func TestOutageKill9AndReplay(t *testing.T) {
	srv := newInfluxServer(t, t.TempDir())
	ctx := t.Context()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	if err := srv.Query(ctx, "CREATE DATABASE outage"); err != nil {
		t.Fatal(err)
	}
	const bucket = "outage/autogen"
	w := newTestWriter(t, srv, bucket)
	outbox := filepath.Join(t.TempDir(), "outbox.db")
	night := simNight()
	clockAt := func(h, m int) int64 {
		d := time.Date(2026, 6, 1, h, m, 0, 0, shanghai)
		if h < 12 {
			d = d.AddDate(0, 0, 1)
		}
		return d.UnixNano()
	}
	countBefore := func(ns int64) (n int64) {
		for _, s := range night {
			if s.Time.UnixNano() < ns {
				n++
			}
		}
		return n
	}
	signCount := func() (int64, error) { return fluxCount(ctx, w, bucket, MeasSign, "quality") }

	// Evening: InfluxDB up, samples delivered as they come.
	r1 := startRecorder(t, outbox, srv, bucket)
	r1.ask(t, fmt.Sprintf("until %d", clockAt(20, 0)))
	waitFor(t, 20*time.Second, "the evening to be delivered", func() (bool, error) {
		return strings.HasPrefix(r1.ask(t, "stats"), "depth 0 "), nil
	})
	if n, err := signCount(); err != nil || n != countBefore(clockAt(20, 0)) {
		t.Fatalf("evening in influxdb: %d, %v; want %d", n, err, countBefore(clockAt(20, 0)))
	}

	// InfluxDB goes down; the gateway goes on recording into its outbox.
	srv.Stop()
	stopped := time.Now()
	r1.ask(t, fmt.Sprintf("until %d", clockAt(1, 0)))
	if st := r1.ask(t, "stats"); !strings.HasPrefix(st, fmt.Sprintf("depth %d ", countBefore(clockAt(1, 0))-countBefore(clockAt(20, 0)))) {
		t.Fatalf("outbox during the outage: %s", st)
	}
	// kill -9 in the middle of recording the small hours.
	if got := r1.ask(t, fmt.Sprintf("until! %d", clockAt(4, 0))); got != "started" {
		t.Fatalf("until!: %q", got)
	}
	r1.kill9(t)
	t.Logf("killed with SIGKILL %v after InfluxDB stopped", time.Since(stopped))

	// Restart, still without InfluxDB: finish the night and summarise it.
	r2 := startRecorder(t, outbox, srv, bucket)
	at := r2.ask(t, fmt.Sprintf("until %d", nightEnd.UnixNano()))
	if want := fmt.Sprintf("at %d", night[len(night)-1].Time.UnixNano()); at != want {
		t.Fatalf("after the night: %q, want %q", at, want)
	}
	var got SignNight
	if err := json.Unmarshal([]byte(r2.ask(t, "close")), &got); err != nil {
		t.Fatal(err)
	}

	// A run without the outage, in this process.
	o := openTestOutbox(t, filepath.Join(t.TempDir(), "reference.db"), OutboxOptions{})
	ref, err := NewRecorder(o, testSource, RecorderOptions{StaleAfter: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	recordNight(t, ref, night)
	want, err := ref.CloseNight(ctx, "sign", nightStart, nightEnd)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Start.Equal(want.Start) || !got.End.Equal(want.End) || got.Required != want.Required || got.Lit != want.Lit ||
		got.Dark != want.Dark || got.Unknown != want.Unknown || got.Compliance != want.Compliance || want.Lit != simNightWant.Lit {
		t.Fatalf("night after outage = %+v\nwithout outage      = %+v", got, want)
	}

	// InfluxDB is back: the backlog drains, every sample exactly once.
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the backlog to drain", func() (bool, error) {
		return strings.HasPrefix(r2.ask(t, "stats"), "depth 0 "), nil
	})
	if n, err := signCount(); err != nil || n != int64(len(night)) {
		t.Fatalf("sign points in influxdb = %d, %v; want %d (each sample exactly once)", n, err, len(night))
	}
	if n, err := fluxCount(ctx, w, bucket, MeasSign, "lit"); err != nil || n != int64(len(night)-10) {
		t.Fatalf("good sign readings in influxdb = %d, %v; want %d", n, err, len(night)-10)
	}
	for _, f := range []struct {
		field string
		want  int
	}{{"required_min", want.Required}, {"lit_min", want.Lit}, {"dark_min", want.Dark}, {"unknown_min", want.Unknown}} {
		v, err := fluxInt(ctx, w, fmt.Sprintf(`from(bucket: %q) |> range(start: 1970-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "sign_night" and r._field == %q and r.device == "sign") |> group() |> sum()`, bucket, f.field))
		if err != nil || v != int64(f.want) {
			t.Errorf("sign_night %s in influxdb = %d, %v; want %d", f.field, v, err, f.want)
		}
	}
	nights, err := w.QueryNights(ctx, bucket, testSource.Center, nightStart.Add(-24*time.Hour))
	if err != nil || len(nights) != 1 || nights[0] != want {
		t.Errorf("QueryNights = %+v, %v\nwant [%+v]", nights, err, want)
	}
	r2.stdin.Close()
	select {
	case <-r2.done:
	case <-time.After(20 * time.Second):
		t.Fatal("recorder did not exit after stdin closed")
	}
	if r2.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("recorder exit status %d", r2.cmd.ProcessState.ExitCode())
	}
}
