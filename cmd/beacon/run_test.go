package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the logger's writes and the test's
// reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunRefusesAnInvalidConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"run", "-c", filepath.Join("testdata", "check", "bad-timezone", "center.yaml")}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{`center.timezone: unknown time zone "Asia/Shangai"`, "has errors; not starting"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestRunStopsCleanlyOnSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"run", "-c", filepath.Join("..", "..", "configs", "demo-center.yaml"), "--log-format", "json", "--state-dir", t.TempDir()}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), `"msg":"gateway running"`) {
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not start; log:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel() // what SIGINT/SIGTERM do through signal.NotifyContext
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after a signal, want 0; log:\n%s", code, stderr.String())
		}
	case <-time.After(shutdownGrace + 2*time.Second):
		t.Fatalf("run did not return within %v of the signal", shutdownGrace)
	}
	if !strings.Contains(stderr.String(), `"msg":"gateway stopped"`) {
		t.Errorf("no clean-stop log line:\n%s", stderr.String())
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no file", []string{"run"}, "beacon run: missing -c FILE\n"},
		{"bad log format", []string{"run", "-c", "x.yaml", "--log-format", "xml"}, "beacon run: bad --log-format \"xml\": use text or json\n"},
		{"bad log level", []string{"run", "-c", "x.yaml", "--log-level", "loud"}, "beacon run: bad --log-level \"loud\": use debug, info, warn or error\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runMain(context.Background(), tt.args, &stdout, &stderr); code != 2 || stderr.String() != tt.wantErr {
				t.Errorf("exit %d stderr %q, want 2 %q", code, stderr.String(), tt.wantErr)
			}
		})
	}
}
