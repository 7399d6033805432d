package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCheckGolden runs beacon check on each testdata/check/<case>/center.yaml
// and compares its exit status and stderr with want-exit.txt and
// want-stderr.txt in the same folder. Each case is a full center file with
// its profiles, as an installer would have it.
func TestCheckGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "check", "*"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Chdir(dir)
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), []string{"check", "-c", "center.yaml"}, &stdout, &stderr)
			wantExit, err := os.ReadFile("want-exit.txt")
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := strconv.Atoi(strings.TrimSpace(string(wantExit))); code != want {
				t.Errorf("exit %d, want %d", code, want)
			}
			wantErr, err := os.ReadFile("want-stderr.txt")
			if err != nil {
				t.Fatal(err)
			}
			if stderr.String() != string(wantErr) {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), wantErr)
			}
		})
	}
}

func TestCheckDemoCenter(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"check", "-c", filepath.Join("..", "..", "configs", "demo-center.yaml")}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"demo-center.yaml: OK",
		"center    dongshan  东山村党群服务中心  (county xinhui, Asia/Shanghai, 22.4700, 113.0300)",
		"devices   6, with 21 points (9 writable)",
		"sign-at-night  between sunset-15m and sunrise+15m: sign.power=true",
		"calendar  3 entries",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr not empty: %s", stderr.String())
	}
}

func TestCheckUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"no file", []string{"check"}, 2, "beacon check: missing -c FILE\n"},
		{"unknown flag", []string{"check", "-x"}, 2, "beacon check: flag provided but not defined: -x\n"},
		{"extra argument", []string{"check", "-c", "a.yaml", "b.yaml"}, 2, "beacon check: unexpected argument \"b.yaml\"\n"},
		{"unreadable file", []string{"check", "-c", "no/such/center.yaml"}, 1, "beacon check: read config: open no/such/center.yaml: no such file or directory\n"},
		{"unknown command", []string{"chekc"}, 2, "beacon: unknown command \"chekc\" (run beacon help)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || stderr.String() != tt.wantErr {
				t.Errorf("exit %d stderr %q, want %d %q", code, stderr.String(), tt.code, tt.wantErr)
			}
		})
	}
}
