package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSunCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // exact, when set
		contains string // stderr
	}{
		// USNO 2019 table W081 N29 (see rules/sun_test.go): rise 12:18 UT,
		// set 22:38 UT = 07:18 and 17:38 EST; ours within 60 s.
		{"place", []string{"sun", "--lat", "29", "--lon", "-81", "--tz", "America/New_York", "--date", "2019-01-01"}, 0,
			"dawn 06:51:39\nsunrise 07:17:38\nsunset 17:37:34\ndusk 18:03:32\n", ""},
		{"polar night", []string{"sun", "--lat", "78.22", "--lon", "15.65", "--tz", "Arctic/Longyearbyen", "--date", "2026-12-15"}, 0,
			"dawn none\nsunrise none\nsunset none\ndusk none\n", ""},
		{"center from config", []string{"sun", "-c", "../../configs/demo-center.yaml", "--date", "2026-12-13"}, 0,
			"dawn 06:34:06\nsunrise 06:58:32\nsunset 17:45:14\ndusk 18:09:40\n", ""},
		{"missing place", []string{"sun", "--date", "2026-12-13"}, 2, "", "missing --lat, --lon and --tz"},
		{"bad zone", []string{"sun", "--lat", "1", "--lon", "1", "--tz", "Mars/Olympus"}, 2, "", "unknown time zone"},
		{"bad date", []string{"sun", "--lat", "1", "--lon", "1", "--tz", "UTC", "--date", "2026-13-01"}, 2, "", "bad date"},
		{"both forms", []string{"sun", "-c", "x.yaml", "--lat", "1"}, 2, "", "not both"},
		{"latitude range", []string{"sun", "--lat", "91", "--lon", "1", "--tz", "UTC"}, 2, "", "outside -90…90"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runMain(context.Background(), tt.args, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, errb.String())
			}
			if tt.stdout != "" && out.String() != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), tt.stdout)
			}
			if tt.contains != "" && !strings.Contains(errb.String(), tt.contains) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tt.contains)
			}
		})
	}
}
