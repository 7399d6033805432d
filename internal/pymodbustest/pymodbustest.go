// Package pymodbustest runs pymodbus — a Modbus implementation nobody here
// wrote — as a peer for tests: drivers/modbus/testdata/pymodbus_peer.py,
// with Debian's /usr/bin/python3 and python3-pymodbus. A missing pymodbus
// skips the test on a laptop and fails it under CI=true.
package pymodbustest

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
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

// Server starts the peer as a Modbus server on a free loopback port
// (framer "socket" for Modbus TCP, "rtu" for RTU over TCP) and returns
// "127.0.0.1:PORT". It holds holding register i = i, input register
// i = 1000+i, coil i = i%3==0, discrete input i = i%2==0 for i < 1000, and
// a device identification. It is killed when the test ends.
func Server(t testing.TB, framer string) string {
	t.Helper()
	py := testenv.Python(t, "pymodbus")
	cmd := exec.Command(py, Script(), "server", "--port", "0", "--framer", framer)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pymodbus server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("pymodbus server stderr:\n%s", stderr.String())
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if port, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- port
			}
		}
		close(ready)
	}()
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case port, ok := <-ready:
		if !ok {
			t.Fatalf("pymodbus server exited before READY: %s", stderr.String())
		}
		return "127.0.0.1:" + port
	case <-timer.C:
		t.Fatalf("pymodbus server not READY within 15s: %s", stderr.String())
	}
	return ""
}
