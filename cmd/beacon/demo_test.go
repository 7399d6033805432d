package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a command's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemo runs `beacon demo` as a newcomer would (at a fixed speed, from
// just before sunset-15m): it prints the page's address and a token, the
// page answers with the demo center, the sign is reported lit after dusk,
// and Ctrl-C stops it cleanly.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"demo", "--from", "2026-12-01 17:27", "--speed", "20"}, &stdout, &stderr)
	}()
	open := regexp.MustCompile(`Open (http://127\.0\.0\.1:\d+)/ and log in with token (bcn_\S+)`)
	var base, token string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if m := open.FindStringSubmatch(stdout.String()); m != nil {
			base, token = m[1], m[2]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address printed; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	status := func() (lit bool, name string) {
		req, _ := http.NewRequest("GET", base+"/api/status", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/status: %d %s", resp.StatusCode, b)
		}
		var st struct {
			Center struct{ Name string } `json:"center"`
			Signs  []struct{ Lit bool }  `json:"signs"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		return len(st.Signs) > 0 && st.Signs[0].Lit, st.Center.Name
	}
	// Sunset-15m at the demo center on 2026-12-01 is 17:27:35.
	for {
		lit, name := status()
		if name != "东山村党群服务中心" {
			t.Fatalf("center %q", name)
		}
		if lit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sign was not reported lit after dusk; log:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), `msg=sign center=dongshan device=sign state=lit`) {
		t.Errorf("the log does not tell the newcomer the sign is lit:\n%s", stderr.String())
	}
	cancel() // Ctrl-C
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("demo exited %d after Ctrl-C:\n%s", code, stderr.String())
		}
	case <-time.After(shutdownGrace + 5*time.Second):
		t.Fatal("demo did not stop after Ctrl-C")
	}
}
