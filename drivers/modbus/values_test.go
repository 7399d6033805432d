package modbus

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

// valueVectors is the one table of register layouts that both the decode and
// the encode tests walk: a raw value, its byte order and the registers that
// carry it on the wire.
var valueVectors = []struct {
	name  string
	raw   Raw
	order config.Order
	count int // registers of a string
	regs  []uint16
}{
	// float32 123.456 = 0x42F6E979 (IEEE 754 binary32).
	{"float32 123.456 ABCD", Raw{Type: config.TypeFloat32, Float: float64(float32(123.456))}, config.ABCD, 0, []uint16{0x42F6, 0xE979}},
	{"float32 123.456 CDAB", Raw{Type: config.TypeFloat32, Float: float64(float32(123.456))}, config.CDAB, 0, []uint16{0xE979, 0x42F6}},
	{"float32 123.456 BADC", Raw{Type: config.TypeFloat32, Float: float64(float32(123.456))}, config.BADC, 0, []uint16{0xF642, 0x79E9}},
	{"float32 123.456 DCBA", Raw{Type: config.TypeFloat32, Float: float64(float32(123.456))}, config.DCBA, 0, []uint16{0x79E9, 0xF642}},
	{"float32 -0.5 ABCD", Raw{Type: config.TypeFloat32, Float: -0.5}, config.ABCD, 0, []uint16{0xBF00, 0x0000}},
	// int32 -2 = 0xFFFFFFFE: two's complement.
	{"int32 -2 ABCD", Raw{Type: config.TypeInt32, Int: -2}, config.ABCD, 0, []uint16{0xFFFF, 0xFFFE}},
	{"int32 -2 CDAB", Raw{Type: config.TypeInt32, Int: -2}, config.CDAB, 0, []uint16{0xFFFE, 0xFFFF}},
	{"int32 -2 BADC", Raw{Type: config.TypeInt32, Int: -2}, config.BADC, 0, []uint16{0xFFFF, 0xFEFF}},
	{"int32 -2 DCBA", Raw{Type: config.TypeInt32, Int: -2}, config.DCBA, 0, []uint16{0xFEFF, 0xFFFF}},
	{"uint32 0x01020304 CDAB", Raw{Type: config.TypeUint32, Uint: 0x01020304}, config.CDAB, 0, []uint16{0x0304, 0x0102}},
	// 16-bit values: word order has nothing to reverse, byte swap still applies.
	{"int16 -1", Raw{Type: config.TypeInt16, Int: -1}, config.ABCD, 0, []uint16{0xFFFF}},
	{"int16 -32768", Raw{Type: config.TypeInt16, Int: -32768}, config.ABCD, 0, []uint16{0x8000}},
	{"uint16 258 ABCD", Raw{Type: config.TypeUint16, Uint: 258}, config.ABCD, 0, []uint16{0x0102}},
	{"uint16 258 CDAB", Raw{Type: config.TypeUint16, Uint: 258}, config.CDAB, 0, []uint16{0x0102}},
	{"uint16 258 BADC", Raw{Type: config.TypeUint16, Uint: 258}, config.BADC, 0, []uint16{0x0201}},
	{"uint16 258 DCBA", Raw{Type: config.TypeUint16, Uint: 258}, config.DCBA, 0, []uint16{0x0201}},
	// 64-bit values: four registers, the same two transformations.
	{"uint64 max", Raw{Type: config.TypeUint64, Uint: math.MaxUint64}, config.ABCD, 0, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}},
	{"uint64 0x0102030405060708 ABCD", Raw{Type: config.TypeUint64, Uint: 0x0102030405060708}, config.ABCD, 0, []uint16{0x0102, 0x0304, 0x0506, 0x0708}},
	{"uint64 0x0102030405060708 CDAB", Raw{Type: config.TypeUint64, Uint: 0x0102030405060708}, config.CDAB, 0, []uint16{0x0708, 0x0506, 0x0304, 0x0102}},
	{"uint64 0x0102030405060708 BADC", Raw{Type: config.TypeUint64, Uint: 0x0102030405060708}, config.BADC, 0, []uint16{0x0201, 0x0403, 0x0605, 0x0807}},
	{"uint64 0x0102030405060708 DCBA", Raw{Type: config.TypeUint64, Uint: 0x0102030405060708}, config.DCBA, 0, []uint16{0x0807, 0x0605, 0x0403, 0x0201}},
	{"int64 min", Raw{Type: config.TypeInt64, Int: math.MinInt64}, config.ABCD, 0, []uint16{0x8000, 0, 0, 0}},
	{"int64 2^53+1 exact", Raw{Type: config.TypeInt64, Int: 1<<53 + 1}, config.ABCD, 0, []uint16{0x0020, 0, 0, 0x0001}},
	// float64 1.5 = 0x3FF8000000000000.
	{"float64 1.5 ABCD", Raw{Type: config.TypeFloat64, Float: 1.5}, config.ABCD, 0, []uint16{0x3FF8, 0, 0, 0}},
	{"float64 1.5 DCBA", Raw{Type: config.TypeFloat64, Float: 1.5}, config.DCBA, 0, []uint16{0, 0, 0, 0xF83F}},
	{"float64 1.5 CDAB", Raw{Type: config.TypeFloat64, Float: 1.5}, config.CDAB, 0, []uint16{0, 0, 0, 0x3FF8}},
	// bool in a whole register: any non-zero value is true (decode only below).
	{"bool true", Raw{Type: config.TypeBool, Bool: true}, config.ABCD, 0, []uint16{0x0001}},
	{"bool false", Raw{Type: config.TypeBool}, config.ABCD, 0, []uint16{0x0000}},
	// Strings: two bytes per register, NUL padding, the first NUL ends it.
	{"string even length", Raw{Type: config.TypeString, Str: "BEACON"}, config.ABCD, 3, []uint16{0x4245, 0x4143, 0x4F4E}},
	{"string odd length", Raw{Type: config.TypeString, Str: "SIGN1"}, config.ABCD, 3, []uint16{0x5349, 0x474E, 0x3100}},
	{"string NUL padded", Raw{Type: config.TypeString, Str: "AB"}, config.ABCD, 4, []uint16{0x4142, 0, 0, 0}},
	{"string odd length byte swapped", Raw{Type: config.TypeString, Str: "SIGN1"}, config.BADC, 3, []uint16{0x4953, 0x4E47, 0x0031}},
	{"string DCBA is byte swapped, not reversed", Raw{Type: config.TypeString, Str: "ABCD"}, config.DCBA, 2, []uint16{0x4241, 0x4443}},
	{"string CDAB keeps word order", Raw{Type: config.TypeString, Str: "ABCD"}, config.CDAB, 2, []uint16{0x4142, 0x4344}},
	{"string empty", Raw{Type: config.TypeString, Str: ""}, config.ABCD, 1, []uint16{0}},
	{"string UTF-8", Raw{Type: config.TypeString, Str: "东"}, config.ABCD, 2, []uint16{0xE4B8, 0x9C00}},
}

func TestDecodeRawVectors(t *testing.T) {
	for _, tc := range valueVectors {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeRaw(tc.raw.Type, tc.order, tc.regs)
			if err != nil {
				t.Fatalf("DecodeRaw: %v", err)
			}
			if got != tc.raw {
				t.Fatalf("DecodeRaw(% 04X) = %+v, want %+v", tc.regs, got, tc.raw)
			}
		})
	}
}

func TestEncodeRawVectors(t *testing.T) {
	for _, tc := range valueVectors {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodeRaw(tc.raw, tc.order, tc.count)
			if err != nil {
				t.Fatalf("EncodeRaw: %v", err)
			}
			if !slices.Equal(got, tc.regs) {
				t.Fatalf("EncodeRaw(%+v, %s) = % 04X, want % 04X", tc.raw, tc.order, got, tc.regs)
			}
		})
	}
}

func TestRawString(t *testing.T) {
	tests := []struct {
		name string
		raw  Raw
		want string
	}{
		{"float32 shortest form", Raw{Type: config.TypeFloat32, Float: float64(float32(123.456))}, "123.456"},
		{"float64", Raw{Type: config.TypeFloat64, Float: 0.1}, "0.1"},
		{"uint64 max exact", Raw{Type: config.TypeUint64, Uint: math.MaxUint64}, "18446744073709551615"},
		{"int64 min exact", Raw{Type: config.TypeInt64, Int: math.MinInt64}, "-9223372036854775808"},
		{"bool", Raw{Type: config.TypeBool, Bool: true}, "true"},
		{"string", Raw{Type: config.TypeString, Str: "SIGN1"}, "SIGN1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.raw.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEncodeRawRefuses(t *testing.T) {
	tests := []struct {
		name  string
		raw   Raw
		count int
		want  string
	}{
		{"int16 too big", Raw{Type: config.TypeInt16, Int: 32768}, 0, "32768 is outside the range of int16"},
		{"uint16 too big", Raw{Type: config.TypeUint16, Uint: 65536}, 0, "65536 is outside the range of uint16"},
		{"int32 too small", Raw{Type: config.TypeInt32, Int: math.MinInt32 - 1}, 0, "outside the range of int32"},
		{"uint32 too big", Raw{Type: config.TypeUint32, Uint: 1 << 32}, 0, "outside the range of uint32"},
		{"float32 too big", Raw{Type: config.TypeFloat32, Float: 1e39}, 0, "outside the range of float32"},
		{"string too long", Raw{Type: config.TypeString, Str: "ABCDE"}, 2, "string of 5 bytes is longer than 2 registers (4 bytes)"},
		{"string with NUL", Raw{Type: config.TypeString, Str: "A\x00B"}, 2, "NUL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EncodeRaw(tc.raw, config.ABCD, tc.count)
			if !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("EncodeRaw(%+v) error = %v, want ErrValue containing %q", tc.raw, err, tc.want)
			}
		})
	}
}

func TestParseRaw(t *testing.T) {
	tests := []struct {
		name    string
		typ     config.Type
		text    string
		want    Raw
		wantErr bool
	}{
		{"uint64 max exact", config.TypeUint64, "18446744073709551615", Raw{Type: config.TypeUint64, Uint: math.MaxUint64}, false},
		{"int64 exact", config.TypeInt64, "-9007199254740993", Raw{Type: config.TypeInt64, Int: -9007199254740993}, false},
		{"hex uint16", config.TypeUint16, "0x00FF", Raw{Type: config.TypeUint16, Uint: 255}, false},
		{"int16 out of range", config.TypeInt16, "40000", Raw{}, true},
		{"float32", config.TypeFloat32, "123.456", Raw{Type: config.TypeFloat32, Float: float64(float32(123.456))}, false},
		{"bool on", config.TypeBool, "on", Raw{Type: config.TypeBool, Bool: true}, false},
		{"bool junk", config.TypeBool, "maybe", Raw{}, true},
		{"string", config.TypeString, "hi there", Raw{Type: config.TypeString, Str: "hi there"}, false},
		{"not a number", config.TypeFloat64, "abc", Raw{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRaw(tc.typ, tc.text)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseRaw(%s, %q) = %+v, want an error", tc.typ, tc.text, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseRaw(%s, %q) = %+v, %v; want %+v", tc.typ, tc.text, got, err, tc.want)
			}
		})
	}
}

func TestPointScaleOffset(t *testing.T) {
	tests := []struct {
		name    string
		point   config.Point
		regs    []uint16
		value   drivers.Value // engineering value regs decode to
		write   drivers.Value // what is written; zero means value
		wantErr string        // for write
	}{
		{"current in hundredths", config.Point{Type: config.TypeUint16, Scale: 0.01}, []uint16{241}, drivers.Number(2.41), drivers.Value{}, ""},
		{"hundredths without float noise", config.Point{Type: config.TypeUint16, Scale: 0.01}, []uint16{1020}, drivers.Number(10.2), drivers.Value{}, ""},
		{"rounds to nearest raw", config.Point{Type: config.TypeUint16, Scale: 0.01}, []uint16{241}, drivers.Number(2.41), drivers.Number(2.4149), ""},
		{"temperature offset", config.Point{Type: config.TypeInt16, Scale: 0.1, Offset: -40}, []uint16{0xFFF6}, drivers.Number(-41), drivers.Value{}, ""},
		{"uint16 negative refused", config.Point{Type: config.TypeUint16, Scale: 1}, nil, drivers.Value{}, drivers.Number(-1), "outside the range of uint16"},
		{"scaled beyond range refused", config.Point{Type: config.TypeInt16, Scale: 0.001}, nil, drivers.Value{}, drivers.Number(40), "outside the range of int16"},
		{"NaN refused", config.Point{Type: config.TypeFloat32, Scale: 1}, nil, drivers.Value{}, drivers.Number(math.NaN()), "not a finite number"},
		{"string into number refused", config.Point{Type: config.TypeUint16, Scale: 1}, nil, drivers.Value{}, drivers.String("x"), "is not a number"},
		{"bool into uint16 is 1", config.Point{Type: config.TypeUint16, Scale: 1}, []uint16{1}, drivers.Number(1), drivers.Bool(true), ""},
		{"float32 CDAB scaled", config.Point{Type: config.TypeFloat32, Order: config.CDAB, Scale: 2}, []uint16{0x0000, 0x3FC0}, drivers.Number(3), drivers.Value{}, ""},
		{"uint64 max", config.Point{Type: config.TypeUint64, Scale: 1}, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, drivers.Number(math.MaxUint64), drivers.Value{}, "outside the range of uint64"},
		{"string", config.Point{Type: config.TypeString, Count: 2}, []uint16{0x4F4B, 0}, drivers.String("OK"), drivers.Value{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.point
			p.Bit = -1
			if tc.regs != nil {
				got, err := DecodePoint(&p, tc.regs)
				if err != nil || !drivers.Equal(got, tc.value, 0) {
					t.Fatalf("DecodePoint(% 04X) = %#v, %v; want %#v", tc.regs, got, err, tc.value)
				}
			}
			w := tc.write
			if w.IsZero() {
				w = tc.value
			}
			regs, err := EncodePoint(&p, w)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("EncodePoint(%#v) = % 04X, %v; want ErrValue containing %q", w, regs, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(regs, tc.regs) {
				t.Fatalf("EncodePoint(%#v) = % 04X, %v; want % 04X", w, regs, err, tc.regs)
			}
		})
	}
}

func TestBits(t *testing.T) {
	tests := []struct {
		name string
		reg  uint16
		bit  int
		on   bool
		want uint16 // SetBit(reg, bit, !on)
	}{
		{"bit 0 set", 0x0001, 0, true, 0x0000},
		{"bit 15 set", 0x8000, 15, true, 0x0000},
		{"bit 3 clear", 0xFFF7, 3, false, 0xFFFF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecodeBit(tc.reg, tc.bit); got != tc.on {
				t.Fatalf("DecodeBit(%04X, %d) = %v, want %v", tc.reg, tc.bit, got, tc.on)
			}
			if got := SetBit(tc.reg, tc.bit, !tc.on); got != tc.want {
				t.Fatalf("SetBit(%04X, %d, %v) = %04X, want %04X", tc.reg, tc.bit, !tc.on, got, tc.want)
			}
		})
	}
}
