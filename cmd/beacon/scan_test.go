package main

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers/modbus"
)

func TestParseUnits(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
		bad  bool
	}{
		{in: "1-3", want: []byte{1, 2, 3}},
		{in: "5,1,3-4", want: []byte{1, 3, 4, 5}},
		{in: "247", want: []byte{247}},
		{in: "0-248", bad: true},
		{in: "3-1", bad: true},
		{in: "x", bad: true},
		{in: "", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseUnits(tc.in)
			if tc.bad != (err != nil) || !slices.Equal(got, tc.want) {
				t.Fatalf("parseUnits(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}

func TestScan(t *testing.T) {
	// Unit 1 identifies itself, unit 2 answers FC43 with an exception (it is
	// there), unit 3 is silent.
	m := startModbus(t, modbus.ServerConfig{})
	// Behind a TCP gateway, an absent unit is reported with exception 0x0B.
	g := startModbus(t, modbus.ServerConfig{UnknownUnit: modbus.UnknownUnitGatewayFailed})
	const found = "1 vendor=\"Beacon\" product=\"BCN-SIGN\" revision=\"1.2\"\n" +
		"2 present, no identification (exception 0x01 illegal function)\n"
	runCLICases(t, []cliCase{
		{"silent unit", []string{"scan", m.url, "--units", "1-3", "--timeout", "100ms"}, 0, found + "2 of 3 units answered\n", ""},
		{"gateway reports the absent unit", []string{"scan", g.url, "--units", "1-5"}, 0, found + "2 of 5 units answered\n", ""},
		{"no URL", []string{"scan"}, 2, "", "beacon scan: missing URL (tcp://HOST:PORT, rtutcp://HOST:PORT or rtu:///dev/ttyUSB0)\n"},
		{"bad units", []string{"scan", m.url, "--units", "0-300"}, 2, "", "beacon scan: bad --units \"0-300\": want ranges of units 0-247 such as 1-247 or 1,3,10-20\n"},
		{"bad timeout", []string{"scan", m.url, "--timeout", "0s"}, 2, "", "beacon scan: timeout 0s must be positive\n"},
	})
}

func TestScanProgressOnlyOnTerminal(t *testing.T) {
	g := startModbus(t, modbus.ServerConfig{UnknownUnit: modbus.UnknownUnitGatewayFailed})
	for _, terminal := range []bool{false, true} {
		t.Run(map[bool]string{false: "pipe", true: "terminal"}[terminal], func(t *testing.T) {
			old := isTerminal
			isTerminal = func(io.Writer) bool { return terminal }
			defer func() { isTerminal = old }()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			if code := runMain(ctx, []string{"scan", g.url, "--units", "1-3"}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if !strings.HasSuffix(stdout.String(), "2 of 3 units answered\n") || strings.Contains(stdout.String(), "scanning") {
				t.Fatalf("stdout = %q", stdout.String())
			}
			if !terminal {
				if stderr.Len() != 0 {
					t.Fatalf("progress written to a pipe's stderr: %q", stderr.String())
				}
				return
			}
			for _, want := range []string{"\rscanning unit 1 (1/3), 0 found ", "\rscanning unit 3 (3/3), 2 found ", "\r\033[K"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q: %q", want, stderr.String())
				}
			}
			if !strings.HasSuffix(stderr.String(), "\r\033[K") {
				t.Errorf("progress line not cleared at the end: %q", stderr.String())
			}
		})
	}
}
