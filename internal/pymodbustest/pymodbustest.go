// Package pymodbustest runs pymodbus — a Modbus implementation nobody here
// wrote — as a peer for tests: drivers/modbus/testdata/pymodbus_peer.py,
// with Debian's /usr/bin/python3 and python3-pymodbus. A missing pymodbus
// skips the test on a laptop and fails it under CI=true.
package pymodbustest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/testenv"
)

// Script is the path of the peer script, found from this file's location
// so that any package's tests can start it.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "drivers", "modbus", "testdata", "pymodbus_peer.py")
}

// Peer is a running pymodbus_peer.py.
type Peer struct {
	// Ready is what followed the peer's READY line: its port, or its fd.
	Ready string
	out   chan string
	stop  func()
}

// Stop kills the peer now (a server that disappears); the test's cleanup
// does it otherwise.
func (p *Peer) Stop() { p.stop() }

// Start runs the peer with args and, unless it is a client (which prints
// its result at the end), waits up to 15 s for its READY line. extra files
// become fd 3…. The process is killed when the test ends.
func Start(t testing.TB, extra []*os.File, args ...string) *Peer {
	t.Helper()
	py := testenv.Python(t, "pymodbus")
	cmd := exec.Command(py, append([]string{Script()}, args...)...)
	cmd.ExtraFiles = extra
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pymodbus peer: %v", err)
	}
	var once sync.Once
	p := &Peer{out: make(chan string, 16), stop: func() {
		once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}}
	go func() {
		defer close(p.out)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.out <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("pymodbus peer %v stderr (last 2000 bytes):\n%s", args, Tail(stderr.String(), 2000))
		}
	})
	if len(args) > 0 && strings.HasSuffix(args[0], "client") {
		return p
	}
	line := p.Line(t, 15*time.Second)
	ready, ok := strings.CutPrefix(line, "READY ")
	if !ok {
		t.Fatalf("pymodbus peer %v printed %q, want READY", args, line)
	}
	p.Ready = ready
	return p
}

// Line returns the next line the peer prints, failing after within.
func (p *Peer) Line(t testing.TB, within time.Duration) string {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case l, ok := <-p.out:
		if !ok {
			t.Fatalf("pymodbus peer exited without output")
		}
		return l
	case <-timer.C:
		t.Fatalf("pymodbus peer printed nothing within %v", within)
	}
	return ""
}

// Server starts the peer as a Modbus server on a free loopback port
// (framer "socket" for Modbus TCP, "rtu" for RTU over TCP) and returns
// "127.0.0.1:PORT". It holds holding register i = i, input register
// i = 1000+i, coil i = i%3==0, discrete input i = i%2==0 for i < 1000, and
// a device identification.
func Server(t testing.TB, framer string) string {
	t.Helper()
	return "127.0.0.1:" + Start(t, nil, "server", "--port", "0", "--framer", framer).Ready
}

// Tail returns the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
