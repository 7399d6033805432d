package rules

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeExpr(t *testing.T) {
	tests := []struct {
		name, in string
		want     TimeExpr
		str      string
	}{
		{"clock", "07:30", TimeExpr{Anchor: AnchorClock, Clock: 7*time.Hour + 30*time.Minute}, "07:30"},
		{"clock one digit hour", "7:05", TimeExpr{Anchor: AnchorClock, Clock: 7*time.Hour + 5*time.Minute}, "07:05"},
		{"midnight", "00:00", TimeExpr{Anchor: AnchorClock}, "00:00"},
		{"sunset minus", "sunset-15m", TimeExpr{Anchor: AnchorSunset, Offset: -15 * time.Minute}, "sunset-15m"},
		{"sunrise plus", "sunrise+10m", TimeExpr{Anchor: AnchorSunrise, Offset: 10 * time.Minute}, "sunrise+10m"},
		{"dusk bare", "dusk", TimeExpr{Anchor: AnchorDusk}, "dusk"},
		{"dawn hours", "dawn+1h30m", TimeExpr{Anchor: AnchorDawn, Offset: 90 * time.Minute}, "dawn+1h30m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimeExpr(tt.in)
			if err != nil {
				t.Fatalf("ParseTimeExpr(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseTimeExpr(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
		})
	}
}

func TestParseTimeExprErrors(t *testing.T) {
	tests := []struct{ name, in, wantErr string }{
		{"empty", "", "empty time"},
		{"hour 24", "24:00", "hours 00–23"},
		{"minute 60", "07:60", "minutes 00–59"},
		{"unknown word", "noon", `bad time "noon"`},
		{"bad offset", "sunset-15", `bad offset "15"`},
		{"offset too big", "sunset+13h", "more than 12h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTimeExpr(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseTimeExpr(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestParseCron(t *testing.T) {
	loc := time.UTC
	from := time.Date(2026, 11, 30, 0, 0, 0, 0, loc) // a Monday
	tests := []struct {
		name, expr string
		want       time.Time
	}{
		{"five fields", "30 7 * * 1-5", time.Date(2026, 11, 30, 7, 30, 0, 0, loc)},
		{"six fields", "15 30 7 * * *", time.Date(2026, 11, 30, 7, 30, 15, 0, loc)},
		{"descriptor", "@daily", time.Date(2026, 12, 1, 0, 0, 0, 0, loc)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseCron(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(from); !got.Equal(tt.want) {
				t.Errorf("Next = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := ParseCron("61 * * * *"); err == nil {
		t.Error("minute 61 accepted")
	}
}

func TestParseWeekday(t *testing.T) {
	for in, want := range map[string]time.Weekday{"mon": time.Monday, "Sun": time.Sunday, "friday": time.Friday} {
		got, err := ParseWeekday(in)
		if err != nil || got != want {
			t.Errorf("ParseWeekday(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseWeekday("mo"); err == nil {
		t.Error(`"mo" accepted`)
	}
}

// FuzzParseTimeExpr: time expressions come from config files and the API;
// whatever the text, parsing returns an expression or an error, and an
// expression prints as text that parses back to itself.
func FuzzParseTimeExpr(f *testing.F) {
	for _, s := range []string{"07:30", "sunset-15m", "sunrise+1h30m", "dusk", "dawn+10m", "24:00", "sunset-", "+5m", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseTimeExpr(s)
		if err != nil {
			return
		}
		again, err := ParseTimeExpr(e.String())
		if err != nil || again != e {
			t.Fatalf("%q parsed to %+v, printed %q, parsed back to %+v, %v", s, e, e.String(), again, err)
		}
	})
}
