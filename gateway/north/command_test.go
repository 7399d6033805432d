package north

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
)

func kindOf(payload string) drivers.Kind {
	if strings.Contains(payload, "true") || strings.Contains(payload, "false") {
		return drivers.KindBool
	}
	return drivers.KindNumber
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		kind    drivers.Kind
		want    Command
		err     string // "": no error
	}{
		{"full", `{"value":true,"expires":"30m","by":"li.wei","id":"c-1"}`, drivers.KindBool,
			Command{Value: drivers.Bool(true), Expires: 30 * time.Minute, By: "li.wei", ID: "c-1"}, ""},
		{"defaults", `{"value":false}`, drivers.KindBool, Command{Value: drivers.Bool(false), Expires: DefaultExpiry, By: "anonymous"}, ""},
		{"Home Assistant ON", `{"value":"ON"}`, drivers.KindBool, Command{Value: drivers.Bool(true), Expires: DefaultExpiry, By: "anonymous"}, ""},
		{"number with numeric id", `{"value":55.5,"id":1842}`, drivers.KindNumber, Command{Value: drivers.Number(55.5), Expires: DefaultExpiry, By: "anonymous", ID: "1842"}, ""},
		{"string", `{"value":"morning-news"}`, drivers.KindString, Command{Value: drivers.String("morning-news"), Expires: DefaultExpiry, By: "anonymous"}, ""},
		{"null relinquishes", `{"value":null,"by":"ops"}`, drivers.KindBool, Command{Relinquish: true, Expires: DefaultExpiry, By: "ops"}, ""},
		{"no value", `{"by":"ops"}`, drivers.KindBool, Command{}, `bad command: no "value"`},
		{"not an object", `[true]`, drivers.KindBool, Command{}, "bad command: want a JSON object"},
		{"unknown field", `{"value":true,"expire":"1h"}`, drivers.KindBool, Command{}, `json: unknown field "expire"`},
		{"two objects", `{"value":true}{"value":false}`, drivers.KindBool, Command{}, "bad command: data after the JSON object"},
		{"number for a bool", `{"value":1}`, drivers.KindBool, Command{}, "bad command: value: 1 is not true/false or ON/OFF"},
		{"bool for a number", `{"value":true}`, drivers.KindNumber, Command{}, "bad command: value: true is not a finite number"},
		{"huge number", `{"value":1e999}`, drivers.KindNumber, Command{}, "bad command: value: 1e999 is not a finite number"},
		{"expires not a duration", `{"value":true,"expires":"soon"}`, drivers.KindBool, Command{}, `bad command: expires "soon" is not a duration`},
		{"expires negative", `{"value":true,"expires":"-5m"}`, drivers.KindBool, Command{}, "bad command: expires -5m must be more than 0"},
		{"expires too long", `{"value":true,"expires":"169h"}`, drivers.KindBool, Command{}, "bad command: expires 169h is longer than 168h0m0s"},
		{"blank by", `{"value":true,"by":"  "}`, drivers.KindBool, Command{}, "bad command: by must be 1 to 64 printable characters"},
		{"by with a newline", `{"value":true,"by":"a\nb"}`, drivers.KindBool, Command{}, "bad command: by must be 1 to 64 printable characters"},
		{"id an object", `{"value":true,"id":{}}`, drivers.KindBool, Command{}, "bad command: id must be a string or a number"},
		{"too big", `{"value":"` + strings.Repeat("x", 5000) + `"}`, drivers.KindString, Command{}, "bad command: 5012 bytes is more than 4096"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCommand([]byte(tc.payload), tc.kind)
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrBadCommand) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseCommand = %+v, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Value.Kind() != tc.want.Value.Kind() || !drivers.Equal(got.Value, tc.want.Value, 0) || got.Relinquish != tc.want.Relinquish ||
				got.Expires != tc.want.Expires || got.By != tc.want.By || got.ID != tc.want.ID {
				t.Fatalf("ParseCommand = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDedup(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 20, 0, 0, 0, time.UTC)
	const topic, other = "b/x/y/sign/power/set", "b/x/y/pa/power/set"
	on, off := `{"value":true}`, `{"value":false}`
	type delivery struct {
		topic, id, payload string
		dup                bool          // the DUP flag
		after              time.Duration // since t0
		applied            bool          // want
	}
	tests := []struct {
		name string
		seq  []delivery
	}{
		{"the same id twice", []delivery{{topic, "c1", on, false, 0, true}, {topic, "c1", on, false, time.Second, false}}},
		{"the same id after the window", []delivery{{topic, "c1", on, false, 0, true}, {topic, "c1", on, false, DefaultDedupWindow, true}}},
		{"the same id on another topic", []delivery{{topic, "c1", on, false, 0, true}, {other, "c1", on, false, time.Second, true}}},
		{"ids differ, payloads equal", []delivery{{topic, "c1", on, false, 0, true}, {topic, "c2", on, false, time.Second, true}}},
		{"no id: the same payload twice", []delivery{{topic, "", on, false, 0, true}, {topic, "", on, false, time.Second, false}}},
		{"no id: on, off, on from a dashboard", []delivery{{topic, "", on, false, 0, true}, {topic, "", off, false, time.Second, true}, {topic, "", on, false, 2 * time.Second, true}}},
		{"no id: broker redelivers both after a reconnect", []delivery{
			{topic, "", on, false, 0, true}, {topic, "", off, false, time.Second, true},
			{topic, "", on, true, 2 * time.Second, false}, {topic, "", off, true, 2 * time.Second, false}}},
		{"no id: DUP of something never applied", []delivery{{topic, "", on, true, 0, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDedup(DefaultDedupWindow)
			for i, m := range tc.seq {
				now := t0.Add(m.after)
				applied := !d.duplicate(m.topic, m.id, []byte(m.payload), m.dup, now)
				if applied {
					d.record(m.topic, m.id, []byte(m.payload), now)
				}
				if applied != m.applied {
					t.Fatalf("delivery %d (%+v): applied = %v, want %v", i, m, applied, m.applied)
				}
			}
		})
	}
}

// FuzzCommandPayload: no payload panics the parser; an accepted command has
// a value of the point's kind (or relinquishes), an expiry within bounds,
// and a printable author.
func FuzzCommandPayload(f *testing.F) {
	for _, s := range []string{`{"value":true,"expires":"30m","by":"li.wei"}`, `{"value":null}`, `{"value":"ON","id":7}`,
		`{"value":55.5,"id":"x"}`, `{"value":1e999}`, `{"value":"x","expires":"-1s"}`, `[]`, `{`, "\xff", `{"value":true}{}`} {
		for k := drivers.KindBool; k <= drivers.KindString; k++ {
			f.Add([]byte(s), uint8(k))
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte, kind uint8) {
		k := drivers.Kind(kind%3 + 1)
		c, err := ParseCommand(payload, k)
		if err != nil {
			if !errors.Is(err, ErrBadCommand) {
				t.Fatalf("error %v does not wrap ErrBadCommand", err)
			}
			return
		}
		if !c.Relinquish && c.Value.Kind() != k {
			t.Fatalf("value %#v is not a %s", c.Value, k)
		}
		if c.Relinquish && !c.Value.IsZero() {
			t.Fatalf("relinquish with a value %#v", c.Value)
		}
		if c.Expires <= 0 || c.Expires > MaxExpiry {
			t.Fatalf("expires %v out of bounds", c.Expires)
		}
		if c.By == "" || strings.ContainsFunc(c.By, isControl) {
			t.Fatalf("by %q", c.By)
		}
	})
}
