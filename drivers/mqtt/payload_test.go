package mqtt

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

func TestConvertFields(t *testing.T) {
	boolPt := pt("d", "p", "", config.TypeBool, config.Read, "")
	numPt := pt("d", "p", "", config.TypeFloat64, config.Read, "")
	scaled := pt("d", "p", "", config.TypeInt16, config.Read, "")
	scaled.Scale, scaled.Offset = 0.1, -40
	strPt := pt("d", "p", "", config.TypeString, config.Read, "")
	tests := []struct {
		name    string
		payload string
		field   string
		point   *config.Point
		want    drivers.Value
		wantErr error // nil: want is the value; errNotFound: the field is absent
	}{
		{"top-level bool", `{"occupancy":true}`, "occupancy", boolPt, drivers.Bool(true), nil},
		{"nested number", `{"state":{"count":7}}`, "state.count", numPt, drivers.Number(7), nil},
		{"array index", `{"zones":[4,5]}`, "zones.1", numPt, drivers.Number(5), nil},
		{"ON string as bool", `{"state":"ON"}`, "state", boolPt, drivers.Bool(true), nil},
		{"off in lower case", `{"state":"off"}`, "state", boolPt, drivers.Bool(false), nil},
		{"number as bool", `{"m":0}`, "m", boolPt, drivers.Bool(false), nil},
		{"numeric string", `{"t":" 21.5 "}`, "t", numPt, drivers.Number(21.5), nil},
		{"bool as number", `{"b":true}`, "b", numPt, drivers.Number(1), nil},
		{"scale and offset", `{"t":655}`, "t", scaled, drivers.Number(25.5), nil},
		{"string", `{"playing":"morning-news"}`, "playing", strPt, drivers.String("morning-news"), nil},
		{"object as JSON text", `{"s":{"a":1}}`, "s", strPt, drivers.String(`{"a":1}`), nil},
		{"big integer keeps its digits as text", `{"s":12345678901234567890}`, "s", strPt, drivers.String("12345678901234567890"), nil},
		{"absent field", `{"other":1}`, "occupancy", boolPt, drivers.Value{}, errNotFound},
		{"path through a scalar", `{"state":5}`, "state.count", numPt, drivers.Value{}, errNotFound},
		{"index out of range", `{"zones":[1]}`, "zones.3", numPt, drivers.Value{}, errNotFound},
		{"null", `{"occupancy":null}`, "occupancy", boolPt, drivers.Value{}, ErrNull},
		{"word for a bool", `{"occupancy":"maybe"}`, "occupancy", boolPt, drivers.Value{}, ErrWrongType},
		{"object for a number", `{"t":{}}`, "t", numPt, drivers.Value{}, ErrWrongType},
		{"number out of float range", `{"t":1e999}`, "t", numPt, drivers.Value{}, ErrWrongType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tc.payload))
			if err != nil {
				t.Fatalf("ParseMessage: %v", err)
			}
			raw, found := m.Field(tc.field)
			if tc.wantErr == errNotFound {
				if found {
					t.Fatalf("Field(%q) found %v, want absent", tc.field, raw)
				}
				return
			}
			if !found {
				t.Fatalf("Field(%q) absent", tc.field)
			}
			v, err := Convert(raw, tc.point)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Convert = %#v, %v; want error %v", v, err, tc.wantErr)
				}
				return
			}
			if err != nil || v.Kind() != tc.want.Kind() || !drivers.Equal(v, tc.want, 1e-9) {
				t.Fatalf("Convert = %#v, %v; want %#v", v, err, tc.want)
			}
		})
	}
}

var errNotFound = errors.New("not found")

func TestParseMessageRejects(t *testing.T) {
	for _, payload := range []string{``, `{`, `{"a":1} {"b":2}`, `{"a":1} x`, `ON`} {
		if _, err := ParseMessage([]byte(payload)); err == nil {
			t.Errorf("ParseMessage(%q) = nil error, want one", payload)
		}
	}
}

func TestCommandPayload(t *testing.T) {
	vol := pt("box", "volume", "volume", config.TypeFloat64, config.Write, `{"volume": {{value}}}`)
	scaled := pt("drv", "set", "a.b", config.TypeUint16, config.Write, "")
	scaled.Scale, scaled.Offset = 0.5, 10
	tests := []struct {
		name  string
		point *config.Point
		value drivers.Value
		want  string
		err   error
	}{
		{"value template", vol, drivers.Number(60), `{"volume": 60}`, nil},
		{"inverse scale and offset", scaled, drivers.Number(40), `{"a":{"b":60}}`, nil},
		{"string value is JSON-quoted", pt("b", "p", "clip", config.TypeString, config.Write, `{"play":{{value}},"zones":[1,2]}`), drivers.String(`morning "news"`), `{"play":"morning \"news\"","zones":[1,2]}`, nil},
		{"{{json}} as it is", pt("b", "p", "x", config.TypeString, config.Write, `{{json}}`), drivers.String(`{"play":"morning-news","volume":60,"zones":[1,2]}`), `{"play":"morning-news","volume":60,"zones":[1,2]}`, nil},
		{"bool from a number", pt("b", "p", "state.power", config.TypeBool, config.Write, ""), drivers.Number(1), `{"state":{"power":true}}`, nil},
		{"field with a quote", pt("b", "p", `we"ird`, config.TypeBool, config.Write, ""), drivers.Bool(false), `{"we\"ird":false}`, nil},
		{"{{json}} of text that is not JSON", pt("b", "p", "x", config.TypeString, config.Write, `{{json}}`), drivers.String("play"), "", ErrBadCommand},
		{"string for a number", vol, drivers.String("loud"), "", ErrBadCommand},
		{"no value", vol, drivers.Value{}, "", ErrBadCommand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CommandPayload(tc.point, tc.value)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("CommandPayload = %s, %v; want %v", got, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("CommandPayload = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestAvailability(t *testing.T) {
	tests := []struct {
		payload    string
		online, ok bool
	}{
		{"online", true, true},
		{"OFFLINE", false, true},
		{`{"state":"online"}`, true, true},
		{`{"state":"offline"}`, false, true},
		{" online\n", true, true},
		{"maybe", false, false},
		{`{"state":5}`, false, false},
		{`{`, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.payload, func(t *testing.T) {
			online, ok := availability([]byte(tc.payload))
			if online != tc.online || ok != tc.ok {
				t.Errorf("availability(%q) = %v, %v; want %v, %v", tc.payload, online, ok, tc.online, tc.ok)
			}
		})
	}
}

// FuzzSensorPayload: any payload either fails to parse or yields, for every
// point type, a value of the point's kind or an error; a bad payload never
// panics. A written value comes back out of its own command.
func FuzzSensorPayload(f *testing.F) {
	for _, s := range []string{`{"occupancy":true,"illuminance":120}`, `{"state":{"count":3}}`, `{"a":[1,{"b":"ON"}]}`,
		`{"t":1e999}`, `{"t":"NaN"}`, `null`, `[]`, `"x"`, `{"occupancy":`, "\xff"} {
		f.Add([]byte(s), "occupancy")
		f.Add([]byte(s), "state.count")
		f.Add([]byte(s), "a.1.b")
	}
	types := []config.Type{config.TypeBool, config.TypeFloat64, config.TypeString}
	f.Fuzz(func(t *testing.T, payload []byte, field string) {
		m, err := ParseMessage(payload)
		if err != nil {
			if json.Valid(payload) && len(payload) > 0 {
				// A single valid JSON value must parse.
				var v any
				if json.Unmarshal(payload, &v) == nil {
					t.Fatalf("ParseMessage(%q) failed on valid JSON: %v", payload, err)
				}
			}
			return
		}
		raw, found := m.Field(field)
		if !found {
			return
		}
		for _, typ := range types {
			p := pt("d", "p", "x", typ, config.Write, "")
			v, err := Convert(raw, p)
			if err != nil {
				continue
			}
			if v.Kind() != typ.ValueKind() {
				t.Fatalf("Convert(%v) as %s = %#v, kind %s", raw, typ, v, v.Kind())
			}
			cmd, err := CommandPayload(p, v)
			if err != nil {
				t.Fatalf("CommandPayload(%#v) = %v", v, err)
			}
			back, err := ParseMessage(cmd)
			if err != nil {
				t.Fatalf("command %s does not parse: %v", cmd, err)
			}
			rawBack, _ := back.Field("x")
			v2, err := Convert(rawBack, p)
			if err != nil || !drivers.Equal(v, v2, 0) {
				t.Fatalf("round trip %#v → %s → %#v, %v", v, cmd, v2, err)
			}
		}
	})
}
