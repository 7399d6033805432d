// Package testenv finds the real peers (Mosquitto, pymodbus, InfluxDB,
// Chromium) that integration tests run against, and decides what a missing
// peer means: a skip with a clear message on a developer laptop, a failure
// under CI=true, where scripts/setup-test-peers.sh must have installed it.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true), where every peer must
// be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test, or fails it under CI, because peer is not there.
func Missing(t testing.TB, peer, why string) {
	t.Helper()
	msg := peer + " is not available (" + why + "); run scripts/setup-test-peers.sh to install it"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// LookPath finds an executable on PATH, in the extra directories given
// (such as /usr/sbin or $(go env GOPATH)/bin), or reports it Missing.
func LookPath(t testing.TB, name string, extraDirs ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range extraDirs {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	Missing(t, name, "not found on PATH")
	return ""
}

// GoBin returns $GOPATH/bin (or $HOME/go/bin), where go install puts influxd.
func GoBin() string {
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "bin")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "bin")
}

// Python returns /usr/bin/python3 if it can import module, else reports the
// peer Missing. Debian's python3-pymodbus is installed for /usr/bin/python3,
// not for any other python3 that may come first on PATH.
func Python(t testing.TB, module string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import "+module).Run(); err != nil {
		Missing(t, "python module "+module, py+" cannot import it")
	}
	return py
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// peers that cannot be told to listen on :0 and report their port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
