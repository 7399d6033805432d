package modbus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// clientConn is one open link of a Client. With MaxInFlight 1 (and always
// for RTU) the caller that holds the client's only in-flight token writes
// its request and reads the answer itself. With more, a reader goroutine
// hands each response to the caller waiting for its transaction id.
type clientConn struct {
	c    *Client
	link Link
	tcpr *tcpReader
	rtur *rtuReader

	writeMu sync.Mutex

	// RTU: stale bytes may be on their way after a timeout; drain first.
	dirty  bool
	lastIO time.Time // end of the last frame on a serial line (t3.5)

	timeouts int // consecutive, guarded by the in-flight token (sync) or pmu

	pmu     sync.Mutex
	pending map[uint16]waiter // pipelined only
	dead    error             // pipelined: set once the reader stopped

	closeOnce sync.Once
	closeErr  error
}

// waiter is a caller of a pipelined connection waiting for a response.
type waiter struct {
	ch   chan result
	unit byte
	f    FunctionCode
}

type result struct {
	pdu []byte
	err error
}

func newClientConn(c *Client, link Link) *clientConn {
	cc := &clientConn{c: c, link: link}
	if c.rtu {
		cc.rtur = newRTUReader(link, false)
		return cc
	}
	cc.tcpr = newTCPReader(link)
	if c.cfg.MaxInFlight > 1 {
		cc.pending = make(map[uint16]waiter)
		c.wg.Add(1)
		go cc.readLoop()
	}
	return cc
}

func (cc *clientConn) close(cause error) error {
	cc.closeOnce.Do(func() { cc.closeErr = cc.link.Close() })
	return cc.closeErr
}

// watch moves the link's deadline into the past when ctx ends, so that a
// blocked Read or Write returns. The returned stop waits until a running
// callback finished, so it cannot touch the next request's deadline.
func (cc *clientConn) watch(ctx context.Context) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	done := make(chan struct{})
	unregister := context.AfterFunc(ctx, func() {
		_ = cc.link.SetDeadline(time.Unix(1, 0))
		close(done)
	})
	return func() {
		if !unregister() {
			<-done
		}
	}
}

// linkError turns an I/O error into the client's error kinds, dropping the
// connection when it broke.
func (cc *clientConn) linkError(ctx context.Context, op string, err error) error {
	if isTimeout(err) {
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
		return cc.timedOut()
	}
	cc.c.drop(cc, err)
	return fmt.Errorf("%w: %s: %w", ErrConnection, op, err)
}

// timedOut counts a timeout and drops the connection after too many in a row.
func (cc *clientConn) timedOut() error {
	cc.dirty = cc.rtur != nil
	cc.timeouts++
	switch cc.c.target.Scheme {
	case "rtutcp":
		// RTU frames carry no transaction id: a late answer on this stream
		// could pass for the next request's. A new connection is clean.
		cc.c.drop(cc, errors.New("timeout on RTU over TCP"))
		return errTimeout
	case "rtu":
		return errTimeout // the port stays; prepare drains the line
	}
	if cc.timeouts >= cc.c.cfg.TimeoutsBeforeReconnect {
		cc.c.drop(cc, fmt.Errorf("%d timeouts in a row", cc.timeouts))
	}
	return errTimeout
}

// roundTrip writes adu and reads frames until the one that answers req:
// same transaction id and unit on TCP; same unit and function (or its
// exception) on RTU, where a response that does not fit the request (a
// late answer to an earlier one) is also skipped. Other frames are
// discarded. answered tells whether the server responded.
func (cc *clientConn) roundTrip(ctx context.Context, deadline time.Time, txID uint16, unit byte, req *Request, adu []byte) (resp Response, answered bool, err error) {
	defer cc.watch(ctx)()
	fail := func(err error) (Response, bool, error) { return Response{}, false, err }
	if err := cc.prepare(ctx, deadline); err != nil {
		return fail(err)
	}
	if _, err := cc.link.Write(adu); err != nil {
		return fail(cc.linkError(ctx, "send", err))
	}
	if cc.rtur != nil && unit == 0 {
		// A broadcast on a serial line is not answered (Serial Line V1.02 §2.1).
		cc.lastIO = time.Now()
		return Response{Function: req.Function}, true, nil
	}
	for {
		var frame []byte
		var err error
		if cc.rtur != nil {
			frame, err = cc.rtur.next()
			cc.lastIO = time.Now()
		} else {
			frame, err = cc.tcpr.next()
		}
		if errors.Is(err, ErrMalformed) { // MBAP header out of step: the stream is lost
			cc.c.drop(cc, err)
			return fail(fmt.Errorf("receive: %w", err))
		}
		if err != nil {
			return fail(cc.linkError(ctx, "receive", err))
		}
		var gotUnit byte
		var pdu []byte
		var gotTx uint16
		if cc.rtur != nil {
			gotUnit, pdu, err = DecodeRTUFrame(frame)
		} else {
			gotTx, gotUnit, pdu, err = DecodeTCPFrame(frame)
		}
		if err == nil && gotTx == txID && gotUnit == unit && FunctionCode(pdu[0])&^exceptionFlag == req.Function {
			resp, err := DecodeResponse(req, pdu)
			if cc.rtur == nil || !errors.Is(err, ErrMalformed) {
				cc.timeouts = 0
				return resp, true, err
			}
		}
		cc.c.log.Debug("modbus discarded frame", "want_tx", txID, "tx", gotTx, "want_unit", unit, "unit", gotUnit, "frame", fmt.Sprintf("% X", frame))
	}
}

// prepare sets the deadline and, on RTU, drains stale bytes after a timeout
// and keeps the t3.5 silence of a serial line before the request.
func (cc *clientConn) prepare(ctx context.Context, deadline time.Time) error {
	if cc.rtur != nil && cc.dirty {
		// A late answer to a timed-out request may still come: discard
		// whatever arrives within one silence (at least 1 ms).
		cc.rtur.reset()
		_ = cc.link.SetDeadline(time.Now().Add(max(cc.c.t35, time.Millisecond)))
		var junk [MaxRTUADULen]byte
		for {
			if _, err := cc.link.Read(junk[:]); err != nil {
				if !isTimeout(err) {
					return cc.linkError(ctx, "drain", err)
				}
				break
			}
		}
		cc.dirty = false
		cc.lastIO = time.Now()
	}
	if cc.c.t35 > 0 {
		if wait := time.Until(cc.lastIO.Add(cc.c.t35)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("wait for line silence: %w", ctx.Err())
			}
		}
	}
	if err := cc.link.SetDeadline(deadline); err != nil {
		return cc.linkError(ctx, "set deadline", err)
	}
	if ctx.Err() != nil { // ended before the watcher was armed with this deadline
		return ctx.Err()
	}
	return nil
}

// roundTripPipelined registers txID, writes adu and waits for the reader
// goroutine to deliver the matching response.
func (cc *clientConn) roundTripPipelined(ctx context.Context, deadline time.Time, txID uint16, unit byte, f FunctionCode, adu []byte) ([]byte, error) {
	ch := make(chan result, 1)
	cc.pmu.Lock()
	if cc.dead != nil {
		err := cc.dead
		cc.pmu.Unlock()
		return nil, err
	}
	cc.pending[txID] = waiter{ch: ch, unit: unit, f: f}
	cc.pmu.Unlock()
	forget := func() {
		cc.pmu.Lock()
		delete(cc.pending, txID)
		cc.pmu.Unlock()
	}

	cc.writeMu.Lock()
	err := cc.writeDeadline(deadline, adu)
	cc.writeMu.Unlock()
	if err != nil {
		forget()
		return nil, cc.linkError(ctx, "send", err)
	}

	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case r := <-ch:
		return r.pdu, r.err
	case <-ctx.Done():
		forget()
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, ctx.Err()
		}
		cc.pmu.Lock()
		err := cc.timedOut()
		cc.pmu.Unlock()
		return nil, err
	case <-t.C:
		forget()
		cc.pmu.Lock()
		err := cc.timedOut()
		cc.pmu.Unlock()
		return nil, err
	}
}

// writeDeadline writes adu with a write deadline. The read side of a
// pipelined connection never has a deadline (its reader waits for any
// response; each caller keeps its own timer), so a Link without
// SetWriteDeadline gets none here.
func (cc *clientConn) writeDeadline(deadline time.Time, adu []byte) error {
	type writeDeadliner interface{ SetWriteDeadline(time.Time) error }
	if wd, ok := cc.link.(writeDeadliner); ok {
		if err := wd.SetWriteDeadline(deadline); err != nil {
			return err
		}
	}
	_, err := cc.link.Write(adu)
	return err
}

// readLoop delivers responses of a pipelined TCP connection by transaction
// id until the connection fails, then fails every waiting caller.
func (cc *clientConn) readLoop() {
	defer cc.c.wg.Done()
	for {
		frame, err := cc.tcpr.next()
		if err != nil {
			err = fmt.Errorf("%w: receive: %w", ErrConnection, err)
			cc.pmu.Lock()
			cc.dead = err
			for id, w := range cc.pending {
				w.ch <- result{err: err}
				delete(cc.pending, id)
			}
			cc.pmu.Unlock()
			cc.c.drop(cc, err)
			return
		}
		txID, unit, pdu, _ := DecodeTCPFrame(frame)
		cc.pmu.Lock()
		w, ok := cc.pending[txID]
		ok = ok && w.unit == unit && FunctionCode(pdu[0])&^exceptionFlag == w.f
		if ok {
			delete(cc.pending, txID)
			cc.timeouts = 0
		}
		cc.pmu.Unlock()
		if !ok {
			cc.c.log.Debug("modbus discarded frame", "tx", txID, "unit", unit, "frame", fmt.Sprintf("% X", frame))
			continue
		}
		w.ch <- result{pdu: append([]byte(nil), pdu...)}
	}
}
