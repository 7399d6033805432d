package modbus

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

// This file is the value codec of the point driver: how a typed value is
// laid out in 16-bit registers, in the four byte orders, and how scale and
// offset turn a raw value into an engineering one.
//
// Byte orders name the bytes of a value, most significant first, as they
// appear on the wire (config.Order). For values longer than two registers
// the same two transformations generalise: CDAB reverses the order of the
// registers (little-endian words, big-endian bytes), BADC swaps the two bytes
// of each register, DCBA does both (fully little-endian). A uint64
// 0x0102030405060708 is sent as
//
//	ABCD 0102 0304 0506 0708
//	CDAB 0708 0506 0304 0102
//	BADC 0201 0403 0605 0807
//	DCBA 0807 0605 0403 0201
//
// A string is a sequence of bytes, two per register, first character in the
// high byte (ABCD, CDAB) or in the low byte (BADC, DCBA); the word order of
// a string is never reversed. It is padded with NUL bytes to its count of
// registers and ends at its first NUL.

// ErrValue is wrapped by every encoding error: a value that does not fit
// its point (out of range, wrong kind, too long).
var ErrValue = errors.New("value does not fit the point")

// Orders lists the four byte orders, in the order `beacon read --order all`
// prints them.
var Orders = []config.Order{config.ABCD, config.CDAB, config.BADC, config.DCBA}

// Raw is a value as the registers hold it, before scale and offset. Exactly
// one field is meaningful, chosen by Type: Bool for bool, Int for int16,
// int32 and int64, Uint for uint16, uint32 and uint64, Float for float32 and
// float64, Str for string. Integers are exact over their whole range.
type Raw struct {
	Type  config.Type
	Bool  bool
	Int   int64
	Uint  uint64
	Float float64
	Str   string
}

// String formats r exactly: integers in decimal, floats in the shortest form
// that reads back to the same float32 or float64, booleans as true/false.
func (r Raw) String() string {
	switch r.Type {
	case config.TypeBool:
		return strconv.FormatBool(r.Bool)
	case config.TypeInt16, config.TypeInt32, config.TypeInt64:
		return strconv.FormatInt(r.Int, 10)
	case config.TypeUint16, config.TypeUint32, config.TypeUint64:
		return strconv.FormatUint(r.Uint, 10)
	case config.TypeFloat32:
		return strconv.FormatFloat(r.Float, 'g', -1, 32)
	case config.TypeFloat64:
		return strconv.FormatFloat(r.Float, 'g', -1, 64)
	case config.TypeString:
		return r.Str
	}
	return "<" + string(r.Type) + ">"
}

// Number returns a numeric Raw as a float64 (rounded beyond ±2^53).
func (r Raw) Number() float64 {
	switch r.Type {
	case config.TypeInt16, config.TypeInt32, config.TypeInt64:
		return float64(r.Int)
	case config.TypeUint16, config.TypeUint32, config.TypeUint64:
		return float64(r.Uint)
	case config.TypeBool:
		if r.Bool {
			return 1
		}
		return 0
	}
	return r.Float
}

// wordsToBytes returns the value's bytes, most significant first, from its
// registers in order o.
func wordsToBytes(regs []uint16, o config.Order) []byte {
	n := len(regs)
	b := make([]byte, 2*n)
	for i, w := range regs {
		j := i
		if o == config.CDAB || o == config.DCBA {
			j = n - 1 - i
		}
		hi, lo := byte(w>>8), byte(w)
		if o == config.BADC || o == config.DCBA {
			hi, lo = lo, hi
		}
		b[2*j], b[2*j+1] = hi, lo
	}
	return b
}

// bytesToWords is the inverse of wordsToBytes.
func bytesToWords(b []byte, o config.Order) []uint16 {
	n := len(b) / 2
	regs := make([]uint16, n)
	for j := range n {
		hi, lo := b[2*j], b[2*j+1]
		if o == config.BADC || o == config.DCBA {
			hi, lo = lo, hi
		}
		i := j
		if o == config.CDAB || o == config.DCBA {
			i = n - 1 - j
		}
		regs[i] = uint16(hi)<<8 | uint16(lo)
	}
	return regs
}

func checkOrder(o config.Order) error {
	switch o {
	case config.ABCD, config.CDAB, config.BADC, config.DCBA, "":
		return nil
	}
	return fmt.Errorf("unknown byte order %q (ABCD, CDAB, BADC or DCBA)", o)
}

// RegisterCount is how many registers a value of type t takes; count is a
// string's length in registers (ignored for other types).
func RegisterCount(t config.Type, count int) int { return t.Registers(count) }

func beUint(b []byte) uint64 {
	var u uint64
	for _, x := range b {
		u = u<<8 | uint64(x)
	}
	return u
}

// DecodeRaw decodes registers holding one value of type t in order o. A
// bool is true when the register is non-zero (see DecodeBit for a bit of a
// register). len(regs) must be the type's register count; for a string,
// every register is part of it.
func DecodeRaw(t config.Type, o config.Order, regs []uint16) (Raw, error) {
	if err := checkOrder(o); err != nil {
		return Raw{}, err
	}
	want := t.Registers(len(regs))
	if want == 0 {
		return Raw{}, fmt.Errorf("unknown type %q", t)
	}
	if len(regs) != want {
		return Raw{}, fmt.Errorf("%s needs %d registers, got %d", t, want, len(regs))
	}
	r := Raw{Type: t}
	if t == config.TypeString {
		b := wordsToBytes(regs, stringOrder(o))
		if i := strings.IndexByte(string(b), 0); i >= 0 {
			b = b[:i]
		}
		r.Str = string(b)
		return r, nil
	}
	u := beUint(wordsToBytes(regs, o))
	switch t {
	case config.TypeBool:
		r.Bool = u != 0
	case config.TypeInt16:
		r.Int = int64(int16(u))
	case config.TypeInt32:
		r.Int = int64(int32(u))
	case config.TypeInt64:
		r.Int = int64(u)
	case config.TypeUint16, config.TypeUint32, config.TypeUint64:
		r.Uint = u
	case config.TypeFloat32:
		r.Float = float64(math.Float32frombits(uint32(u)))
	case config.TypeFloat64:
		r.Float = math.Float64frombits(u)
	}
	return r, nil
}

// stringOrder reduces an order to the byte order within a register: the
// words of a string are never reversed.
func stringOrder(o config.Order) config.Order {
	if o == config.BADC || o == config.DCBA {
		return config.BADC
	}
	return config.ABCD
}

// EncodeRaw lays out r in registers in order o. count is a string's length
// in registers; a shorter string is padded with NUL bytes, a longer one is
// refused.
func EncodeRaw(r Raw, o config.Order, count int) ([]uint16, error) {
	if err := checkOrder(o); err != nil {
		return nil, err
	}
	n := r.Type.Registers(count)
	if n == 0 {
		return nil, fmt.Errorf("unknown type %q", r.Type)
	}
	if r.Type == config.TypeString {
		if len(r.Str) > 2*n {
			return nil, fmt.Errorf("%w: string of %d bytes is longer than %d registers (%d bytes)", ErrValue, len(r.Str), n, 2*n)
		}
		if strings.IndexByte(r.Str, 0) >= 0 {
			return nil, fmt.Errorf("%w: string holds a NUL byte", ErrValue)
		}
		b := make([]byte, 2*n)
		copy(b, r.Str)
		return bytesToWords(b, stringOrder(o)), nil
	}
	var u uint64
	switch r.Type {
	case config.TypeBool:
		if r.Bool {
			u = 1
		}
	case config.TypeInt16:
		if r.Int < math.MinInt16 || r.Int > math.MaxInt16 {
			return nil, rangeError(r.Type, strconv.FormatInt(r.Int, 10))
		}
		u = uint64(uint16(int16(r.Int)))
	case config.TypeInt32:
		if r.Int < math.MinInt32 || r.Int > math.MaxInt32 {
			return nil, rangeError(r.Type, strconv.FormatInt(r.Int, 10))
		}
		u = uint64(uint32(int32(r.Int)))
	case config.TypeInt64:
		u = uint64(r.Int)
	case config.TypeUint16:
		if r.Uint > math.MaxUint16 {
			return nil, rangeError(r.Type, strconv.FormatUint(r.Uint, 10))
		}
		u = r.Uint
	case config.TypeUint32:
		if r.Uint > math.MaxUint32 {
			return nil, rangeError(r.Type, strconv.FormatUint(r.Uint, 10))
		}
		u = r.Uint
	case config.TypeUint64:
		u = r.Uint
	case config.TypeFloat32:
		if !math.IsNaN(r.Float) && !math.IsInf(r.Float, 0) && math.Abs(r.Float) > math.MaxFloat32 {
			return nil, rangeError(r.Type, strconv.FormatFloat(r.Float, 'g', -1, 64))
		}
		u = uint64(math.Float32bits(float32(r.Float)))
	case config.TypeFloat64:
		u = math.Float64bits(r.Float)
	}
	b := make([]byte, 2*n)
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte(u)
		u >>= 8
	}
	return bytesToWords(b, o), nil
}

func rangeError(t config.Type, v string) error {
	return fmt.Errorf("%w: %s is outside the range of %s", ErrValue, v, t)
}

// ParseRaw reads the text form of a raw value of type t, exactly: integers
// with strconv.ParseInt/ParseUint (so all 64 bits are kept), booleans as
// true/false, on/off or 1/0.
func ParseRaw(t config.Type, text string) (Raw, error) {
	r := Raw{Type: t}
	var err error
	switch t {
	case config.TypeBool:
		var v drivers.Value
		if v, err = drivers.ParseValue(drivers.KindBool, text); err == nil {
			r.Bool, _ = v.AsBool()
		}
	case config.TypeInt16, config.TypeInt32, config.TypeInt64:
		bits := map[config.Type]int{config.TypeInt16: 16, config.TypeInt32: 32, config.TypeInt64: 64}[t]
		if r.Int, err = strconv.ParseInt(text, 0, bits); err != nil {
			err = fmt.Errorf("%w: %q is not an %s", ErrValue, text, t)
		}
	case config.TypeUint16, config.TypeUint32, config.TypeUint64:
		bits := map[config.Type]int{config.TypeUint16: 16, config.TypeUint32: 32, config.TypeUint64: 64}[t]
		if r.Uint, err = strconv.ParseUint(text, 0, bits); err != nil {
			err = fmt.Errorf("%w: %q is not a %s", ErrValue, text, t)
		}
	case config.TypeFloat32, config.TypeFloat64:
		bits := 64
		if t == config.TypeFloat32 {
			bits = 32
		}
		if r.Float, err = strconv.ParseFloat(text, bits); err != nil {
			err = fmt.Errorf("%w: %q is not a %s", ErrValue, text, t)
		}
	case config.TypeString:
		r.Str = text
	default:
		err = fmt.Errorf("unknown type %q", t)
	}
	return r, err
}

// DecodeBit returns bit (0 = least significant) of a register.
func DecodeBit(reg uint16, bit int) bool { return reg>>uint(bit)&1 != 0 }

// SetBit returns reg with bit (0 = least significant) set to on.
func SetBit(reg uint16, bit int, on bool) uint16 {
	if on {
		return reg | 1<<uint(bit)
	}
	return reg &^ (1 << uint(bit))
}

// DecodePoint turns a register point's registers (p.Registers() of them,
// from p.Address) into its engineering value: raw × Scale + Offset for
// numbers, bit p.Bit for a bool in a register. Bit-table points are
// decoded by the caller (a bool is a bool).
func DecodePoint(p *config.Point, regs []uint16) (drivers.Value, error) {
	if p.Type == config.TypeBool && p.Bit >= 0 {
		if len(regs) != 1 {
			return drivers.Value{}, fmt.Errorf("bit of a register needs 1 register, got %d", len(regs))
		}
		return drivers.Bool(DecodeBit(regs[0], p.Bit)), nil
	}
	r, err := DecodeRaw(p.Type, p.Order, regs)
	if err != nil {
		return drivers.Value{}, err
	}
	switch p.Type {
	case config.TypeBool:
		return drivers.Bool(r.Bool), nil
	case config.TypeString:
		return drivers.String(r.Str), nil
	}
	return drivers.Number(applyScale(r.Number(), scaleOf(p)) + p.Offset), nil
}

// applyScale returns raw × scale. A scale that is the inverse of an
// integer (0.1, 0.01) divides by that integer instead, which is correctly
// rounded: 1020 × 0.01 is 10.200000000000001 in float64, 1020 / 100 is 10.2.
func applyScale(raw, scale float64) float64 {
	if inv := 1 / scale; inv == math.Trunc(inv) && math.Abs(inv) <= 1<<53 {
		return raw / inv
	}
	if inv := math.Round(1 / scale); math.Abs(1/inv-scale) <= 1e-15*math.Abs(scale) {
		return raw / inv
	}
	return raw * scale
}

func scaleOf(p *config.Point) float64 {
	if p.Scale == 0 {
		return 1
	}
	return p.Scale
}

// PointRaw inverts a point's scale and offset: the raw value that the
// engineering value v stands for, rounded to the nearest integer for
// integer types. A value outside the raw type's range, of the wrong kind,
// NaN or infinite is refused with an error wrapping ErrValue.
func PointRaw(p *config.Point, v drivers.Value) (Raw, error) {
	r := Raw{Type: p.Type}
	switch p.Type {
	case config.TypeBool:
		b, ok := v.AsBool()
		if !ok {
			return r, fmt.Errorf("%w: %#v is not a boolean", ErrValue, v)
		}
		r.Bool = b
		return r, nil
	case config.TypeString:
		s, ok := v.AsString()
		if !ok {
			return r, fmt.Errorf("%w: %#v is not a string", ErrValue, v)
		}
		r.Str = s
		return r, nil
	}
	eng, ok := v.AsNumber()
	if !ok {
		return r, fmt.Errorf("%w: %#v is not a number", ErrValue, v)
	}
	if math.IsNaN(eng) || math.IsInf(eng, 0) {
		return r, fmt.Errorf("%w: %v is not a finite number", ErrValue, eng)
	}
	raw := (eng - p.Offset) / scaleOf(p)
	show := func() string { return fmt.Sprintf("%v (raw %v)", eng, raw) }
	switch p.Type {
	case config.TypeFloat32, config.TypeFloat64:
		r.Float = raw
		if p.Type == config.TypeFloat32 && math.Abs(raw) > math.MaxFloat32 {
			return r, rangeError(p.Type, show())
		}
		return r, nil
	}
	raw = math.Round(raw)
	lo, hi := intRange(p.Type) // hi is exclusive
	if raw < lo || raw >= hi {
		return r, rangeError(p.Type, show())
	}
	switch p.Type {
	case config.TypeInt16, config.TypeInt32, config.TypeInt64:
		r.Int = int64(raw)
	default:
		r.Uint = uint64(raw)
	}
	return r, nil
}

// intRange is the range [lo, hi) of an integer type, as float64 bounds
// that are exact powers of two.
func intRange(t config.Type) (lo, hi float64) {
	switch t {
	case config.TypeInt16:
		return -(1 << 15), 1 << 15
	case config.TypeInt32:
		return -(1 << 31), 1 << 31
	case config.TypeInt64:
		return -(1 << 63), 1 << 63
	case config.TypeUint16:
		return 0, 1 << 16
	case config.TypeUint32:
		return 0, 1 << 32
	}
	return 0, 1 << 64 // uint64
}

// EncodePoint turns an engineering value into the registers of a register
// point (p.Registers() of them). A bool in a bit of a register cannot be
// encoded alone: the other bits must be read first (see Driver.Write).
func EncodePoint(p *config.Point, v drivers.Value) ([]uint16, error) {
	if p.Bit >= 0 {
		return nil, fmt.Errorf("bit %d of a register is written by read-modify-write, not encoded alone", p.Bit)
	}
	r, err := PointRaw(p, v)
	if err != nil {
		return nil, err
	}
	return EncodeRaw(r, p.Order, p.Count)
}
