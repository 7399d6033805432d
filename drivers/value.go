package drivers

import (
	"fmt"
	"math"
	"strconv"
)

// Kind tells which of a Value's forms is set.
type Kind uint8

// The kinds of point value. Every numeric point type (int16 … float64) is
// carried as a Number after scale and offset; integers beyond ±2^53 lose
// precision there, which the register-level CLI (beacon read) avoids by
// printing raw integers itself.
const (
	KindNone Kind = iota
	KindBool
	KindNumber
	KindString
)

func (k Kind) String() string {
	switch k {
	case KindBool:
		return "bool"
	case KindNumber:
		return "number"
	case KindString:
		return "string"
	default:
		return "none"
	}
}

// Value is a point's engineering value. The zero Value is "no value".
type Value struct {
	kind Kind
	b    bool
	num  float64
	str  string
}

// Bool returns a boolean Value.
func Bool(b bool) Value { return Value{kind: KindBool, b: b} }

// Number returns a numeric Value.
func Number(f float64) Value { return Value{kind: KindNumber, num: f} }

// String returns a string Value.
func String(s string) Value { return Value{kind: KindString, str: s} }

// Kind reports which form v holds.
func (v Value) Kind() Kind { return v.kind }

// IsZero reports whether v holds no value.
func (v Value) IsZero() bool { return v.kind == KindNone }

// AsBool returns v as a boolean: numbers are true when non-zero.
func (v Value) AsBool() (bool, bool) {
	switch v.kind {
	case KindBool:
		return v.b, true
	case KindNumber:
		return v.num != 0, true
	}
	return false, false
}

// AsNumber returns v as a number: booleans are 0 or 1.
func (v Value) AsNumber() (float64, bool) {
	switch v.kind {
	case KindNumber:
		return v.num, true
	case KindBool:
		if v.b {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// AsString returns the string of a string Value.
func (v Value) AsString() (string, bool) { return v.str, v.kind == KindString }

// Equal reports whether a and b are the same value. Numbers compare within
// tolerance, an absolute tolerance for the read-back of a scaled register
// (for example 0.1 for a register in tenths); pass 0 for exact equality.
// A bool and a number compare as 0/1.
func Equal(a, b Value, tolerance float64) bool {
	if a.kind == KindString || b.kind == KindString {
		return a.kind == b.kind && a.str == b.str
	}
	if a.kind == KindNone || b.kind == KindNone {
		return a.kind == b.kind
	}
	x, _ := a.AsNumber()
	y, _ := b.AsNumber()
	return math.Abs(x-y) <= tolerance
}

// String formats v for logs and the CLI: true/false, a number in its
// shortest exact form, or the string itself.
func (v Value) String() string {
	switch v.kind {
	case KindBool:
		return strconv.FormatBool(v.b)
	case KindNumber:
		return strconv.FormatFloat(v.num, 'g', -1, 64)
	case KindString:
		return v.str
	default:
		return "<none>"
	}
}

// GoString helps test failure messages tell Bool(true) from String("true").
func (v Value) GoString() string {
	switch v.kind {
	case KindString:
		return fmt.Sprintf("String(%q)", v.str)
	case KindNone:
		return "Value{}"
	default:
		return fmt.Sprintf("%s(%s)", v.kind, v)
	}
}

// ParseValue reads the text form of a value of the given kind, as typed on
// the command line or found in a config's safe value.
func ParseValue(kind Kind, text string) (Value, error) {
	switch kind {
	case KindBool:
		switch text {
		case "true", "on", "1":
			return Bool(true), nil
		case "false", "off", "0":
			return Bool(false), nil
		}
		return Value{}, fmt.Errorf("%q is not a boolean (true/false, on/off, 1/0)", text)
	case KindNumber:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Value{}, fmt.Errorf("%q is not a number", text)
		}
		return Number(f), nil
	case KindString:
		return String(text), nil
	}
	return Value{}, fmt.Errorf("no value kind to parse %q as", text)
}
