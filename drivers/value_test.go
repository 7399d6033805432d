package drivers

import (
	"strings"
	"testing"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		text    string
		want    Value
		wantErr string
	}{
		{"true", KindBool, "true", Bool(true), ""},
		{"on", KindBool, "on", Bool(true), ""},
		{"zero is false", KindBool, "0", Bool(false), ""},
		{"not a bool", KindBool, "yes", Value{}, `"yes" is not a boolean`},
		{"number", KindNumber, "2.45", Number(2.45), ""},
		{"negative", KindNumber, "-12", Number(-12), ""},
		{"NaN refused", KindNumber, "NaN", Value{}, `"NaN" is not a number`},
		{"not a number", KindNumber, "12A", Value{}, `"12A" is not a number`},
		{"string", KindString, "morning-news", String("morning-news"), ""},
		{"no kind", KindNone, "x", Value{}, "no value kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseValue(tt.kind, tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseValue = %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name      string
		a, b      Value
		tolerance float64
		want      bool
	}{
		{"same bool", Bool(true), Bool(true), 0, true},
		{"bool and 1", Bool(true), Number(1), 0, true},
		{"bool and 0", Bool(true), Number(0), 0, false},
		{"within tolerance", Number(2.40), Number(2.404), 0.005, true},
		{"outside tolerance", Number(2.40), Number(2.41), 0.005, false},
		{"exact", Number(1), Number(1), 0, true},
		{"strings", String("a"), String("a"), 0, true},
		{"string and number", String("1"), Number(1), 0, false},
		{"none and none", Value{}, Value{}, 0, true},
		{"none and a value", Value{}, Number(0), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b, tt.tolerance); got != tt.want {
				t.Errorf("Equal(%#v, %#v, %v) = %v, want %v", tt.a, tt.b, tt.tolerance, got, tt.want)
			}
		})
	}
}

func TestValueString(t *testing.T) {
	for v, want := range map[Value]string{Bool(false): "false", Number(2.5): "2.5", Number(1e21): "1e+21", String("x"): "x", {}: "<none>"} {
		if got := v.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", v, got, want)
		}
	}
	if got := (PointRef{Device: "sign", Point: "power"}).String(); got != "sign.power" {
		t.Errorf("PointRef.String() = %q", got)
	}
}
