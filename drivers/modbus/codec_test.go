package modbus

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestEncodeVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			var got []byte
			var err error
			switch {
			case v.exc != nil:
				got = AppendExceptionPDU(nil, v.exc.Function, v.exc.Code)
			case v.resp != nil:
				got = v.resp.AppendPDU(nil)
			default:
				got, err = v.req.AppendPDU(nil)
			}
			if err != nil {
				t.Fatalf("encode (%s): %v", v.spec, err)
			}
			if !bytes.Equal(got, v.pdu) {
				t.Fatalf("encode (%s):\n got % X\nwant % X", v.spec, got, v.pdu)
			}
			if v.tcp != nil {
				if got := AppendTCPFrame(nil, v.tx, v.unit, v.pdu); !bytes.Equal(got, v.tcp) {
					t.Errorf("TCP frame:\n got % X\nwant % X", got, v.tcp)
				}
			}
			if v.rtu != nil {
				if got := AppendRTUFrame(nil, v.unit, v.pdu); !bytes.Equal(got, v.rtu) {
					t.Errorf("RTU frame:\n got % X\nwant % X", got, v.rtu)
				}
			}
			if v.resp == nil && v.exc == nil {
				if n := v.req.PDULen(); n != len(v.pdu) {
					t.Errorf("PDULen = %d, want %d", n, len(v.pdu))
				}
			}
			if v.resp != nil && v.req.ResponsePDULen() >= 0 {
				if n := v.req.ResponsePDULen(); n != len(v.pdu) {
					t.Errorf("ResponsePDULen = %d, want %d", n, len(v.pdu))
				}
			}
		})
	}
}

func TestDecodeVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			isReq := v.resp == nil && v.exc == nil
			switch {
			case v.exc != nil:
				_, err := DecodeResponse(v.req, v.pdu)
				var ee *ExceptionError
				if !errors.As(err, &ee) || *ee != *v.exc {
					t.Fatalf("decode (%s) = %v, want %v", v.spec, err, v.exc)
				}
				if !errors.Is(err, v.exc.Code) {
					t.Errorf("errors.Is(err, %v) is false", v.exc.Code)
				}
			case v.resp != nil:
				got, err := DecodeResponse(v.req, v.pdu)
				if err != nil {
					t.Fatalf("decode (%s): %v", v.spec, err)
				}
				if !reflect.DeepEqual(got, *v.resp) {
					t.Fatalf("decode (%s):\n got %+v\nwant %+v", v.spec, got, *v.resp)
				}
			default:
				got, err := DecodeRequest(v.pdu)
				if err != nil {
					t.Fatalf("decode (%s): %v", v.spec, err)
				}
				if !reflect.DeepEqual(got, *v.req) {
					t.Fatalf("decode (%s):\n got %+v\nwant %+v", v.spec, got, *v.req)
				}
			}
			if v.tcp != nil {
				tx, unit, pdu, err := DecodeTCPFrame(v.tcp)
				if err != nil || tx != v.tx || unit != v.unit || !bytes.Equal(pdu, v.pdu) {
					t.Errorf("DecodeTCPFrame = %d, %d, % X, %v; want %d, %d, % X", tx, unit, pdu, err, v.tx, v.unit, v.pdu)
				}
			}
			// Every vector, framed as RTU, has the length its function code says.
			adu := AppendRTUFrame(nil, v.unit, v.pdu)
			if n := RTUFrameLen(adu, isReq); n != len(adu) {
				t.Errorf("RTUFrameLen(request=%v) = %d, want %d", isReq, n, len(adu))
			}
			if n := RTUFrameLen(adu[:1], isReq); n != 0 {
				t.Errorf("RTUFrameLen of 1 byte = %d, want 0 (need more)", n)
			}
			unit, pdu, err := DecodeRTUFrame(adu)
			if err != nil || unit != v.unit || !bytes.Equal(pdu, v.pdu) {
				t.Errorf("DecodeRTUFrame = %d, % X, %v", unit, pdu, err)
			}
			// The stream reader finds the frame behind noise.
			rr := newRTUReader(bytes.NewReader(append([]byte{0x00, 0xFF}, adu...)), isReq)
			if got, err := rr.next(); err != nil || !bytes.Equal(got, adu) {
				t.Errorf("rtuReader.next after noise = % X, %v; want % X", got, err, adu)
			}
		})
	}
}

func TestCRC16(t *testing.T) {
	// The CRC-16/MODBUS check value (the CRC of "123456789").
	if got := CRC16([]byte("123456789")); got != 0x4B37 {
		t.Fatalf("CRC16(123456789) = 0x%04X, want 0x4B37", got)
	}
}

func TestRequestLimits(t *testing.T) {
	regs := func(n int) []uint16 { return make([]uint16, n) }
	cases := []struct {
		name string
		req  Request
		ok   bool
	}{
		{"read 2000 coils", Request{Function: FuncReadCoils, Quantity: 2000}, true},
		{"read 2001 coils", Request{Function: FuncReadCoils, Quantity: 2001}, false},
		{"read 0 discrete inputs", Request{Function: FuncReadDiscreteInputs, Quantity: 0}, false},
		{"read 125 holding registers", Request{Function: FuncReadHoldingRegisters, Quantity: 125}, true},
		{"read 126 holding registers", Request{Function: FuncReadHoldingRegisters, Quantity: 126}, false},
		{"read 126 input registers", Request{Function: FuncReadInputRegisters, Quantity: 126}, false},
		{"read last register 65535", Request{Function: FuncReadInputRegisters, Address: 65535, Quantity: 1}, true},
		{"read past register 65535", Request{Function: FuncReadInputRegisters, Address: 65535, Quantity: 2}, false},
		{"read coils past 65535", Request{Function: FuncReadCoils, Address: 65000, Quantity: 1000}, false},
		{"write 123 registers", Request{Function: FuncWriteMultipleRegisters, Registers: regs(123)}, true},
		{"write 124 registers", Request{Function: FuncWriteMultipleRegisters, Registers: regs(124)}, false},
		{"write 0 registers", Request{Function: FuncWriteMultipleRegisters}, false},
		{"write registers past 65535", Request{Function: FuncWriteMultipleRegisters, Address: 65534, Registers: regs(3)}, false},
		{"write 1968 coils", Request{Function: FuncWriteMultipleCoils, Bits: make([]bool, 1968)}, true},
		{"write 1969 coils", Request{Function: FuncWriteMultipleCoils, Bits: make([]bool, 1969)}, false},
		{"write single coil without value", Request{Function: FuncWriteSingleCoil}, false},
		{"write single register with two values", Request{Function: FuncWriteSingleRegister, Registers: regs(2)}, false},
		{"FC23 read 125 write 121", Request{Function: FuncReadWriteMultipleRegisters, Quantity: 125, Registers: regs(121)}, true},
		{"FC23 read 126", Request{Function: FuncReadWriteMultipleRegisters, Quantity: 126, Registers: regs(1)}, false},
		{"FC23 write 122", Request{Function: FuncReadWriteMultipleRegisters, Quantity: 1, Registers: regs(122)}, false},
		{"FC43 code 0", Request{Function: FuncEncapsulatedInterface}, false},
		{"FC43 code 4", Request{Function: FuncEncapsulatedInterface, DeviceIDCode: DeviceIDSpecific}, true},
		{"unsupported function 0x08", Request{Function: 0x08}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pdu, err := c.req.AppendPDU(nil)
			if c.ok {
				if err != nil || len(pdu) != c.req.PDULen() {
					t.Fatalf("AppendPDU = % X, %v; want %d bytes, no error", pdu, err, c.req.PDULen())
				}
				return
			}
			if !errors.Is(err, ErrInvalidRequest) || len(pdu) != 0 {
				t.Fatalf("AppendPDU = % X, %v; want nothing and ErrInvalidRequest", pdu, err)
			}
		})
	}
}

func TestDecodeRequestRefusals(t *testing.T) {
	cases := []struct {
		name string
		pdu  []byte
		want ExceptionCode
	}{
		{"unknown function 0x08 diagnostics", []byte{0x08, 0x00, 0x00, 0x12, 0x34}, IllegalFunction},
		{"read 0 registers", []byte{0x03, 0x00, 0x00, 0x00, 0x00}, IllegalDataValue},
		{"read 126 registers", []byte{0x03, 0x00, 0x00, 0x00, 0x7E}, IllegalDataValue},
		{"read 2001 coils", []byte{0x01, 0x00, 0x00, 0x07, 0xD1}, IllegalDataValue},
		{"coil value 0x1234", []byte{0x05, 0x00, 0x00, 0x12, 0x34}, IllegalDataValue},
		{"FC16 byte count does not match quantity", []byte{0x10, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x01}, IllegalDataValue},
		{"FC15 truncated", []byte{0x0F, 0x00, 0x00, 0x00, 0x0A, 0x02, 0xCD}, IllegalDataValue},
		{"FC23 write 122", append([]byte{0x17, 0, 0, 0, 1, 0, 0, 0, 122, 244}, make([]byte, 244)...), IllegalDataValue},
		{"FC43 bad MEI type", []byte{0x2B, 0x0D, 0x01, 0x00}, IllegalDataValue},
		{"FC43 read device id code 5", []byte{0x2B, 0x0E, 0x05, 0x00}, IllegalDataValue},
		{"FC03 short", []byte{0x03, 0x00}, IllegalDataValue},
		{"FC03 past address 65535", []byte{0x03, 0xFF, 0xFF, 0x00, 0x30}, IllegalDataAddress},
		{"FC16 past address 65535", []byte{0x10, 0xFF, 0xFF, 0x00, 0x02, 0x04, 0, 1, 0, 2}, IllegalDataAddress},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeRequest(c.pdu)
			var ee *ExceptionError
			if !errors.As(err, &ee) || ee.Code != c.want || ee.Function != FunctionCode(c.pdu[0]) {
				t.Fatalf("DecodeRequest = %v, want exception %v to 0x%02X", err, c.want, c.pdu[0])
			}
		})
	}
}

func TestDecodeResponseMalformed(t *testing.T) {
	cases := []struct {
		name string
		req  *Request
		pdu  []byte
	}{
		{"empty", reqTenRegs, nil},
		{"other function", reqTenRegs, []byte{0x04, 0x02, 0x00, 0x01}},
		{"byte count short of quantity", reqReadHolding, []byte{0x03, 0x04, 0, 1, 0, 2}},
		{"byte count says more than sent", reqReadHolding, []byte{0x03, 0x06, 0, 1, 0, 2}},
		{"coils byte count wrong", reqReadCoils, []byte{0x01, 0x02, 0xCD, 0x6B}},
		{"FC06 echo of another value", reqWriteReg, []byte{0x06, 0x00, 0x01, 0x00, 0x04}},
		{"FC05 echo of another address", reqWriteCoil, []byte{0x05, 0x00, 0xAD, 0xFF, 0x00}},
		{"FC05 echo with invalid value", reqWriteCoil, []byte{0x05, 0x00, 0xAC, 0x12, 0x34}},
		{"FC16 echo of another quantity", reqWriteRegs, []byte{0x10, 0x00, 0x01, 0x00, 0x03}},
		{"exception of 3 bytes", reqTenRegs, []byte{0x83, 0x02, 0x00}},
		{"FC43 object truncated", reqDeviceID, []byte{0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x05, 'a'}},
		{"FC43 bytes after objects", reqDeviceID, []byte{0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x00, 0x99}},
		{"FC43 more follows 0x01", reqDeviceID, []byte{0x2B, 0x0E, 0x01, 0x01, 0x01, 0x00, 0x00}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r, err := DecodeResponse(c.req, c.pdu); !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeResponse = %+v, %v; want ErrMalformed", r, err)
			}
		})
	}
}

func TestDecodeFramesMalformed(t *testing.T) {
	cases := []struct {
		name string
		tcp  bool
		adu  []byte
	}{
		{"TCP protocol id 1", true, []byte{0, 1, 0, 1, 0, 2, 1, 3}},
		{"TCP length 1", true, []byte{0, 1, 0, 0, 0, 1, 1, 3}},
		{"TCP length beyond frame", true, []byte{0, 1, 0, 0, 0, 6, 1, 3, 0}},
		{"TCP length 255", true, append([]byte{0, 1, 0, 0, 0, 255, 1}, make([]byte, 254)...)},
		{"TCP too short", true, []byte{0, 1, 0, 0, 0}},
		{"RTU bad CRC", false, []byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCE}},
		{"RTU too short", false, []byte{0x01, 0x03, 0x00}},
		{"RTU too long", false, make([]byte, 257)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.tcp {
				_, _, _, err = DecodeTCPFrame(c.adu)
			} else {
				_, _, err = DecodeRTUFrame(c.adu)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestExceptionErrorMatching(t *testing.T) {
	err := error(&ExceptionError{Function: FuncReadHoldingRegisters, Code: ServerBusy})
	cases := []struct {
		name   string
		target error
		want   bool
	}{
		{"same code", ServerBusy, true},
		{"other code", IllegalDataAddress, false},
		{"same code and function", &ExceptionError{Function: FuncReadHoldingRegisters, Code: ServerBusy}, true},
		{"same code, any function", &ExceptionError{Code: ServerBusy}, true},
		{"same code, other function", &ExceptionError{Function: FuncReadCoils, Code: ServerBusy}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := errors.Is(err, c.target); got != c.want {
				t.Fatalf("errors.Is(%v, %v) = %v, want %v", err, c.target, got, c.want)
			}
		})
	}
	if got, want := err.Error(), "modbus exception 0x06 (server device busy) to function 03 read holding registers"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestTiming(t *testing.T) {
	cases := []struct {
		name              string
		baud, bits        int
		char, t35, t15    time.Duration
		exchange          time.Duration // FC03 of 10 registers: 8-byte request, 25-byte response
		exchangeTolerance time.Duration
	}{
		// 11 bits at 9600 baud: 1145.833 µs per character; t3.5 = 4010.417 µs.
		{"9600 baud 11 bits", 9600, 11, 1145833 * time.Nanosecond, 4010416 * time.Nanosecond, 1718750 * time.Nanosecond,
			33*1145833*time.Nanosecond + 2*4010416*time.Nanosecond, 100 * time.Nanosecond},
		{"19200 baud 11 bits", 19200, 11, 572916 * time.Nanosecond, 2005208 * time.Nanosecond, 859375 * time.Nanosecond,
			33*572916*time.Nanosecond + 2*2005208*time.Nanosecond, 100 * time.Nanosecond},
		// Above 19200 baud t3.5 and t1.5 are fixed (Serial Line V1.02 §2.5.1.1).
		{"38400 baud 11 bits", 38400, 11, 286458 * time.Nanosecond, 1750 * time.Microsecond, 750 * time.Microsecond,
			33*286458*time.Nanosecond + 2*1750*time.Microsecond, 100 * time.Nanosecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := CharTime(c.baud, c.bits); got != c.char {
				t.Errorf("CharTime = %v, want %v", got, c.char)
			}
			if got := T35(c.baud, c.bits); got != c.t35 {
				t.Errorf("T35 = %v, want %v", got, c.t35)
			}
			if got := T15(c.baud, c.bits); got != c.t15 {
				t.Errorf("T15 = %v, want %v", got, c.t15)
			}
			got := RTUExchangeTime(reqTenRegs, c.baud, c.bits)
			if d := got - c.exchange; d < -c.exchangeTolerance || d > c.exchangeTolerance {
				t.Errorf("RTUExchangeTime = %v, want %v", got, c.exchange)
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		name    string
		url     string
		want    Target
		wantErr bool
	}{
		{"tcp", "tcp://10.0.0.20:502", Target{Scheme: "tcp", Addr: "10.0.0.20:502"}, false},
		{"tcp default port", "tcp://plc.local", Target{Scheme: "tcp", Addr: "plc.local:502"}, false},
		{"rtu over tcp", "rtutcp://10.0.0.21:4001", Target{Scheme: "rtutcp", Addr: "10.0.0.21:4001"}, false},
		{"rtu defaults 9600 8E1", "rtu:///dev/ttyUSB0", Target{Scheme: "rtu", Addr: "/dev/ttyUSB0", Serial: SerialConfig{9600, 8, 'E', 1}}, false},
		{"rtu 19200 8N2", "rtu:///dev/ttyS1?baud=19200&parity=n&stop=2", Target{Scheme: "rtu", Addr: "/dev/ttyS1", Serial: SerialConfig{19200, 8, 'N', 2}}, false},
		{"rtu bad parity", "rtu:///dev/ttyS1?parity=X", Target{}, true},
		{"rtu unknown parameter", "rtu:///dev/ttyS1?speed=9600", Target{}, true},
		{"rtu no path", "rtu://", Target{}, true},
		{"udp scheme", "udp://1.2.3.4:502", Target{}, true},
		{"tcp no host", "tcp://", Target{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseURL(c.url)
			if c.wantErr {
				if err == nil {
					t.Fatalf("ParseURL(%q) = %+v, want an error", c.url, got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseURL(%q) = %+v, %v; want %+v", c.url, got, err, c.want)
			}
		})
	}
	if got := (SerialConfig{9600, 8, 'E', 1}).BitsPerChar(); got != 11 {
		t.Errorf("8E1 BitsPerChar = %d, want 11", got)
	}
	if got := (SerialConfig{9600, 8, 'N', 1}).BitsPerChar(); got != 10 {
		t.Errorf("8N1 BitsPerChar = %d, want 10", got)
	}
}

func TestCRCPrefix(t *testing.T) {
	frame := AppendRTUFrame(nil, 1, []byte{0x08, 0x00, 0x00, 0x12, 0x34}) // diagnostics: length unknown to RTUFrameLen
	cases := []struct {
		name string
		b    []byte
		want int
	}{
		{"exact frame", frame, len(frame)},
		{"frame and more", append(append([]byte(nil), frame...), 1, 2, 3), len(frame)},
		{"truncated", frame[:len(frame)-1], 0},
		{"too short", []byte{1, 2, 3}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := crcPrefix(c.b); got != c.want {
				t.Fatalf("crcPrefix(% X) = %d, want %d", c.b, got, c.want)
			}
		})
	}
	// The server reader takes an unknown function's frame by its CRC.
	rr := newRTUReader(bytes.NewReader(frame), true)
	if got, err := rr.next(); err != nil || !bytes.Equal(got, frame) {
		t.Fatalf("rtuReader.next = % X, %v; want % X", got, err, frame)
	}
}
