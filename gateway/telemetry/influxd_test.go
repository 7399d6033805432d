package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/testenv"
)

// influxServer is a real InfluxDB 1.8 on loopback ports, in a temp folder,
// that a test can stop and start again on the same ports and data.
type influxServer struct {
	bin, dir      string
	port, rpcPort int
	URL           *url.URL
	cmd           *exec.Cmd
	exited        chan struct{}
	logFile       *os.File
}

func newInfluxServer(t testing.TB, dir string) *influxServer {
	t.Helper()
	bin := testenv.LookPath(t, "influxd", testenv.GoBin())
	s := &influxServer{bin: bin, dir: dir, port: testenv.FreePort(t), rpcPort: testenv.FreePort(t)}
	s.URL = &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", s.port)}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:%d"
  flux-enabled = true
  log-enabled = false
[continuous_queries]
  enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
`, s.rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), s.port)
	if err := os.WriteFile(filepath.Join(dir, "influxdb.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs influxd and waits for /ping to answer 204.
func (s *influxServer) start(ctx context.Context) error {
	lf, err := os.OpenFile(filepath.Join(s.dir, "influxd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	s.logFile = lf
	s.cmd = exec.Command(s.bin, "run", "-config", filepath.Join(s.dir, "influxdb.conf"))
	s.cmd.Stdout, s.cmd.Stderr = lf, lf
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start influxd: %w", err)
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL.String()+"/ping", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("influxd exited at start; see %s", lf.Name())
		case <-ctx.Done():
			return fmt.Errorf("influxd not ready: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond): // polling interval, not a wait for a condition
		}
	}
}

// stop ends influxd (SIGTERM, then SIGKILL after 20 s) and waits for it.
func (s *influxServer) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
	s.logFile.Close()
}

// query runs an InfluxQL statement (CREATE DATABASE …).
func (s *influxServer) query(ctx context.Context, q string) error {
	form := url.Values{"q": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL.String()+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", q, resp.StatusCode)
	}
	return nil
}

var (
	sharedOnce   sync.Once
	sharedServer *influxServer
	sharedErr    error
	sharedDir    string
	dbSeq        int
	dbMu         sync.Mutex
)

// sharedInflux returns the package's shared InfluxDB (started on first
// use, stopped by TestMain) and a new database on it, as a 1.8 bucket
// "db/autogen".
func sharedInflux(t *testing.T) (*influxServer, string) {
	t.Helper()
	testenv.LookPath(t, "influxd", testenv.GoBin())
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "beacon-influxd-")
		if sharedErr != nil {
			return
		}
		sharedServer = newInfluxServer(t, sharedDir)
		sharedErr = sharedServer.start(context.Background())
	})
	if sharedErr != nil {
		t.Fatalf("shared influxd: %v", sharedErr)
	}
	dbMu.Lock()
	dbSeq++
	db := fmt.Sprintf("t%d", dbSeq)
	dbMu.Unlock()
	if err := sharedServer.query(t.Context(), "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	return sharedServer, db + "/autogen"
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	code := m.Run()
	if sharedServer != nil {
		sharedServer.stop()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last error: %v)", timeout, what, errors.Join(lastErr))
		}
		time.Sleep(20 * time.Millisecond) // polling interval under a deadline
	}
}
