package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ClientConfig tunes a Client. The zero value is usable: every field has a
// default.
type ClientConfig struct {
	// Timeout bounds each request when ctx has no earlier deadline.
	// Default 1 s.
	Timeout time.Duration
	// MaxInFlight is how many requests may be outstanding on one TCP
	// connection, matched by transaction id. Default 1. RTU framings (serial
	// and RTU over TCP) always have one, as RTU frames carry no id.
	MaxInFlight int
	// BackoffMin and BackoffMax bound the wait between reconnection
	// attempts; it doubles after each failure and resets after a response.
	// The first reconnection after a working connection broke is immediate.
	// Defaults 100 ms and 10 s.
	BackoffMin, BackoffMax time.Duration
	// TimeoutsBeforeReconnect is how many consecutive timeouts on one
	// Modbus TCP connection make the client drop and redial it. A single
	// timeout does not: one silent unit behind a gateway must not break the
	// connection of the others, and late answers are discarded by
	// transaction id. Default 3. RTU over TCP redials after every timeout
	// (RTU frames carry no id, so a late answer could pass for the next
	// one); a serial port stays open and is drained for one t3.5 instead.
	TimeoutsBeforeReconnect int
	// Logger receives debug records of discarded frames and reconnections.
	// Default: discard.
	Logger *slog.Logger
	// Dial, when set, replaces opening the URL's address (tests, in-memory
	// pipes, custom transports). The URL still selects the framing.
	Dial func(ctx context.Context) (Link, error)
}

func (c *ClientConfig) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 1
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 100 * time.Millisecond
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(10*time.Second, c.BackoffMin)
	}
	if c.TimeoutsBeforeReconnect <= 0 {
		c.TimeoutsBeforeReconnect = 3
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Client speaks Modbus to the units behind one URL: a TCP server or
// gateway, a serial device server (RTU over TCP), or an RS-485 line. It is
// safe for concurrent use; requests beyond its in-flight limit wait their
// turn. It connects on the first request and reconnects lazily, with capped
// exponential backoff, after the connection broke.
type Client struct {
	target Target
	rtu    bool          // RTU framing (rtu, rtutcp)
	t35    time.Duration // silence before a request on a serial line
	cfg    ClientConfig
	log    *slog.Logger
	sem    chan struct{} // one token per request in flight
	txID   atomic.Uint32

	dialMu   sync.Mutex // one dial at a time
	mu       sync.Mutex
	cc       *clientConn
	closed   bool
	backoff  time.Duration
	nextDial time.Time
	wg       sync.WaitGroup // connection reader goroutines
}

// NewClient returns a Client for a URL: tcp://HOST:PORT,
// rtutcp://HOST:PORT or rtu:///dev/ttyUSB0?baud=9600&parity=E&stop=1.
// Nothing is opened until the first request.
func NewClient(rawURL string, cfg ClientConfig) (*Client, error) {
	t, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg.setDefaults()
	c := &Client{target: t, cfg: cfg, rtu: t.Scheme != "tcp"}
	c.log = cfg.Logger.With("modbus", rawURL)
	if c.rtu {
		c.cfg.MaxInFlight = 1 // one request in flight per RS-485 bus
	}
	if t.Scheme == "rtu" {
		c.t35 = T35(t.Serial.Baud, t.Serial.BitsPerChar())
	}
	c.sem = make(chan struct{}, c.cfg.MaxInFlight)
	return c, nil
}

// String returns the client's URL without its serial parameters, for errors and logs.
func (c *Client) String() string { return c.target.Scheme + "://" + c.target.Addr }

// Close closes the connection and makes later requests fail with
// ErrClosed. It is safe to call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	cc := c.cc
	c.cc = nil
	c.mu.Unlock()
	var err error
	if cc != nil {
		err = cc.close(ErrClosed)
	}
	c.wg.Wait()
	return err
}

// Do sends req to unit and returns the response. With RTU framing, unit 0
// is a broadcast: meant for writes, sent without waiting for an answer. It is the general form of
// the Read… and Write… methods. The error wraps ErrInvalidRequest (not
// sent), ErrTimeout (also matching context.DeadlineExceeded), ErrConnection,
// ErrMalformed or ErrClosed, or is an *ExceptionError; a cancelled ctx
// yields ctx.Err().
func (c *Client) Do(ctx context.Context, unit byte, req *Request) (Response, error) {
	resp, err := c.do(ctx, unit, req)
	if err != nil {
		return resp, fmt.Errorf("%s unit %d: %s: %w", c, unit, describe(req), err)
	}
	return resp, nil
}

func describe(r *Request) string {
	switch r.Function {
	case FuncReadCoils:
		return fmt.Sprintf("read %d coils at %d", r.Quantity, r.Address)
	case FuncReadDiscreteInputs:
		return fmt.Sprintf("read %d discrete inputs at %d", r.Quantity, r.Address)
	case FuncReadHoldingRegisters:
		return fmt.Sprintf("read %d holding registers at %d", r.Quantity, r.Address)
	case FuncReadInputRegisters:
		return fmt.Sprintf("read %d input registers at %d", r.Quantity, r.Address)
	case FuncWriteSingleCoil:
		return fmt.Sprintf("write coil %d", r.Address)
	case FuncWriteSingleRegister:
		return fmt.Sprintf("write holding register %d", r.Address)
	case FuncWriteMultipleCoils:
		return fmt.Sprintf("write %d coils at %d", len(r.Bits), r.Address)
	case FuncWriteMultipleRegisters:
		return fmt.Sprintf("write %d holding registers at %d", len(r.Registers), r.Address)
	case FuncReadWriteMultipleRegisters:
		return fmt.Sprintf("read %d registers at %d and write %d at %d", r.Quantity, r.Address, len(r.Registers), r.WriteAddress)
	case FuncEncapsulatedInterface:
		return fmt.Sprintf("read device identification (code %d, object %d)", r.DeviceIDCode, r.ObjectID)
	}
	return "function " + r.Function.String()
}

func (c *Client) do(ctx context.Context, unit byte, req *Request) (Response, error) {
	var buf [MaxTCPADULen]byte
	head := MBAPHeaderLen
	if c.rtu {
		head = 1
	}
	pdu, err := req.AppendPDU(buf[head:head])
	if err != nil {
		return Response{}, err
	}
	deadline := time.Now().Add(c.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
	defer func() { <-c.sem }()

	cc, err := c.conn(ctx, deadline)
	if err != nil {
		return Response{}, err
	}
	var adu []byte
	var txID uint16
	if c.rtu {
		adu = AppendRTUFrame(buf[:0], unit, pdu)
	} else {
		txID = uint16(c.txID.Add(1))
		adu = AppendTCPFrame(buf[:0], txID, unit, pdu)
	}
	var resp Response
	if cc.pending != nil {
		var pdu []byte
		if pdu, err = cc.roundTripPipelined(ctx, deadline, txID, unit, req.Function, adu); err != nil {
			return Response{}, err
		}
		resp, err = DecodeResponse(req, pdu)
	} else {
		var answered bool
		if resp, answered, err = cc.roundTrip(ctx, deadline, txID, unit, req, adu); !answered {
			return resp, err
		}
	}
	c.mu.Lock()
	c.backoff = 0 // the server answered: the next reconnection is immediate
	c.mu.Unlock()
	return resp, err
}

// conn returns the open connection, opening one when there is none and the
// backoff allows. It never waits past deadline.
func (c *Client) conn(ctx context.Context, deadline time.Time) (*clientConn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if cc := c.cc; cc != nil {
		c.mu.Unlock()
		return cc, nil
	}
	next := c.nextDial
	c.mu.Unlock()

	if wait := time.Until(next); wait > 0 {
		if next.After(deadline) {
			return nil, fmt.Errorf("%w: connection down, next attempt in %v", ErrConnection, wait.Round(time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait %v to reconnect: %w", wait.Round(time.Millisecond), ctx.Err())
		}
	}

	c.dialMu.Lock()
	defer c.dialMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if cc := c.cc; cc != nil { // another caller dialled meanwhile
		c.mu.Unlock()
		return cc, nil
	}
	c.mu.Unlock()

	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	dial := c.target.dial
	if c.cfg.Dial != nil {
		dial = c.cfg.Dial
	}
	link, err := dial(dctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.failedLocked()
		c.log.Debug("modbus dial failed", "err", err, "retry_in", time.Until(c.nextDial))
		return nil, fmt.Errorf("%w: connect: %w", ErrConnection, err)
	}
	if c.closed {
		_ = link.Close()
		return nil, ErrClosed
	}
	cc := newClientConn(c, link)
	c.cc = cc
	c.log.Debug("modbus connected")
	return cc, nil
}

// failedLocked schedules the next connection attempt after a failure.
func (c *Client) failedLocked() {
	c.nextDial = time.Now().Add(c.backoff)
	c.backoff = min(max(2*c.backoff, c.cfg.BackoffMin), c.cfg.BackoffMax)
}

// drop forgets a broken connection; the next request reconnects.
func (c *Client) drop(cc *clientConn, cause error) {
	c.mu.Lock()
	if c.cc == cc {
		c.cc = nil
		c.failedLocked()
	}
	c.mu.Unlock()
	_ = cc.close(cause)
	c.log.Debug("modbus connection dropped", "err", cause)
}

// ReadCoils reads quantity coils from address (FC01, Modbus V1.1b3 §6.1).
func (c *Client) ReadCoils(ctx context.Context, unit byte, address, quantity uint16) ([]bool, error) {
	r, err := c.Do(ctx, unit, &Request{Function: FuncReadCoils, Address: address, Quantity: quantity})
	return r.Bits, err
}

// ReadDiscreteInputs reads quantity discrete inputs from address (FC02, §6.2).
func (c *Client) ReadDiscreteInputs(ctx context.Context, unit byte, address, quantity uint16) ([]bool, error) {
	r, err := c.Do(ctx, unit, &Request{Function: FuncReadDiscreteInputs, Address: address, Quantity: quantity})
	return r.Bits, err
}

// ReadHoldingRegisters reads quantity holding registers from address (FC03, §6.3).
func (c *Client) ReadHoldingRegisters(ctx context.Context, unit byte, address, quantity uint16) ([]uint16, error) {
	r, err := c.Do(ctx, unit, &Request{Function: FuncReadHoldingRegisters, Address: address, Quantity: quantity})
	return r.Registers, err
}

// ReadInputRegisters reads quantity input registers from address (FC04, §6.4).
func (c *Client) ReadInputRegisters(ctx context.Context, unit byte, address, quantity uint16) ([]uint16, error) {
	r, err := c.Do(ctx, unit, &Request{Function: FuncReadInputRegisters, Address: address, Quantity: quantity})
	return r.Registers, err
}

// WriteSingleCoil sets one coil (FC05, §6.5).
func (c *Client) WriteSingleCoil(ctx context.Context, unit byte, address uint16, on bool) error {
	_, err := c.Do(ctx, unit, &Request{Function: FuncWriteSingleCoil, Address: address, Bits: []bool{on}})
	return err
}

// WriteSingleRegister writes one holding register (FC06, §6.6).
func (c *Client) WriteSingleRegister(ctx context.Context, unit byte, address, value uint16) error {
	_, err := c.Do(ctx, unit, &Request{Function: FuncWriteSingleRegister, Address: address, Registers: []uint16{value}})
	return err
}

// WriteMultipleCoils writes len(values) coils from address (FC15, §6.11).
func (c *Client) WriteMultipleCoils(ctx context.Context, unit byte, address uint16, values []bool) error {
	_, err := c.Do(ctx, unit, &Request{Function: FuncWriteMultipleCoils, Address: address, Bits: values})
	return err
}

// WriteMultipleRegisters writes len(values) holding registers from address
// (FC16, §6.12).
func (c *Client) WriteMultipleRegisters(ctx context.Context, unit byte, address uint16, values []uint16) error {
	_, err := c.Do(ctx, unit, &Request{Function: FuncWriteMultipleRegisters, Address: address, Registers: values})
	return err
}

// ReadWriteMultipleRegisters writes values at writeAddress, then reads
// readQuantity holding registers at readAddress, in one transaction (FC23,
// §6.17: the write is performed before the read).
func (c *Client) ReadWriteMultipleRegisters(ctx context.Context, unit byte, readAddress, readQuantity, writeAddress uint16, values []uint16) ([]uint16, error) {
	r, err := c.Do(ctx, unit, &Request{Function: FuncReadWriteMultipleRegisters,
		Address: readAddress, Quantity: readQuantity, WriteAddress: writeAddress, Registers: values})
	return r.Registers, err
}

// DeviceIdentification is what a unit reports about itself (FC43/14).
type DeviceIdentification struct {
	Conformity byte // §6.21 conformity level, e.g. 0x81 basic with individual access
	Objects    []DeviceObject
}

// Object returns the value of object id as a string.
func (d DeviceIdentification) Object(id byte) (string, bool) {
	for _, o := range d.Objects {
		if o.ID == id {
			return string(o.Value), true
		}
	}
	return "", false
}

// ReadDeviceIdentification reads a unit's identification objects (FC43/14,
// Modbus V1.1b3 §6.21). For the streamed codes (DeviceIDBasic, Regular,
// Extended) it starts at objectID (normally 0) and follows "more follows"
// until the unit has sent every object of the category. For
// DeviceIDSpecific it reads the one object objectID.
func (c *Client) ReadDeviceIdentification(ctx context.Context, unit byte, code DeviceIDCode, objectID byte) (DeviceIdentification, error) {
	var id DeviceIdentification
	req := Request{Function: FuncEncapsulatedInterface, DeviceIDCode: code, ObjectID: objectID}
	seen := map[byte]bool{}
	for range 256 {
		r, err := c.Do(ctx, unit, &req)
		if err != nil {
			return id, err
		}
		id.Conformity = r.Conformity
		id.Objects = append(id.Objects, r.Objects...)
		if !r.MoreFollows || code == DeviceIDSpecific {
			return id, nil
		}
		if seen[r.NextObjectID] || r.NextObjectID == req.ObjectID {
			return id, fmt.Errorf("%s unit %d: read device identification: %w: next object id %d repeats", c, unit, ErrMalformed, r.NextObjectID)
		}
		seen[r.NextObjectID] = true
		req.ObjectID = r.NextObjectID
	}
	return id, fmt.Errorf("%s unit %d: read device identification: %w: more than 256 responses", c, unit, ErrMalformed)
}

// errTimeout is returned when a request's own deadline passed; it matches
// both ErrTimeout and context.DeadlineExceeded.
var errTimeout = fmt.Errorf("%w (%w)", ErrTimeout, context.DeadlineExceeded)

// isTimeout reports whether err is a deadline on the link.
func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}
