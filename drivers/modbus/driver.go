package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/clock"
)

var _ drivers.Driver = (*Driver)(nil)

// DriverOptions tune a Driver. The zero value is usable.
type DriverOptions struct {
	// Logger receives records with the keys device, point and unit.
	// Default: discard.
	Logger *slog.Logger
	// Clock times the backoff of silent units. Default: the real clock.
	Clock clock.Clock
	// UnitBackoffMin and UnitBackoffMax bound how long a unit that keeps
	// timing out is left alone; the backoff doubles after each further
	// timeout. Defaults 1 s and 60 s.
	UnitBackoffMin, UnitBackoffMax time.Duration
	// TimeoutsBeforeBackoff is how many timeouts in a row put a unit into
	// backoff. Default 2: one lost frame does not.
	TimeoutsBeforeBackoff int
	// Client tunes the connection. Its Timeout and MaxInFlight default to
	// the connection's timeout and in_flight, its Logger to Logger.
	Client ClientConfig
}

func (o *DriverOptions) setDefaults(conn *config.Connection) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.UnitBackoffMin <= 0 {
		o.UnitBackoffMin = time.Second
	}
	if o.UnitBackoffMax < o.UnitBackoffMin {
		o.UnitBackoffMax = max(60*time.Second, o.UnitBackoffMin)
	}
	if o.TimeoutsBeforeBackoff <= 0 {
		o.TimeoutsBeforeBackoff = 2
	}
	if o.Client.Timeout <= 0 {
		o.Client.Timeout = conn.Timeout
	}
	if o.Client.MaxInFlight <= 0 {
		o.Client.MaxInFlight = conn.InFlight
	}
	if o.Client.Logger == nil {
		o.Client.Logger = o.Logger
	}
}

// Driver reads and writes the Modbus points of the devices on one
// connection (drivers.Driver). Reads are planned (Plan) per unit and table;
// units are read concurrently, up to the connection's in-flight limit (one
// on an RS-485 line). A unit that keeps timing out backs off on its own,
// without slowing the others. It is safe for concurrent use.
type Driver struct {
	conn   *config.Connection
	client *Client
	opts   DriverOptions
	log    *slog.Logger
	points map[drivers.PointRef]*config.Point
	units  map[drivers.PointRef]byte
	// sem holds one token per request on the wire. The driver queues its
	// requests here, not in the Client, so that a request's timeout starts
	// when it is sent: waiting behind a silent unit's request must not use
	// up a healthy unit's timeout.
	sem chan struct{}

	mu       sync.Mutex
	health   map[byte]*unitHealth
	isolated map[*config.Point]bool // refused in a coalesced read: read alone
	rmw      sync.Mutex             // serialises read-modify-write of register bits
}

// unitHealth tracks whether a unit answers.
type unitHealth struct {
	timeouts int           // in a row
	backoff  time.Duration // current backoff; 0 = none
	next     time.Time     // no request before this time
}

// BackoffError is a point's error while its unit is backing off: no
// request was sent.
type BackoffError struct {
	Unit     byte
	Timeouts int       // timeouts in a row so far
	Next     time.Time // when the unit is tried again
	Wait     time.Duration
}

func (e *BackoffError) Error() string {
	return fmt.Sprintf("unit %d backing off after %d timeouts (next try in %v)", e.Unit, e.Timeouts, e.Wait.Round(time.Millisecond))
}

// Unwrap makes a BackoffError match ErrTimeout: the unit does not answer.
func (e *BackoffError) Unwrap() error { return ErrTimeout }

// Open is the gateway.DriverFactory of the Modbus connections (tcp, rtu,
// rtutcp). It opens nothing: the connection is made on the first request.
func Open(conn *config.Connection, devices []*config.Device, logger *slog.Logger) (drivers.Driver, error) {
	return NewDriver(conn, devices, DriverOptions{Logger: logger})
}

// NewDriver returns a Driver for the points of devices on conn. It checks
// every point's address and type but opens nothing.
func NewDriver(conn *config.Connection, devices []*config.Device, opts DriverOptions) (*Driver, error) {
	if conn == nil || !conn.Protocol.IsModbus() {
		return nil, fmt.Errorf("modbus driver: connection is not Modbus")
	}
	opts.setDefaults(conn)
	rawURL, err := ClientURL(conn)
	if err != nil {
		return nil, fmt.Errorf("modbus driver for %s: %w", conn.Name, err)
	}
	client, err := NewClient(rawURL, opts.Client)
	if err != nil {
		return nil, fmt.Errorf("modbus driver for %s: %w", conn.Name, err)
	}
	inFlight := opts.Client.MaxInFlight
	if conn.Protocol != config.ModbusTCP {
		inFlight = 1 // one request at a time on an RS-485 line
	}
	d := &Driver{conn: conn, client: client, opts: opts, log: opts.Logger, sem: make(chan struct{}, inFlight),
		points: map[drivers.PointRef]*config.Point{}, units: map[drivers.PointRef]byte{},
		health: map[byte]*unitHealth{}, isolated: map[*config.Point]bool{}}
	for _, dev := range devices {
		if dev.Unit < 0 || dev.Unit > 247 {
			return nil, fmt.Errorf("modbus driver: device %s: unit %d outside 0..247", dev.Name, dev.Unit)
		}
		for _, p := range dev.Points {
			if err := checkPoint(p); err != nil {
				return nil, fmt.Errorf("modbus driver: point %s: %w", p.Ref(), err)
			}
			d.points[p.Ref()] = p
			d.units[p.Ref()] = byte(dev.Unit)
		}
	}
	return d, nil
}

func checkPoint(p *config.Point) error {
	if _, ok := tableOrder[p.Table]; !ok {
		return fmt.Errorf("table %q is not a Modbus table", p.Table)
	}
	if p.Address < 0 || p.Address+p.Registers() > 0x10000 {
		return fmt.Errorf("addresses %d..%d outside 0..65535", p.Address, p.Address+p.Registers()-1)
	}
	if p.Registers() < 1 {
		return fmt.Errorf("type %q has no register layout", p.Type)
	}
	if p.Table.IsBits() && p.Type != config.TypeBool {
		return fmt.Errorf("a %s point must be bool, not %s", p.Table, p.Type)
	}
	return checkOrder(p.Order)
}

// ClientURL is the Client URL of a Modbus connection: its own URL for tcp
// and rtutcp, and for rtu the serial device with its line settings.
func ClientURL(conn *config.Connection) (string, error) {
	if conn.URL == nil {
		return "", errors.New("no URL")
	}
	if conn.Protocol != config.ModbusRTU {
		return (&url.URL{Scheme: conn.URL.Scheme, Host: conn.URL.Host}).String(), nil
	}
	s := conn.Serial
	if s == nil {
		return conn.URL.String(), nil
	}
	q := url.Values{}
	q.Set("baud", strconv.Itoa(s.Baud))
	q.Set("parity", s.Parity)
	q.Set("stop", strconv.Itoa(s.StopBits))
	q.Set("data", strconv.Itoa(s.DataBits))
	return (&url.URL{Scheme: "rtu", Path: s.Device, RawQuery: q.Encode()}).String(), nil
}

// Client returns the driver's connection, for commissioning tools that
// speak raw registers beside named points.
func (d *Driver) Client() *Client { return d.client }

// Close closes the connection. It is safe to call more than once.
func (d *Driver) Close() error { return d.client.Close() }

// Plan returns the read requests Read would send for refs, per unit in
// ascending unit order, ignoring backoff.
func (d *Driver) Plan(refs []drivers.PointRef) ([]PlannedRead, error) {
	byUnit, _, err := d.resolve(refs)
	if err != nil {
		return nil, err
	}
	var plan []PlannedRead
	for unit := range 256 {
		if pts, ok := byUnit[byte(unit)]; ok {
			plan = append(plan, d.plan(byte(unit), pts)...)
		}
	}
	return plan, nil
}

func (d *Driver) plan(unit byte, pts []*config.Point) []PlannedRead {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Plan(unit, pts, d.conn.MaxGap, func(p *config.Point) bool { return d.isolated[p] })
}

// resolve groups refs by unit, with each point's index in refs.
func (d *Driver) resolve(refs []drivers.PointRef) (map[byte][]*config.Point, map[*config.Point][]int, error) {
	byUnit := map[byte][]*config.Point{}
	index := map[*config.Point][]int{}
	for i, ref := range refs {
		p, ok := d.points[ref]
		if !ok {
			return nil, nil, fmt.Errorf("read %s: no such Modbus point on connection %s", ref, d.conn.Name)
		}
		if len(index[p]) == 0 {
			byUnit[d.units[ref]] = append(byUnit[d.units[ref]], p)
		}
		index[p] = append(index[p], i)
	}
	return byUnit, index, nil
}

// Read reads refs, one Sample per ref in the same order. A request that
// fails marks only its own points; a unit in backoff is not asked and its
// points carry a *BackoffError. Read fails only for an unknown ref or when
// ctx ends.
func (d *Driver) Read(ctx context.Context, refs []drivers.PointRef) ([]drivers.Sample, error) {
	byUnit, index, err := d.resolve(refs)
	if err != nil {
		return nil, err
	}
	out := make([]drivers.Sample, len(refs))
	for i, ref := range refs {
		out[i].Ref = ref
	}
	var mu sync.Mutex // guards out
	set := func(p *config.Point, v drivers.Value, err error) {
		now := d.opts.Clock.Now()
		mu.Lock()
		defer mu.Unlock()
		for _, i := range index[p] {
			out[i].Value, out[i].Time, out[i].Err = v, now, nil
			if err != nil {
				out[i].Value, out[i].Err = drivers.Value{}, fmt.Errorf("read %s: %w", refs[i], err)
			}
		}
	}
	var wg sync.WaitGroup
	for unit, pts := range byUnit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.readUnit(ctx, unit, pts, set)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// readUnit reads the points of one unit, request by request. After a
// timeout the unit's other requests of this cycle are not sent.
func (d *Driver) readUnit(ctx context.Context, unit byte, pts []*config.Point, set func(*config.Point, drivers.Value, error)) {
	if berr := d.backingOff(unit); berr != nil {
		for _, p := range pts {
			set(p, drivers.Value{}, berr)
		}
		return
	}
	var silent error // the timeout that ends this unit's cycle
	for _, r := range d.plan(unit, pts) {
		if silent != nil {
			for _, p := range r.Points {
				set(p, drivers.Value{}, fmt.Errorf("not sent: unit %d did not answer an earlier request: %w", unit, silent))
			}
			continue
		}
		err := d.execute(ctx, r, set)
		if ctx.Err() != nil {
			return
		}
		var ee *ExceptionError
		if len(r.Points) > 1 && errors.As(err, &ee) && ee.Code == IllegalDataAddress {
			d.split(ctx, r, set)
			continue
		}
		if d.observe(unit, err) {
			silent = err
		}
	}
}

// split reads the points of a refused coalesced read one by one, and
// remembers not to coalesce them again.
func (d *Driver) split(ctx context.Context, r PlannedRead, set func(*config.Point, drivers.Value, error)) {
	d.mu.Lock()
	for _, p := range r.Points {
		d.isolated[p] = true
	}
	d.mu.Unlock()
	d.log.Info("device refused a coalesced read with illegal data address; reading its points one by one from now on",
		"unit", r.Unit, "device", r.Points[0].Device, "request", r.String(), "points", len(r.Points))
	for _, p := range r.Points {
		one := PlannedRead{Unit: r.Unit, Table: p.Table, Start: p.Address, Count: p.Registers(), Points: []*config.Point{p}}
		err := d.execute(ctx, one, set)
		if ctx.Err() != nil {
			return
		}
		if d.observe(r.Unit, err) {
			return // remaining points keep no value this cycle
		}
	}
}

// execute sends one planned read and decodes each of its points.
func (d *Driver) execute(ctx context.Context, r PlannedRead, set func(*config.Point, drivers.Value, error)) error {
	resp, err := d.do(ctx, r.Unit, r.Request())
	if err != nil {
		for _, p := range r.Points {
			set(p, drivers.Value{}, err)
		}
		return err
	}
	for _, p := range r.Points {
		i := p.Address - r.Start
		var v drivers.Value
		var perr error
		if p.Table.IsBits() {
			if i < len(resp.Bits) {
				v = drivers.Bool(resp.Bits[i])
			} else {
				perr = fmt.Errorf("%w: %d bits in the response, bit %d wanted", ErrMalformed, len(resp.Bits), i)
			}
		} else if n := p.Registers(); i+n <= len(resp.Registers) {
			v, perr = DecodePoint(p, resp.Registers[i:i+n])
		} else {
			perr = fmt.Errorf("%w: %d registers in the response, %d..%d wanted", ErrMalformed, len(resp.Registers), i, i+n-1)
		}
		set(p, v, perr)
	}
	return nil
}

// do sends one request when the connection has room for it.
func (d *Driver) do(ctx context.Context, unit byte, req *Request) (Response, error) {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
	defer func() { <-d.sem }()
	return d.client.Do(ctx, unit, req)
}

// isSilent reports whether err means the unit did not answer: a timeout,
// or a gateway saying so.
func isSilent(err error) bool {
	return errors.Is(err, ErrTimeout) || errors.Is(err, GatewayTargetFailed) || errors.Is(err, GatewayPathUnavailable)
}

// observe updates a unit's health after a request and reports whether the
// unit was silent.
func (d *Driver) observe(unit byte, err error) bool {
	silent := isSilent(err)
	answered := err == nil || (!silent && errors.As(err, new(*ExceptionError)))
	if !silent && !answered {
		return false // connection trouble is the client's to handle, not the unit's
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.health[unit]
	if h == nil {
		h = &unitHealth{}
		d.health[unit] = h
	}
	if answered {
		if h.backoff > 0 {
			d.log.Info("modbus unit answers again", "unit", unit, "after_timeouts", h.timeouts)
		}
		*h = unitHealth{}
		return false
	}
	h.timeouts++
	if h.timeouts >= d.opts.TimeoutsBeforeBackoff {
		h.backoff = min(max(2*h.backoff, d.opts.UnitBackoffMin), d.opts.UnitBackoffMax)
		h.next = d.opts.Clock.Now().Add(h.backoff)
		d.log.Warn("modbus unit does not answer; backing off", "unit", unit, "timeouts", h.timeouts, "backoff", h.backoff, "err", err)
	}
	return true
}

// backingOff returns a *BackoffError while unit must not be asked.
func (d *Driver) backingOff(unit byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.health[unit]
	if h == nil || h.backoff == 0 {
		return nil
	}
	now := d.opts.Clock.Now()
	if !now.Before(h.next) {
		return nil // its turn: one cycle tries it
	}
	return &BackoffError{Unit: unit, Timeouts: h.timeouts, Next: h.next, Wait: h.next.Sub(now)}
}

// Write sets one writable point: a coil with FC05, a one-register value
// with FC06, a longer one with FC16, and a bit of a holding register by
// read-modify-write (FC03, then FC06 of the register with that bit
// changed). The read-modify-write is serialised within this driver, but it
// is not atomic on the device: a bit that the device itself or another
// master changes between the read and the write is overwritten with its
// old value. A unit in backoff is not asked.
func (d *Driver) Write(ctx context.Context, ref drivers.PointRef, v drivers.Value) error {
	p, ok := d.points[ref]
	if !ok {
		return fmt.Errorf("write %s: no such Modbus point on connection %s", ref, d.conn.Name)
	}
	if !p.Writable() {
		return fmt.Errorf("write %s: point is read-only (access: %s)", ref, p.Access)
	}
	unit := d.units[ref]
	if err := d.backingOff(unit); err != nil {
		return fmt.Errorf("write %s: %w", ref, err)
	}
	err := d.write(ctx, unit, p, v)
	if ctx.Err() == nil {
		d.observe(unit, err)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", ref, err)
	}
	d.log.Debug("modbus write", "device", p.Device, "point", p.Name, "unit", unit, "value", v.String())
	return nil
}

func (d *Driver) write(ctx context.Context, unit byte, p *config.Point, v drivers.Value) error {
	addr := uint16(p.Address)
	switch {
	case p.Table == config.Coil:
		on, ok := v.AsBool()
		if !ok {
			return fmt.Errorf("%w: %#v is not a boolean", ErrValue, v)
		}
		_, err := d.do(ctx, unit, &Request{Function: FuncWriteSingleCoil, Address: addr, Bits: []bool{on}})
		return err
	case p.Table != config.Holding:
		return fmt.Errorf("%s are read-only in Modbus", tableName(p.Table))
	case p.Bit >= 0:
		on, ok := v.AsBool()
		if !ok {
			return fmt.Errorf("%w: %#v is not a boolean", ErrValue, v)
		}
		d.rmw.Lock()
		defer d.rmw.Unlock()
		r, err := d.do(ctx, unit, &Request{Function: FuncReadHoldingRegisters, Address: addr, Quantity: 1})
		if err != nil {
			return fmt.Errorf("read register for bit %d: %w", p.Bit, err)
		}
		_, err = d.do(ctx, unit, &Request{Function: FuncWriteSingleRegister, Address: addr, Registers: []uint16{SetBit(r.Registers[0], p.Bit, on)}})
		return err
	}
	regs, err := EncodePoint(p, v)
	if err != nil {
		return err
	}
	req := &Request{Function: FuncWriteMultipleRegisters, Address: addr, Registers: regs}
	if len(regs) == 1 {
		req.Function = FuncWriteSingleRegister
	}
	_, err = d.do(ctx, unit, req)
	return err
}
