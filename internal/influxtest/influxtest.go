// Package influxtest runs a real InfluxDB 1.8 (influxd, Flux enabled, no
// authentication) for tests, on free loopback ports in a temp folder.
//
// Shared starts one server per test binary on first use and gives each
// caller a fresh database, as the 1.8 bucket "DB/autogen"; TestMain calls
// StopShared. New gives a test its own server, which it can stop and start
// again on the same ports and data (an outage).
package influxtest

import (
	"context"
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

// Server is a real InfluxDB 1.8 on loopback ports, in a folder.
type Server struct {
	URL           *url.URL // http://127.0.0.1:PORT
	bin, dir      string
	port, rpcPort int
	cmd           *exec.Cmd
	exited        chan struct{}
	logFile       *os.File
}

// New prepares a server in dir (not started): influxd from PATH or
// $(go env GOPATH)/bin, a skip without it (a failure under CI=true).
func New(t testing.TB, dir string) *Server {
	t.Helper()
	bin := testenv.LookPath(t, "influxd", testenv.GoBin())
	s, err := newServer(bin, dir, testenv.FreePort(t), testenv.FreePort(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newServer(bin, dir string, port, rpcPort int) (*Server, error) {
	s := &Server{bin: bin, dir: dir, port: port, rpcPort: rpcPort}
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
		return nil, fmt.Errorf("write influxdb.conf: %w", err)
	}
	return s, nil
}

// Dir is the server's folder (config, data, influxd.log).
func (s *Server) Dir() string { return s.dir }

// Start runs influxd and waits for /ping to answer 204.
func (s *Server) Start(ctx context.Context) error {
	lf, err := os.OpenFile(filepath.Join(s.dir, "influxd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("influxd log: %w", err)
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

// Stop ends influxd (SIGTERM, then SIGKILL after 20 s) and waits for it.
func (s *Server) Stop() {
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

// Query runs an InfluxQL statement (CREATE DATABASE …).
func (s *Server) Query(ctx context.Context, q string) error {
	form := url.Values{"q": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL.String()+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("influxql %s: %w", q, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("influxql %s: HTTP %d", q, resp.StatusCode)
	}
	return nil
}

// CreateBucket creates database db and returns its 1.8 bucket name,
// "db/autogen".
func (s *Server) CreateBucket(ctx context.Context, db string) (string, error) {
	if err := s.Query(ctx, "CREATE DATABASE "+db); err != nil {
		return "", err
	}
	return db + "/autogen", nil
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
	dir  string
	mu   sync.Mutex
	seq  int
}

// Shared returns the test binary's shared server (started on first use;
// TestMain calls StopShared) and a new database on it, as a bucket
// "tN/autogen".
func Shared(t testing.TB) (*Server, string) {
	t.Helper()
	bin := testenv.LookPath(t, "influxd", testenv.GoBin())
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "beacon-influxd-")
		if shared.err != nil {
			return
		}
		shared.srv, shared.err = newServer(bin, shared.dir, testenv.FreePort(t), testenv.FreePort(t))
		if shared.err == nil {
			shared.err = shared.srv.Start(context.Background())
		}
	})
	if shared.err != nil {
		t.Fatalf("shared influxd: %v", shared.err)
	}
	shared.mu.Lock()
	shared.seq++
	db := fmt.Sprintf("t%d", shared.seq)
	shared.mu.Unlock()
	bucket, err := shared.srv.CreateBucket(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return shared.srv, bucket
}

// StopShared stops the shared server, if one was started, and removes its
// folder. Call it from TestMain after m.Run.
func StopShared() {
	if shared.srv != nil {
		shared.srv.Stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}
