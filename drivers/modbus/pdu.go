package modbus

import (
	"encoding/binary"
	"fmt"
)

// FunctionCode is a Modbus function code (Modbus V1.1b3 §5.1, §6).
type FunctionCode byte

// The function codes this package speaks.
const (
	FuncReadCoils                  FunctionCode = 0x01 // §6.1
	FuncReadDiscreteInputs         FunctionCode = 0x02 // §6.2
	FuncReadHoldingRegisters       FunctionCode = 0x03 // §6.3
	FuncReadInputRegisters         FunctionCode = 0x04 // §6.4
	FuncWriteSingleCoil            FunctionCode = 0x05 // §6.5
	FuncWriteSingleRegister        FunctionCode = 0x06 // §6.6
	FuncWriteMultipleCoils         FunctionCode = 0x0F // §6.11
	FuncWriteMultipleRegisters     FunctionCode = 0x10 // §6.12
	FuncReadWriteMultipleRegisters FunctionCode = 0x17 // §6.17
	FuncEncapsulatedInterface      FunctionCode = 0x2B // §6.19, MEI type 14 = read device identification (§6.21)

	exceptionFlag = 0x80 // §7: the function code of an exception response has its high bit set
)

func (f FunctionCode) String() string {
	switch f {
	case FuncReadCoils:
		return "01 read coils"
	case FuncReadDiscreteInputs:
		return "02 read discrete inputs"
	case FuncReadHoldingRegisters:
		return "03 read holding registers"
	case FuncReadInputRegisters:
		return "04 read input registers"
	case FuncWriteSingleCoil:
		return "05 write single coil"
	case FuncWriteSingleRegister:
		return "06 write single register"
	case FuncWriteMultipleCoils:
		return "15 write multiple coils"
	case FuncWriteMultipleRegisters:
		return "16 write multiple registers"
	case FuncReadWriteMultipleRegisters:
		return "23 read/write multiple registers"
	case FuncEncapsulatedInterface:
		return "43/14 read device identification"
	}
	return fmt.Sprintf("0x%02X", byte(f))
}

// Protocol limits (Modbus V1.1b3 §6). A request outside them is refused
// with ErrInvalidRequest before it is sent.
const (
	MaxReadBits           = 2000 // §6.1, §6.2: 1..0x07D0
	MaxReadRegisters      = 125  // §6.3, §6.4, §6.17 read part: 1..0x007D
	MaxWriteBits          = 1968 // §6.11: 1..0x07B0
	MaxWriteRegisters     = 123  // §6.12: 1..0x007B
	MaxReadWriteRegisters = 121  // §6.17 write part: 1..0x0079
	MaxPDULen             = 253  // §4.1: 256-byte serial ADU minus address and CRC
	meiReadDeviceID       = 0x0E // §6.21 MEI type
	coilOn                = 0xFF00
	coilOff               = 0x0000
)

// DeviceIDCode selects which device identification objects to read
// (Modbus V1.1b3 §6.21, "Read Device ID code").
type DeviceIDCode byte

// The read device ID codes of §6.21.
const (
	DeviceIDBasic    DeviceIDCode = 0x01 // objects 0x00..0x02, streamed
	DeviceIDRegular  DeviceIDCode = 0x02 // objects 0x00..0x7F, streamed
	DeviceIDExtended DeviceIDCode = 0x03 // objects 0x00..0xFF, streamed
	DeviceIDSpecific DeviceIDCode = 0x04 // one object, individual access
)

// Well-known device identification object ids (§6.21).
const (
	ObjectVendorName          byte = 0x00
	ObjectProductCode         byte = 0x01
	ObjectMajorMinorRevision  byte = 0x02
	ObjectVendorURL           byte = 0x03
	ObjectProductName         byte = 0x04
	ObjectModelName           byte = 0x05
	ObjectUserApplicationName byte = 0x06
)

// Request is one Modbus request PDU. Which fields count depends on Function:
//
//	FC01, FC02, FC03, FC04: Address, Quantity
//	FC05:                   Address, Bits[0]
//	FC06:                   Address, Registers[0]
//	FC15:                   Address, Bits (quantity = len(Bits))
//	FC16:                   Address, Registers (quantity = len(Registers))
//	FC23:                   Address, Quantity (read); WriteAddress, Registers (write)
//	FC43/14:                DeviceIDCode, ObjectID
type Request struct {
	Function     FunctionCode
	Address      uint16
	Quantity     uint16
	WriteAddress uint16
	Bits         []bool
	Registers    []uint16
	DeviceIDCode DeviceIDCode
	ObjectID     byte
}

// DeviceObject is one device identification object (§6.21).
type DeviceObject struct {
	ID    byte
	Value []byte
}

// Response is one Modbus response PDU, the counterpart of a Request:
//
//	FC01, FC02:       Bits (as many as the request's Quantity)
//	FC03, FC04, FC23: Registers
//	FC05:             Address, Bits[0] (echo)
//	FC06:             Address, Registers[0] (echo)
//	FC15, FC16:       Address, Quantity (echo)
//	FC43/14:          DeviceIDCode, Conformity, MoreFollows, NextObjectID, Objects
type Response struct {
	Function     FunctionCode
	Address      uint16
	Quantity     uint16
	Bits         []bool
	Registers    []uint16
	DeviceIDCode DeviceIDCode
	Conformity   byte
	MoreFollows  bool
	NextObjectID byte
	Objects      []DeviceObject
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

func checkRange(what string, addr, qty uint16, maxQty int, section string) error {
	if qty < 1 || int(qty) > maxQty {
		return invalid("%s: quantity %d outside 1..%d (Modbus V1.1b3 %s)", what, qty, maxQty, section)
	}
	if int(addr)+int(qty) > 0x10000 {
		return invalid("%s: addresses %d..%d beyond 65535", what, addr, int(addr)+int(qty)-1)
	}
	return nil
}

// Validate checks r against the protocol limits of its function code.
// The error wraps ErrInvalidRequest.
func (r *Request) Validate() error {
	switch r.Function {
	case FuncReadCoils, FuncReadDiscreteInputs:
		return checkRange("read bits", r.Address, r.Quantity, MaxReadBits, "§6.1")
	case FuncReadHoldingRegisters, FuncReadInputRegisters:
		return checkRange("read registers", r.Address, r.Quantity, MaxReadRegisters, "§6.3")
	case FuncWriteSingleCoil:
		if len(r.Bits) != 1 {
			return invalid("write single coil: %d values given, want 1", len(r.Bits))
		}
	case FuncWriteSingleRegister:
		if len(r.Registers) != 1 {
			return invalid("write single register: %d values given, want 1", len(r.Registers))
		}
	case FuncWriteMultipleCoils:
		if len(r.Bits) > MaxWriteBits {
			return invalid("write coils: quantity %d outside 1..%d (Modbus V1.1b3 §6.11)", len(r.Bits), MaxWriteBits)
		}
		return checkRange("write coils", r.Address, uint16(len(r.Bits)), MaxWriteBits, "§6.11")
	case FuncWriteMultipleRegisters:
		if len(r.Registers) > MaxWriteRegisters {
			return invalid("write registers: quantity %d outside 1..%d (Modbus V1.1b3 §6.12)", len(r.Registers), MaxWriteRegisters)
		}
		return checkRange("write registers", r.Address, uint16(len(r.Registers)), MaxWriteRegisters, "§6.12")
	case FuncReadWriteMultipleRegisters:
		if err := checkRange("read/write registers, read part", r.Address, r.Quantity, MaxReadRegisters, "§6.17"); err != nil {
			return err
		}
		if len(r.Registers) > MaxReadWriteRegisters {
			return invalid("read/write registers, write part: quantity %d outside 1..%d (Modbus V1.1b3 §6.17)", len(r.Registers), MaxReadWriteRegisters)
		}
		return checkRange("read/write registers, write part", r.WriteAddress, uint16(len(r.Registers)), MaxReadWriteRegisters, "§6.17")
	case FuncEncapsulatedInterface:
		if r.DeviceIDCode < DeviceIDBasic || r.DeviceIDCode > DeviceIDSpecific {
			return invalid("read device identification: read device ID code %d outside 1..4 (Modbus V1.1b3 §6.21)", r.DeviceIDCode)
		}
	default:
		return invalid("function %s not supported", r.Function)
	}
	return nil
}

func packBits(dst []byte, bits []bool) []byte {
	n := (len(bits) + 7) / 8
	start := len(dst)
	for range n {
		dst = append(dst, 0)
	}
	for i, b := range bits {
		if b {
			dst[start+i/8] |= 1 << (i % 8) // §6.1: LSB of the first byte is the first bit
		}
	}
	return dst
}

func unpackBits(src []byte, n int) []bool {
	bits := make([]bool, n)
	for i := range bits {
		bits[i] = src[i/8]&(1<<(i%8)) != 0
	}
	return bits
}

func appendRegisters(dst []byte, regs []uint16) []byte {
	for _, v := range regs {
		dst = binary.BigEndian.AppendUint16(dst, v)
	}
	return dst
}

func readRegisters(src []byte) []uint16 {
	regs := make([]uint16, len(src)/2)
	for i := range regs {
		regs[i] = binary.BigEndian.Uint16(src[2*i:])
	}
	return regs
}

// AppendPDU validates r and appends its PDU (function code and data) to dst.
func (r *Request) AppendPDU(dst []byte) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return dst, err
	}
	be := binary.BigEndian
	dst = append(dst, byte(r.Function))
	switch r.Function {
	case FuncReadCoils, FuncReadDiscreteInputs, FuncReadHoldingRegisters, FuncReadInputRegisters:
		dst = be.AppendUint16(be.AppendUint16(dst, r.Address), r.Quantity)
	case FuncWriteSingleCoil:
		v := uint16(coilOff)
		if r.Bits[0] {
			v = coilOn
		}
		dst = be.AppendUint16(be.AppendUint16(dst, r.Address), v)
	case FuncWriteSingleRegister:
		dst = be.AppendUint16(be.AppendUint16(dst, r.Address), r.Registers[0])
	case FuncWriteMultipleCoils:
		dst = be.AppendUint16(be.AppendUint16(dst, r.Address), uint16(len(r.Bits)))
		dst = append(dst, byte((len(r.Bits)+7)/8))
		dst = packBits(dst, r.Bits)
	case FuncWriteMultipleRegisters:
		dst = be.AppendUint16(be.AppendUint16(dst, r.Address), uint16(len(r.Registers)))
		dst = append(dst, byte(2*len(r.Registers)))
		dst = appendRegisters(dst, r.Registers)
	case FuncReadWriteMultipleRegisters:
		dst = be.AppendUint16(be.AppendUint16(dst, r.Address), r.Quantity)
		dst = be.AppendUint16(be.AppendUint16(dst, r.WriteAddress), uint16(len(r.Registers)))
		dst = append(dst, byte(2*len(r.Registers)))
		dst = appendRegisters(dst, r.Registers)
	case FuncEncapsulatedInterface:
		dst = append(dst, meiReadDeviceID, byte(r.DeviceIDCode), r.ObjectID)
	}
	return dst, nil
}

// PDULen is the length in bytes of r's PDU.
func (r *Request) PDULen() int {
	switch r.Function {
	case FuncWriteMultipleCoils:
		return 6 + (len(r.Bits)+7)/8
	case FuncWriteMultipleRegisters:
		return 6 + 2*len(r.Registers)
	case FuncReadWriteMultipleRegisters:
		return 10 + 2*len(r.Registers)
	case FuncEncapsulatedInterface:
		return 4
	}
	return 5
}

// ResponsePDULen is the length in bytes of the normal response to r, or -1
// when it is not known in advance (FC43/14, whose objects vary). An
// exception response is always 2 bytes.
func (r *Request) ResponsePDULen() int {
	switch r.Function {
	case FuncReadCoils, FuncReadDiscreteInputs:
		return 2 + (int(r.Quantity)+7)/8
	case FuncReadHoldingRegisters, FuncReadInputRegisters, FuncReadWriteMultipleRegisters:
		return 2 + 2*int(r.Quantity)
	case FuncEncapsulatedInterface:
		return -1
	}
	return 5
}

// malformed wraps ErrMalformed with a description.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// requestError is what a server answers to a request it cannot decode.
func requestError(f FunctionCode, code ExceptionCode) error {
	return &ExceptionError{Function: f, Code: code}
}

// DecodeRequest parses a request PDU, as a server receives it. A request
// that a server must refuse yields an *ExceptionError with the code to
// answer: IllegalFunction for an unknown function, IllegalDataValue for a
// bad quantity, byte count or coil value (Modbus V1.1b3 §6 state diagrams).
// Address ranges are the server's to check.
func DecodeRequest(pdu []byte) (Request, error) {
	if len(pdu) == 0 {
		return Request{}, malformed("empty request PDU")
	}
	f := FunctionCode(pdu[0])
	r := Request{Function: f}
	d := pdu[1:]
	be := binary.BigEndian
	bad := requestError(f, IllegalDataValue)
	switch f {
	case FuncReadCoils, FuncReadDiscreteInputs, FuncReadHoldingRegisters, FuncReadInputRegisters:
		if len(d) != 4 {
			return r, bad
		}
		r.Address, r.Quantity = be.Uint16(d), be.Uint16(d[2:])
	case FuncWriteSingleCoil:
		if len(d) != 4 {
			return r, bad
		}
		r.Address = be.Uint16(d)
		switch be.Uint16(d[2:]) {
		case coilOn:
			r.Bits = []bool{true}
		case coilOff:
			r.Bits = []bool{false}
		default:
			return r, bad // §6.5: only 0x0000 and 0xFF00 are valid
		}
	case FuncWriteSingleRegister:
		if len(d) != 4 {
			return r, bad
		}
		r.Address, r.Registers = be.Uint16(d), []uint16{be.Uint16(d[2:])}
	case FuncWriteMultipleCoils:
		if len(d) < 5 {
			return r, bad
		}
		r.Address = be.Uint16(d)
		qty, n := int(be.Uint16(d[2:])), int(d[4])
		if qty < 1 || qty > MaxWriteBits || n != (qty+7)/8 || len(d) != 5+n {
			return r, bad
		}
		r.Bits = unpackBits(d[5:], qty)
	case FuncWriteMultipleRegisters:
		if len(d) < 5 {
			return r, bad
		}
		r.Address = be.Uint16(d)
		qty, n := int(be.Uint16(d[2:])), int(d[4])
		if qty < 1 || qty > MaxWriteRegisters || n != 2*qty || len(d) != 5+n {
			return r, bad
		}
		r.Registers = readRegisters(d[5:])
	case FuncReadWriteMultipleRegisters:
		if len(d) < 9 {
			return r, bad
		}
		r.Address, r.Quantity = be.Uint16(d), be.Uint16(d[2:])
		r.WriteAddress = be.Uint16(d[4:])
		qty, n := int(be.Uint16(d[6:])), int(d[8])
		if r.Quantity < 1 || r.Quantity > MaxReadRegisters || qty < 1 || qty > MaxReadWriteRegisters || n != 2*qty || len(d) != 9+n {
			return r, bad
		}
		r.Registers = readRegisters(d[9:])
	case FuncEncapsulatedInterface:
		if len(d) != 3 || d[0] != meiReadDeviceID {
			return r, bad
		}
		r.DeviceIDCode, r.ObjectID = DeviceIDCode(d[1]), d[2]
		if r.DeviceIDCode < DeviceIDBasic || r.DeviceIDCode > DeviceIDSpecific {
			return r, bad
		}
		return r, nil
	default:
		return r, requestError(f, IllegalFunction)
	}
	// Reads of 0 or too many items are IllegalDataValue (§6.1–§6.4 diagrams).
	switch f {
	case FuncReadCoils, FuncReadDiscreteInputs:
		if r.Quantity < 1 || r.Quantity > MaxReadBits {
			return r, bad
		}
	case FuncReadHoldingRegisters, FuncReadInputRegisters:
		if r.Quantity < 1 || r.Quantity > MaxReadRegisters {
			return r, bad
		}
	}
	// Addresses past 65535 are IllegalDataAddress (§6 diagrams: "starting
	// address + quantity of outputs == OK").
	if err := r.Validate(); err != nil {
		return r, requestError(f, IllegalDataAddress)
	}
	return r, nil
}

// AppendPDU appends the response PDU to dst. For FC01/FC02 the number of
// bits is len(Bits).
func (r *Response) AppendPDU(dst []byte) []byte {
	be := binary.BigEndian
	dst = append(dst, byte(r.Function))
	switch r.Function {
	case FuncReadCoils, FuncReadDiscreteInputs:
		dst = append(dst, byte((len(r.Bits)+7)/8))
		dst = packBits(dst, r.Bits)
	case FuncReadHoldingRegisters, FuncReadInputRegisters, FuncReadWriteMultipleRegisters:
		dst = append(dst, byte(2*len(r.Registers)))
		dst = appendRegisters(dst, r.Registers)
	case FuncWriteSingleCoil:
		v := uint16(coilOff)
		if len(r.Bits) > 0 && r.Bits[0] {
			v = coilOn
		}
		dst = be.AppendUint16(be.AppendUint16(dst, r.Address), v)
	case FuncWriteSingleRegister:
		var v uint16
		if len(r.Registers) > 0 {
			v = r.Registers[0]
		}
		dst = be.AppendUint16(be.AppendUint16(dst, r.Address), v)
	case FuncWriteMultipleCoils, FuncWriteMultipleRegisters:
		dst = be.AppendUint16(be.AppendUint16(dst, r.Address), r.Quantity)
	case FuncEncapsulatedInterface:
		more := byte(0x00)
		if r.MoreFollows {
			more = 0xFF
		}
		dst = append(dst, meiReadDeviceID, byte(r.DeviceIDCode), r.Conformity, more, r.NextObjectID, byte(len(r.Objects)))
		for _, o := range r.Objects {
			dst = append(dst, o.ID, byte(len(o.Value)))
			dst = append(dst, o.Value...)
		}
	}
	return dst
}

// AppendExceptionPDU appends the exception response to function f (§7).
func AppendExceptionPDU(dst []byte, f FunctionCode, code ExceptionCode) []byte {
	return append(dst, byte(f)|exceptionFlag, byte(code))
}

// DecodeResponse parses the response PDU to req. An exception response
// yields an *ExceptionError; a response that is not the answer to req
// (another function, a byte count or echo that does not fit) yields an error
// wrapping ErrMalformed.
func DecodeResponse(req *Request, pdu []byte) (Response, error) {
	if len(pdu) == 0 {
		return Response{}, malformed("empty response PDU")
	}
	f := FunctionCode(pdu[0])
	if f == req.Function|exceptionFlag {
		if len(pdu) != 2 {
			return Response{}, malformed("exception response to %s is %d bytes, want 2", req.Function, len(pdu))
		}
		return Response{}, &ExceptionError{Function: req.Function, Code: ExceptionCode(pdu[1])}
	}
	if f != req.Function {
		return Response{}, malformed("response function 0x%02X to request %s", byte(f), req.Function)
	}
	r := Response{Function: f}
	d := pdu[1:]
	be := binary.BigEndian
	switch f {
	case FuncReadCoils, FuncReadDiscreteInputs:
		want := (int(req.Quantity) + 7) / 8
		if len(d) < 1 || int(d[0]) != want || len(d) != 1+want {
			return r, malformed("%s of %d bits: byte count/length %d/%d, want %d", f, req.Quantity, safeByte(d), len(d)-1, want)
		}
		r.Bits = unpackBits(d[1:], int(req.Quantity))
	case FuncReadHoldingRegisters, FuncReadInputRegisters, FuncReadWriteMultipleRegisters:
		want := 2 * int(req.Quantity)
		if len(d) < 1 || int(d[0]) != want || len(d) != 1+want {
			return r, malformed("%s of %d registers: byte count/length %d/%d, want %d", f, req.Quantity, safeByte(d), len(d)-1, want)
		}
		r.Registers = readRegisters(d[1:])
	case FuncWriteSingleCoil, FuncWriteSingleRegister, FuncWriteMultipleCoils, FuncWriteMultipleRegisters:
		if len(d) != 4 {
			return r, malformed("%s response is %d bytes, want 5", f, len(pdu))
		}
		r.Address = be.Uint16(d)
		v := be.Uint16(d[2:])
		var echo bool
		switch f {
		case FuncWriteSingleCoil:
			r.Bits = []bool{v == coilOn}
			echo = (v == coilOn || v == coilOff) && len(req.Bits) == 1 && r.Bits[0] == req.Bits[0]
		case FuncWriteSingleRegister:
			r.Registers = []uint16{v}
			echo = len(req.Registers) == 1 && v == req.Registers[0]
		case FuncWriteMultipleCoils:
			r.Quantity = v
			echo = int(v) == len(req.Bits)
		default:
			r.Quantity = v
			echo = int(v) == len(req.Registers)
		}
		if !echo || r.Address != req.Address {
			return r, malformed("%s response echoes address %d value/quantity %d, not the request's", f, r.Address, v)
		}
	case FuncEncapsulatedInterface:
		return decodeDeviceID(req, d)
	default:
		return r, malformed("response to unsupported function %s", f)
	}
	return r, nil
}

func safeByte(d []byte) int {
	if len(d) == 0 {
		return -1
	}
	return int(d[0])
}

// decodeDeviceID parses the data of a read device identification response
// (§6.21): MEI type, code, conformity, more follows, next object id, number
// of objects, then (id, length, value) per object.
func decodeDeviceID(req *Request, d []byte) (Response, error) {
	r := Response{Function: FuncEncapsulatedInterface}
	if len(d) < 6 || d[0] != meiReadDeviceID {
		return r, malformed("read device identification response of %d bytes", len(d)+1)
	}
	r.DeviceIDCode, r.Conformity, r.NextObjectID = DeviceIDCode(d[1]), d[2], d[4]
	switch d[3] {
	case 0x00:
	case 0xFF:
		r.MoreFollows = true
	default:
		return r, malformed("read device identification: more follows 0x%02X, want 0x00 or 0xFF", d[3])
	}
	n := int(d[5])
	rest := d[6:]
	r.Objects = make([]DeviceObject, 0, n)
	for i := range n {
		if len(rest) < 2 || len(rest) < 2+int(rest[1]) {
			return r, malformed("read device identification: object %d of %d truncated", i+1, n)
		}
		l := int(rest[1])
		r.Objects = append(r.Objects, DeviceObject{ID: rest[0], Value: append([]byte(nil), rest[2:2+l]...)})
		rest = rest[2+l:]
	}
	if len(rest) != 0 {
		return r, malformed("read device identification: %d bytes after the last object", len(rest))
	}
	return r, nil
}
