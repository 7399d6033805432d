package modbus

import "time"

// BitsPerChar11 is the length of an RTU character on the wire: 1 start bit,
// 8 data bits, 1 parity bit and 1 stop bit, or no parity and 2 stop bits
// (Modbus over Serial Line V1.02 §2.5.1).
const BitsPerChar11 = 11

// Fixed timings above 19200 baud (Modbus over Serial Line V1.02 §2.5.1.1).
const (
	fastT15 = 750 * time.Microsecond
	fastT35 = 1750 * time.Microsecond
)

// CharTime is the time one character of bitsPerChar bits takes on a line of
// baud bits per second.
func CharTime(baud, bitsPerChar int) time.Duration {
	if baud <= 0 {
		return 0
	}
	return time.Duration(int64(bitsPerChar) * int64(time.Second) / int64(baud))
}

// T35 is the silence that separates RTU frames: 3.5 character times, or a
// fixed 1.75 ms above 19200 baud (Modbus over Serial Line V1.02 §2.5.1.1).
func T35(baud, bitsPerChar int) time.Duration {
	if baud <= 0 {
		return 0
	}
	if baud > 19200 {
		return fastT35
	}
	return time.Duration(7 * int64(bitsPerChar) * int64(time.Second) / (2 * int64(baud)))
}

// T15 is the longest silence allowed inside an RTU frame: 1.5 character
// times, or a fixed 0.75 ms above 19200 baud (§2.5.1.1).
func T15(baud, bitsPerChar int) time.Duration {
	if baud <= 0 {
		return 0
	}
	if baud > 19200 {
		return fastT15
	}
	return time.Duration(3 * int64(bitsPerChar) * int64(time.Second) / (2 * int64(baud)))
}

// RTUFrameTime is the wire time of one RTU frame of pduLen PDU bytes
// (address and CRC added) followed by its t3.5 silence.
func RTUFrameTime(baud, bitsPerChar, pduLen int) time.Duration {
	return time.Duration(pduLen+3)*CharTime(baud, bitsPerChar) + T35(baud, bitsPerChar)
}

// RTUExchangeTime is the wire time of req and its normal response on a
// serial line, each followed by its t3.5 silence; the server's processing
// time is not included. For FC43/14, whose response length is unknown in
// advance, the response is counted as a full 256-byte frame.
func RTUExchangeTime(req *Request, baud, bitsPerChar int) time.Duration {
	resp := req.ResponsePDULen()
	if resp < 0 {
		resp = MaxPDULen
	}
	return RTUFrameTime(baud, bitsPerChar, req.PDULen()) + RTUFrameTime(baud, bitsPerChar, resp)
}
