package modbus

import (
	"errors"
	"fmt"
)

// ExceptionCode is the code of a Modbus exception response
// (Modbus V1.1b3 §7). An ExceptionCode is itself an error, so that
// errors.Is(err, modbus.ServerBusy) matches any *ExceptionError carrying it.
type ExceptionCode byte

// The exception codes of Modbus V1.1b3 §7.
const (
	IllegalFunction        ExceptionCode = 0x01
	IllegalDataAddress     ExceptionCode = 0x02
	IllegalDataValue       ExceptionCode = 0x03
	ServerDeviceFailure    ExceptionCode = 0x04
	Acknowledge            ExceptionCode = 0x05
	ServerBusy             ExceptionCode = 0x06
	MemoryParityError      ExceptionCode = 0x08
	GatewayPathUnavailable ExceptionCode = 0x0A
	GatewayTargetFailed    ExceptionCode = 0x0B // "gateway target device failed to respond"
)

func (c ExceptionCode) String() string {
	switch c {
	case IllegalFunction:
		return "illegal function"
	case IllegalDataAddress:
		return "illegal data address"
	case IllegalDataValue:
		return "illegal data value"
	case ServerDeviceFailure:
		return "server device failure"
	case Acknowledge:
		return "acknowledge"
	case ServerBusy:
		return "server device busy"
	case MemoryParityError:
		return "memory parity error"
	case GatewayPathUnavailable:
		return "gateway path unavailable"
	case GatewayTargetFailed:
		return "gateway target device failed to respond"
	}
	return fmt.Sprintf("exception 0x%02X", byte(c))
}

// Error makes an ExceptionCode usable as a target of errors.Is.
func (c ExceptionCode) Error() string { return "modbus exception: " + c.String() }

// ExceptionError is a Modbus exception response: the server understood the
// request and refused it (Modbus V1.1b3 §7). Function is the function code
// of the request, without the 0x80 flag.
type ExceptionError struct {
	Function FunctionCode
	Code     ExceptionCode
}

func (e *ExceptionError) Error() string {
	return fmt.Sprintf("modbus exception 0x%02X (%s) to function %s", byte(e.Code), e.Code.String(), e.Function)
}

// Is reports whether target is this exception's code, or an *ExceptionError
// with the same code (and the same function, when target names one).
func (e *ExceptionError) Is(target error) bool {
	switch t := target.(type) {
	case ExceptionCode:
		return t == e.Code
	case *ExceptionError:
		return t.Code == e.Code && (t.Function == 0 || t.Function == e.Function)
	}
	return false
}

// Errors a Client returns, to be tested with errors.Is. Each is wrapped with
// what was being done to which unit.
var (
	// ErrTimeout: no matching response arrived before the request's deadline.
	// Errors wrapping it also match context.DeadlineExceeded.
	ErrTimeout = errors.New("modbus: no response before deadline")
	// ErrConnection: the connection could not be opened or broke; the client
	// reconnects on a later request, after its backoff.
	ErrConnection = errors.New("modbus: connection failed")
	// ErrMalformed: a response (or frame) that does not follow the protocol.
	ErrMalformed = errors.New("modbus: malformed frame")
	// ErrInvalidRequest: the request breaks a protocol limit and was not sent.
	ErrInvalidRequest = errors.New("modbus: invalid request")
	// ErrClosed: the Client or Server was closed.
	ErrClosed = errors.New("modbus: closed")
)
