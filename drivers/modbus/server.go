package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// UnknownUnit says what a TCP server answers to a unit it does not have.
type UnknownUnit int

const (
	// UnknownUnitIgnore: no answer, like a serial line where nobody has
	// that address; the client times out.
	UnknownUnitIgnore UnknownUnit = iota
	// UnknownUnitGatewayFailed: exception GatewayTargetFailed (0x0B), as a
	// TCP-to-serial gateway answers (Modbus V1.1b3 §7).
	UnknownUnitGatewayFailed
)

// ServerConfig tunes a Server. The zero value is usable.
type ServerConfig struct {
	// UnknownUnit is the answer, over TCP and RTU over TCP, to a request for
	// a unit the server does not have. On a serial line there is never one.
	UnknownUnit UnknownUnit
	// Logger receives debug records of refused frames. Default: discard.
	Logger *slog.Logger
}

// WriteEvent tells a Unit's OnWrite hook what a request changed.
type WriteEvent struct {
	Unit    byte
	Table   Table // Coils or HoldingRegisters
	Address uint16
	Count   int
}

// Unit is one unit (slave) of a Server: its Bank, its identification and
// the faults a test or simulator injects. The fault setters are safe to
// call while the server runs.
type Unit struct {
	ID   byte
	Bank *Bank
	// DeviceID holds the objects served by FC43/14, in ascending id order
	// (0x00 vendor name, 0x01 product code, 0x02 revision are the basic
	// ones). Empty: the unit answers FC43 with IllegalFunction.
	DeviceID []DeviceObject
	// OnWrite, if set, is called after a write request changed the bank,
	// from the goroutine serving the request and before it is answered.
	// It must be set before the server serves the unit.
	OnWrite func(WriteEvent)

	delay     atomic.Int64  // ns to wait before answering
	offline   atomic.Bool   // do not answer at all
	exception atomic.Uint32 // ExceptionCode to answer every request with; 0 = none
}

// SetDelay makes the unit wait d before it answers each request.
func (u *Unit) SetDelay(d time.Duration) { u.delay.Store(int64(d)) }

// SetOffline makes the unit ignore every request (true) or answer again.
func (u *Unit) SetOffline(off bool) { u.offline.Store(off) }

// ForceException makes the unit answer every request with code; 0 stops it.
func (u *Unit) ForceException(code ExceptionCode) { u.exception.Store(uint32(code)) }

// Server serves the units it holds over any number of TCP, RTU-over-TCP
// and serial links. Requests on one link are answered in order.
type Server struct {
	cfg ServerConfig
	log *slog.Logger

	ctx    context.Context // ends at Close: stops delays
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	units   map[byte]*Unit
	closers map[io.Closer]struct{} // listeners and links, closed by Close
	closed  bool
}

// NewServer returns a Server without units.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel,
		units: map[byte]*Unit{}, closers: map[io.Closer]struct{}{}}
}

// AddUnit adds (or replaces) unit id with its bank and returns it.
func (s *Server) AddUnit(id byte, bank *Bank) *Unit {
	u := &Unit{ID: id, Bank: bank}
	s.mu.Lock()
	s.units[id] = u
	s.mu.Unlock()
	return u
}

// Unit returns unit id, or nil.
func (s *Server) Unit(id byte) *Unit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.units[id]
}

func (s *Server) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.closers[c] = struct{}{}
	return true
}

func (s *Server) untrack(c io.Closer) {
	s.mu.Lock()
	delete(s.closers, c)
	s.mu.Unlock()
}

// Close stops every listener and link and waits for their goroutines. It
// is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	cs := make([]io.Closer, 0, len(s.closers))
	for c := range s.closers {
		cs = append(cs, c)
	}
	clear(s.closers)
	s.mu.Unlock()
	s.cancel()
	var errs []error
	for _, c := range cs {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// ListenTCP serves Modbus TCP (MBAP framing) on addr, such as
// "127.0.0.1:0", and returns the bound address.
func (s *Server) ListenTCP(addr string) (net.Addr, error) { return s.listen(addr, false) }

// ListenRTUOverTCP serves RTU frames on TCP connections, as a serial
// device server would pass them through, and returns the bound address.
func (s *Server) ListenRTUOverTCP(addr string) (net.Addr, error) { return s.listen(addr, true) }

func (s *Server) listen(addr string, rtu bool) (net.Addr, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("modbus server: listen on %s: %w", addr, err)
	}
	if !s.track(l) {
		_ = l.Close()
		return nil, fmt.Errorf("modbus server: listen on %s: %w", addr, ErrClosed)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				s.untrack(l)
				return
			}
			if !s.track(c) {
				_ = c.Close()
				return
			}
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetNoDelay(true)
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer s.untrack(c)
				defer c.Close()
				if rtu {
					s.serveRTU(c, 0, true)
				} else {
					s.serveTCP(c)
				}
			}()
		}
	}()
	return l.Addr(), nil
}

// ServeRTU serves RTU frames on rw (a serial port, one end of a
// pseudo-terminal, a pipe) in a goroutine of the server, until rw fails or
// the server closes; Close closes rw if it is an io.Closer. silence is the
// t3.5 to keep after a request before answering (see T35); 0 for links
// without line timing. As on any serial line, unknown units and broadcasts
// (unit 0, writes only) get no answer.
func (s *Server) ServeRTU(rw io.ReadWriter, silence time.Duration) error {
	if c, ok := rw.(io.Closer); ok && !s.track(c) {
		return fmt.Errorf("modbus server: serve RTU: %w", ErrClosed)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if c, ok := rw.(io.Closer); ok {
			defer s.untrack(c)
		}
		s.serveRTU(rw, silence, false)
	}()
	return nil
}

func (s *Server) serveTCP(c net.Conn) {
	r := newTCPReader(c)
	out := make([]byte, 0, MaxTCPADULen)
	for {
		frame, err := r.next()
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				s.log.Debug("modbus server: closing connection after malformed frame", "remote", c.RemoteAddr().String(), "err", err)
			}
			return
		}
		txID, unit, pdu, _ := DecodeTCPFrame(frame)
		resp, ok := s.handle(unit, pdu, out[MBAPHeaderLen:MBAPHeaderLen], true)
		if !ok {
			continue
		}
		out = AppendTCPFrame(out[:0], txID, unit, resp)
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (s *Server) serveRTU(rw io.ReadWriter, silence time.Duration, overTCP bool) {
	r := newRTUReader(rw, true)
	out := make([]byte, 0, MaxRTUADULen+MaxPDULen)
	for {
		frame, err := r.next()
		if err != nil {
			return
		}
		if r.skipped > 0 {
			s.log.Debug("modbus server: skipped bytes before RTU frame", "bytes", r.skipped)
		}
		unit, pdu, _ := DecodeRTUFrame(frame)
		resp, ok := s.handle(unit, pdu, out[1:1], overTCP)
		if !ok || unit == 0 {
			continue
		}
		out = AppendRTUFrame(out[:0], unit, resp)
		if silence > 0 && !s.wait(silence) {
			return
		}
		if _, err := rw.Write(out); err != nil {
			return
		}
	}
}

// wait waits d or until the server closes; it reports whether to go on.
func (s *Server) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// handle serves one request PDU for unit and appends the response PDU to
// dst; ok is false when nothing is to be answered. tcp selects the
// unknown-unit policy.
func (s *Server) handle(unit byte, pdu []byte, dst []byte, tcp bool) (resp []byte, ok bool) {
	if len(pdu) == 0 {
		return nil, false
	}
	f := FunctionCode(pdu[0])
	s.mu.Lock()
	u := s.units[unit]
	var all []*Unit
	if unit == 0 && !tcp && u == nil {
		for _, x := range s.units {
			all = append(all, x)
		}
	}
	s.mu.Unlock()
	if all != nil { // serial broadcast: every unit executes writes, none answers (Serial Line V1.02 §2.1)
		if req, err := DecodeRequest(pdu); err == nil && isWrite(req.Function) {
			for _, x := range all {
				_, _ = x.execute(&req)
			}
		}
		return nil, false
	}
	if u == nil {
		if tcp && s.cfg.UnknownUnit == UnknownUnitGatewayFailed {
			return AppendExceptionPDU(dst, f, GatewayTargetFailed), true
		}
		return nil, false
	}
	if u.offline.Load() {
		return nil, false
	}
	if d := time.Duration(u.delay.Load()); d > 0 && !s.wait(d) {
		return nil, false
	}
	if code := ExceptionCode(u.exception.Load()); code != 0 {
		return AppendExceptionPDU(dst, f, code), true
	}
	req, err := DecodeRequest(pdu)
	if err == nil {
		var r Response
		if r, err = u.execute(&req); err == nil {
			return r.AppendPDU(dst), true
		}
	}
	var code ExceptionCode
	if !errors.As(err, &code) {
		var ee *ExceptionError
		code = ServerDeviceFailure
		if errors.As(err, &ee) {
			code = ee.Code
		}
	}
	return AppendExceptionPDU(dst, f, code), true
}

func isWrite(f FunctionCode) bool {
	switch f {
	case FuncWriteSingleCoil, FuncWriteSingleRegister, FuncWriteMultipleCoils, FuncWriteMultipleRegisters:
		return true
	}
	return false
}

// execute performs a decoded request on the unit's bank.
func (u *Unit) execute(req *Request) (Response, error) {
	r := Response{Function: req.Function, Address: req.Address}
	var err error
	wrote := func(t Table, addr uint16, n int) {
		if u.OnWrite != nil && err == nil {
			u.OnWrite(WriteEvent{Unit: u.ID, Table: t, Address: addr, Count: n})
		}
	}
	b := u.Bank
	switch req.Function {
	case FuncReadCoils:
		r.Bits, err = b.Bits(Coils, req.Address, int(req.Quantity))
	case FuncReadDiscreteInputs:
		r.Bits, err = b.Bits(DiscreteInputs, req.Address, int(req.Quantity))
	case FuncReadHoldingRegisters:
		r.Registers, err = b.Registers(HoldingRegisters, req.Address, int(req.Quantity))
	case FuncReadInputRegisters:
		r.Registers, err = b.Registers(InputRegisters, req.Address, int(req.Quantity))
	case FuncWriteSingleCoil:
		err = b.SetBits(Coils, req.Address, req.Bits...)
		r.Bits = req.Bits
		wrote(Coils, req.Address, 1)
	case FuncWriteSingleRegister:
		err = b.SetRegisters(HoldingRegisters, req.Address, req.Registers...)
		r.Registers = req.Registers
		wrote(HoldingRegisters, req.Address, 1)
	case FuncWriteMultipleCoils:
		err = b.SetBits(Coils, req.Address, req.Bits...)
		r.Quantity = uint16(len(req.Bits))
		wrote(Coils, req.Address, len(req.Bits))
	case FuncWriteMultipleRegisters:
		err = b.SetRegisters(HoldingRegisters, req.Address, req.Registers...)
		r.Quantity = uint16(len(req.Registers))
		wrote(HoldingRegisters, req.Address, len(req.Registers))
	case FuncReadWriteMultipleRegisters:
		r.Registers, err = b.readWrite(req.Address, int(req.Quantity), req.WriteAddress, req.Registers)
		wrote(HoldingRegisters, req.WriteAddress, len(req.Registers))
	case FuncEncapsulatedInterface:
		return u.deviceID(req)
	default:
		err = IllegalFunction
	}
	return r, err
}

// deviceID answers read device identification (Modbus V1.1b3 §6.21).
func (u *Unit) deviceID(req *Request) (Response, error) {
	if len(u.DeviceID) == 0 {
		return Response{}, IllegalFunction
	}
	objs := slices.Clone(u.DeviceID)
	slices.SortFunc(objs, func(a, b DeviceObject) int { return int(a.ID) - int(b.ID) })
	r := Response{Function: FuncEncapsulatedInterface, DeviceIDCode: req.DeviceIDCode, Conformity: 0x81}
	for _, o := range objs {
		switch {
		case o.ID >= 0x80:
			r.Conformity = 0x83
		case o.ID >= 0x03 && r.Conformity < 0x82:
			r.Conformity = 0x82
		}
	}
	if req.DeviceIDCode == DeviceIDSpecific {
		for _, o := range objs {
			if o.ID == req.ObjectID {
				o.Value = o.Value[:min(len(o.Value), MaxPDULen-9)]
				r.Objects = []DeviceObject{o}
				return r, nil
			}
		}
		return r, IllegalDataAddress
	}
	last := map[DeviceIDCode]byte{DeviceIDBasic: 0x02, DeviceIDRegular: 0x7F, DeviceIDExtended: 0xFF}[req.DeviceIDCode]
	var stream []DeviceObject
	start := false
	for _, o := range objs {
		if o.ID <= last {
			stream = append(stream, o)
			start = start || o.ID == req.ObjectID
		}
	}
	if !start { // §6.21: an unknown object id restarts the stream at object 0
		req.ObjectID = 0
	}
	size := 7 // function, MEI type, code, conformity, more follows, next id, count
	for i, o := range stream {
		if o.ID < req.ObjectID {
			continue
		}
		n := 2 + min(len(o.Value), MaxPDULen-9)
		if size+n > MaxPDULen && len(r.Objects) > 0 {
			r.MoreFollows, r.NextObjectID = true, stream[i].ID
			break
		}
		size += n
		o.Value = o.Value[:n-2]
		r.Objects = append(r.Objects, o)
	}
	return r, nil
}
