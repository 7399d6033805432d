package modbus

import (
	"bufio"
	"encoding/binary"
	"io"
)

// Frame sizes.
const (
	MBAPHeaderLen = 7   // Modbus Messaging on TCP/IP V1.0b §3.1.3: transaction, protocol, length, unit
	MaxTCPADULen  = 260 // MBAP header + 253-byte PDU
	MaxRTUADULen  = 256 // Modbus over Serial Line V1.02 §2.5.1: address + PDU + CRC
)

// AppendTCPFrame appends a Modbus TCP ADU (MBAP header and PDU) to dst.
// The MBAP length field counts the unit id and the PDU; the protocol id is 0.
func AppendTCPFrame(dst []byte, txID uint16, unit byte, pdu []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, txID)
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(pdu)+1))
	dst = append(dst, unit)
	return append(dst, pdu...)
}

// DecodeTCPFrame splits one complete Modbus TCP ADU. The PDU aliases adu.
func DecodeTCPFrame(adu []byte) (txID uint16, unit byte, pdu []byte, err error) {
	if len(adu) < MBAPHeaderLen+1 {
		return 0, 0, nil, malformed("TCP frame of %d bytes, shorter than MBAP header and function", len(adu))
	}
	txID, length, err := checkMBAP(adu)
	if err != nil {
		return 0, 0, nil, err
	}
	if len(adu) != 6+length {
		return 0, 0, nil, malformed("TCP frame of %d bytes, MBAP length says %d", len(adu), 6+length)
	}
	return txID, adu[6], adu[MBAPHeaderLen:], nil
}

// checkMBAP validates the protocol id and length field of an MBAP header and
// returns the transaction id and the length (unit id + PDU).
func checkMBAP(h []byte) (txID uint16, length int, err error) {
	txID = binary.BigEndian.Uint16(h)
	if p := binary.BigEndian.Uint16(h[2:]); p != 0 {
		return txID, 0, malformed("MBAP protocol id %d, want 0", p)
	}
	length = int(binary.BigEndian.Uint16(h[4:]))
	if length < 2 || length > MaxPDULen+1 {
		return txID, 0, malformed("MBAP length %d outside 2..254", length)
	}
	return txID, length, nil
}

// tcpReader reads MBAP frames from a stream. A malformed header leaves the
// stream out of step: the connection must be closed.
type tcpReader struct {
	br  *bufio.Reader
	buf [MaxTCPADULen]byte
}

func newTCPReader(r io.Reader) *tcpReader { return &tcpReader{br: bufio.NewReaderSize(r, 4096)} }

// next returns the next ADU; it aliases the reader's buffer until the next call.
func (t *tcpReader) next() ([]byte, error) {
	if _, err := io.ReadFull(t.br, t.buf[:MBAPHeaderLen]); err != nil {
		return nil, err
	}
	_, length, err := checkMBAP(t.buf[:])
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(t.br, t.buf[MBAPHeaderLen:6+length]); err != nil {
		return nil, err
	}
	return t.buf[:6+length], nil
}

// crcTable is the table of the CRC-16/MODBUS (polynomial 0xA001 reflected),
// Modbus over Serial Line V1.02 §6.2.2.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC16 is the CRC of an RTU frame (Modbus over Serial Line V1.02 §2.5.1.2,
// §6.2.2): initial value 0xFFFF, sent low byte first.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, x := range b {
		crc = crc>>8 ^ crcTable[byte(crc)^x]
	}
	return crc
}

// AppendRTUFrame appends an RTU ADU (address, PDU, CRC low byte first) to dst.
func AppendRTUFrame(dst []byte, unit byte, pdu []byte) []byte {
	start := len(dst)
	dst = append(dst, unit)
	dst = append(dst, pdu...)
	return binary.LittleEndian.AppendUint16(dst, CRC16(dst[start:]))
}

// DecodeRTUFrame checks the CRC of one complete RTU ADU and splits it. The
// PDU aliases adu.
func DecodeRTUFrame(adu []byte) (unit byte, pdu []byte, err error) {
	if len(adu) < 4 {
		return 0, nil, malformed("RTU frame of %d bytes, shorter than 4", len(adu))
	}
	if len(adu) > MaxRTUADULen {
		return 0, nil, malformed("RTU frame of %d bytes, longer than %d", len(adu), MaxRTUADULen)
	}
	n := len(adu) - 2
	if got, want := binary.LittleEndian.Uint16(adu[n:]), CRC16(adu[:n]); got != want {
		return 0, nil, malformed("RTU frame CRC 0x%04X, computed 0x%04X", got, want)
	}
	return adu[0], adu[1:n], nil
}

// RTUFrameLen tells the length of the RTU frame at the start of b, from its
// function code: a request when request is true, else a response. It
// returns 0 when b is too short to tell, and -1 when the function code does
// not fix the length (an unknown function, whose end only the CRC or the
// line's silence shows). Modbus over Serial Line V1.02 §2.5.1.1 leaves the
// end of a frame to timing; on streams without timing (RTU over TCP, a pty)
// the length must come from the content.
func RTUFrameLen(b []byte, request bool) int {
	if len(b) < 2 {
		return 0
	}
	f := FunctionCode(b[1])
	need := func(n int, total func() int) int {
		if len(b) < n {
			return 0
		}
		return total()
	}
	if request {
		switch f {
		case FuncReadCoils, FuncReadDiscreteInputs, FuncReadHoldingRegisters, FuncReadInputRegisters,
			FuncWriteSingleCoil, FuncWriteSingleRegister:
			return 8
		case FuncWriteMultipleCoils, FuncWriteMultipleRegisters:
			return need(7, func() int { return 9 + int(b[6]) })
		case FuncReadWriteMultipleRegisters:
			return need(11, func() int { return 13 + int(b[10]) })
		case FuncEncapsulatedInterface:
			return 7
		}
		return -1
	}
	if f&exceptionFlag != 0 {
		return 5
	}
	switch f {
	case FuncReadCoils, FuncReadDiscreteInputs, FuncReadHoldingRegisters, FuncReadInputRegisters,
		FuncReadWriteMultipleRegisters:
		return need(3, func() int { return 5 + int(b[2]) })
	case FuncWriteSingleCoil, FuncWriteSingleRegister, FuncWriteMultipleCoils, FuncWriteMultipleRegisters:
		return 8
	case FuncEncapsulatedInterface:
		// address, 0x2B, 0x0E, code, conformity, more, next, count, objects…, CRC
		if len(b) < 8 {
			return 0
		}
		pos := 8
		for range int(b[7]) {
			if len(b) < pos+2 {
				return 0
			}
			pos += 2 + int(b[pos+1])
			if pos > MaxRTUADULen {
				return -1
			}
		}
		return pos + 2
	}
	return -1
}

// rtuReader reads RTU frames from a stream without timing. When a frame's
// CRC fails it drops one byte and looks again, so it finds the next good
// frame after line noise or a partial frame.
type rtuReader struct {
	r       io.Reader
	request bool
	buf     []byte
	n       int
	skipped int // bytes dropped while resynchronising, since the last frame
}

func newRTUReader(r io.Reader, request bool) *rtuReader {
	return &rtuReader{r: r, request: request, buf: make([]byte, 2*MaxRTUADULen)}
}

// reset forgets buffered bytes (after a timeout, when they are stale).
func (rr *rtuReader) reset() { rr.n = 0 }

// next returns the next frame with a good CRC.
func (rr *rtuReader) next() ([]byte, error) {
	for {
		if frame, ok := rr.frame(); ok {
			return frame, nil
		}
		if rr.n == len(rr.buf) { // cannot happen with the drop rule below; stay safe
			rr.drop(1)
		}
		m, err := rr.r.Read(rr.buf[rr.n:])
		rr.n += m
		if err != nil && m == 0 {
			return nil, err
		}
	}
}

// frame extracts a complete frame from the buffer, dropping bytes that
// cannot start one.
func (rr *rtuReader) frame() ([]byte, bool) {
	for rr.n > 0 {
		b := rr.buf[:rr.n]
		l := RTUFrameLen(b, rr.request)
		if l > MaxRTUADULen || (l < 0 && !rr.request) { // a client expects only known functions
			rr.drop(1)
			continue
		}
		if l > 0 && len(b) >= l {
			if _, _, err := DecodeRTUFrame(b[:l]); err == nil {
				return rr.take(l), true
			}
			rr.drop(1)
			continue
		}
		if l < 0 { // a request of an unknown function: the first prefix whose CRC checks
			if k := crcPrefix(b); k > 0 {
				return rr.take(k), true
			}
			if len(b) >= MaxRTUADULen {
				rr.drop(1)
				continue
			}
		}
		// Incomplete: if a complete frame starts further on, the head is noise.
		if k := rr.frameAfterNoise(); k > 0 {
			rr.drop(k)
			continue
		}
		return nil, false
	}
	return nil, false
}

// crcPrefix returns the length of the shortest prefix of b, 4 to
// MaxRTUADULen bytes, that ends in the CRC of the bytes before it, or 0.
// One pass: the CRC is carried forward.
func crcPrefix(b []byte) int {
	crc := uint16(0xFFFF) // CRC of b[:j]
	for j := 0; j+2 <= len(b) && j+2 <= MaxRTUADULen; j++ {
		if j >= 2 && crc == uint16(b[j])|uint16(b[j+1])<<8 {
			return j + 2
		}
		crc = crc>>8 ^ crcTable[byte(crc)^b[j]]
	}
	return 0
}

// frameAfterNoise returns the offset of the first complete frame of known
// length with a good CRC after the start of the buffer, or 0.
func (rr *rtuReader) frameAfterNoise() int {
	b := rr.buf[:rr.n]
	for k := 1; k+4 <= len(b); k++ {
		l := RTUFrameLen(b[k:], rr.request)
		if l >= 4 && l <= MaxRTUADULen && k+l <= len(b) {
			if _, _, err := DecodeRTUFrame(b[k : k+l]); err == nil {
				return k
			}
		}
	}
	return 0
}

func (rr *rtuReader) drop(k int) {
	copy(rr.buf, rr.buf[k:rr.n])
	rr.n -= k
	rr.skipped += k
}

// take returns a copy of the first l bytes and removes them from the buffer.
func (rr *rtuReader) take(l int) []byte {
	frame := make([]byte, l)
	copy(frame, rr.buf[:l])
	copy(rr.buf, rr.buf[l:rr.n])
	rr.n -= l
	rr.skipped = 0
	return frame
}
