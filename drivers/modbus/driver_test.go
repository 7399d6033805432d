package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/clock"
)

// wireCounter counts the Modbus TCP requests a client sends, per unit.
type wireCounter struct {
	mu    sync.Mutex
	units map[byte]int
	funcs map[FunctionCode]int
}

func (w *wireCounter) unit(u byte) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.units[u]
}

func (w *wireCounter) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.units {
		n += c
	}
	return n
}

func (w *wireCounter) function(f FunctionCode) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.funcs[f]
}

// countingLink counts every MBAP frame written through it.
type countingLink struct {
	net.Conn
	w *wireCounter
}

func (c countingLink) Write(p []byte) (int, error) {
	c.w.mu.Lock()
	for b := p; len(b) >= MBAPHeaderLen+1; {
		n := MBAPHeaderLen - 1 + int(binary.BigEndian.Uint16(b[4:6]))
		c.w.units[b[6]]++
		c.w.funcs[FunctionCode(b[7])]++
		if n > len(b) {
			break
		}
		b = b[n:]
	}
	c.w.mu.Unlock()
	return c.Conn.Write(p)
}

// testConn returns a Modbus connection config for rawURL.
func testConn(t testing.TB, rawURL string) *config.Connection {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return &config.Connection{Name: "bus", URL: u, Protocol: config.Protocol(u.Scheme), Timeout: time.Second, InFlight: 1, MaxGap: 8}
}

// device returns a device on conn with points, named after spec by pt().
func device(name string, unit int, points ...*config.Point) *config.Device {
	d := &config.Device{Name: name, Unit: unit}
	for _, p := range points {
		p.Device = name
		if p.Access == "" {
			p.Access = config.Write
		}
		if p.Scale == 0 {
			p.Scale = 1
		}
		d.Points = append(d.Points, p)
	}
	return d
}

// newCountingDriver serves srv over Modbus TCP and returns a driver for
// devices that counts its requests.
func newCountingDriver(t *testing.T, srv *Server, opts DriverOptions, devices ...*config.Device) (*Driver, *wireCounter) {
	t.Helper()
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wireCounter{units: map[byte]int{}, funcs: map[FunctionCode]int{}}
	opts.Client.Dial = func(ctx context.Context) (Link, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr.String())
		if err != nil {
			return nil, err
		}
		return countingLink{c, w}, nil
	}
	conn := testConn(t, "tcp://"+addr.String())
	drv, err := NewDriver(conn, devices, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drv.Close() })
	return drv, w
}

func refs(devices ...*config.Device) []drivers.PointRef {
	var out []drivers.PointRef
	for _, d := range devices {
		for _, p := range d.Points {
			out = append(out, p.Ref())
		}
	}
	return out
}

func readAll(t *testing.T, drv *Driver, rs []drivers.PointRef) map[string]drivers.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	samples, err := drv.Read(ctx, rs)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(samples) != len(rs) {
		t.Fatalf("Read returned %d samples for %d refs", len(samples), len(rs))
	}
	out := map[string]drivers.Sample{}
	for i, s := range samples {
		if s.Ref != rs[i] {
			t.Fatalf("sample %d is %s, want %s", i, s.Ref, rs[i])
		}
		out[s.Ref.Point] = s
	}
	return out
}

func TestOpenDoesNotDial(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: a dial would fail
	drv, err := Open(testConn(t, "tcp://"+addr), []*config.Device{device("sign", 1, pt("h0"))}, nil)
	if err != nil {
		t.Fatalf("Open with the device down: %v", err)
	}
	defer drv.Close()
	samples, err := drv.Read(context.Background(), []drivers.PointRef{{Device: "sign", Point: "h0"}})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !errors.Is(samples[0].Err, ErrConnection) || !strings.HasPrefix(samples[0].Err.Error(), "read sign.h0: ") {
		t.Fatalf("sample error = %v, want read sign.h0: … ErrConnection", samples[0].Err)
	}
	if _, err := drv.Read(context.Background(), []drivers.PointRef{{Device: "sign", Point: "nope"}}); err == nil {
		t.Fatal("Read of an unknown ref succeeded")
	}
}

// roundTripCases are written through the driver and read back: every type,
// every byte order, scale and offset, a coil and a bit of a register.
func roundTripCases() []struct {
	point *config.Point
	value drivers.Value
} {
	type c = struct {
		point *config.Point
		value drivers.Value
	}
	var cases []c
	addr := 100
	add := func(typ config.Type, order config.Order, count int, scale, offset float64, v drivers.Value) {
		p := &config.Point{Name: fmt.Sprintf("%s_%s_%d", typ, order, addr), Table: config.Holding, Address: addr,
			Bit: -1, Type: typ, Order: order, Count: count, Scale: scale, Offset: offset}
		cases = append(cases, c{p, v})
		addr += p.Registers()
	}
	for _, o := range Orders {
		add(config.TypeInt16, o, 0, 1, 0, drivers.Number(-1234))
		add(config.TypeUint16, o, 0, 0.01, 0, drivers.Number(2.41))
		add(config.TypeInt32, o, 0, 1, 0, drivers.Number(-2))
		add(config.TypeUint32, o, 0, 1, 0, drivers.Number(4000000000))
		add(config.TypeInt64, o, 0, 1, 0, drivers.Number(-(1 << 53)))
		add(config.TypeUint64, o, 0, 1, 0, drivers.Number(1<<53))
		add(config.TypeFloat32, o, 0, 1, 0, drivers.Number(float64(float32(123.456))))
		add(config.TypeFloat64, o, 0, 1, 0, drivers.Number(math.Pi))
		add(config.TypeInt16, o, 0, 0.1, -40, drivers.Number(21.5))
		add(config.TypeString, o, 3, 1, 0, drivers.String("SIGN1"))
		add(config.TypeBool, o, 0, 1, 0, drivers.Bool(true))
	}
	cases = append(cases,
		c{&config.Point{Name: "coil", Table: config.Coil, Address: 7, Bit: -1, Type: config.TypeBool}, drivers.Bool(true)},
		c{&config.Point{Name: "bit3", Table: config.Holding, Address: 40, Bit: 3, Type: config.TypeBool}, drivers.Bool(true)},
		c{&config.Point{Name: "bit0", Table: config.Holding, Address: 40, Bit: 0, Type: config.TypeBool}, drivers.Bool(false)},
	)
	return cases
}

func TestDriverWriteReadRoundTrip(t *testing.T) {
	for _, tr := range []string{"tcp", "rtutcp"} {
		t.Run(tr, func(t *testing.T) {
			srv := NewServer(ServerConfig{})
			t.Cleanup(func() { _ = srv.Close() })
			bank := NewBank(testBank)
			srv.AddUnit(5, bank)
			if err := bank.SetRegisters(HoldingRegisters, 40, 0xF0F1); err != nil {
				t.Fatal(err)
			}
			listen := srv.ListenTCP
			if tr == "rtutcp" {
				listen = srv.ListenRTUOverTCP
			}
			addr, err := listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cases := roundTripCases()
			dev := &config.Device{Name: "dev", Unit: 5}
			for _, c := range cases {
				c.point.Device, c.point.Access = "dev", config.Write
				if c.point.Scale == 0 {
					c.point.Scale = 1
				}
				dev.Points = append(dev.Points, c.point)
			}
			drv, err := NewDriver(testConn(t, tr+"://"+addr.String()), []*config.Device{dev}, DriverOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer drv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for _, c := range cases {
				if err := drv.Write(ctx, c.point.Ref(), c.value); err != nil {
					t.Fatalf("Write %s = %v: %v", c.point.Name, c.value, err)
				}
			}
			got := readAll(t, drv, refs(dev))
			for _, c := range cases {
				s := got[c.point.Name]
				if s.Err != nil || !drivers.Equal(s.Value, c.value, 1e-9) || s.Value.Kind() != c.value.Kind() {
					t.Errorf("%s: read %#v (err %v), wrote %#v", c.point.Name, s.Value, s.Err, c.value)
				}
			}
			// The wire layout is the codec's: float32 123.456 in each order.
			for _, vec := range valueVectors {
				if !strings.HasPrefix(vec.name, "float32 123.456") {
					continue
				}
				var p *config.Point
				for _, q := range dev.Points {
					if strings.HasPrefix(q.Name, fmt.Sprintf("float32_%s_", vec.order)) {
						p = q
					}
				}
				regs, _ := bank.Registers(HoldingRegisters, uint16(p.Address), 2)
				if !slices.Equal(regs, vec.regs) {
					t.Errorf("%s on the device: % 04X, want % 04X", vec.name, regs, vec.regs)
				}
			}
			// Read-modify-write kept the other bits of register 40.
			if regs, _ := bank.Registers(HoldingRegisters, 40, 1); regs[0] != 0xF0F8 {
				t.Errorf("register 40 = %04X, want F0F8 (bit 3 set, bit 0 cleared, others kept)", regs[0])
			}
		})
	}
}

func TestDriverWriteFunctionCodes(t *testing.T) {
	srv := NewServer(ServerConfig{})
	t.Cleanup(func() { _ = srv.Close() })
	srv.AddUnit(1, NewBank(testBank))
	dev := device("d", 1,
		&config.Point{Name: "coil", Table: config.Coil, Address: 1, Bit: -1, Type: config.TypeBool},
		&config.Point{Name: "u16", Table: config.Holding, Address: 2, Bit: -1, Type: config.TypeUint16},
		&config.Point{Name: "f32", Table: config.Holding, Address: 3, Bit: -1, Type: config.TypeFloat32},
		&config.Point{Name: "bit", Table: config.Holding, Address: 5, Bit: 2, Type: config.TypeBool},
		&config.Point{Name: "ro", Table: config.Holding, Address: 6, Bit: -1, Type: config.TypeUint16, Access: config.Read},
	)
	drv, w := newCountingDriver(t, srv, DriverOptions{}, dev)
	ctx := context.Background()
	tests := []struct {
		name    string
		point   string
		value   drivers.Value
		fcs     []FunctionCode // sent, in any order
		wantErr string
	}{
		{"coil uses FC05", "coil", drivers.Bool(true), []FunctionCode{FuncWriteSingleCoil}, ""},
		{"one register uses FC06", "u16", drivers.Number(7), []FunctionCode{FuncWriteSingleRegister}, ""},
		{"two registers use FC16", "f32", drivers.Number(1.5), []FunctionCode{FuncWriteMultipleRegisters}, ""},
		{"register bit uses FC03 then FC06", "bit", drivers.Bool(true), []FunctionCode{FuncReadHoldingRegisters, FuncWriteSingleRegister}, ""},
		{"out of range is refused before sending", "u16", drivers.Number(70000), nil, "write d.u16: value does not fit the point: 70000 (raw 70000) is outside the range of uint16"},
		{"read-only point is refused", "ro", drivers.Number(1), nil, "write d.ro: point is read-only (access: read)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := map[FunctionCode]int{}
			for _, f := range []FunctionCode{FuncWriteSingleCoil, FuncWriteSingleRegister, FuncWriteMultipleRegisters, FuncReadHoldingRegisters} {
				before[f] = w.function(f)
			}
			total := w.total()
			err := drv.Write(ctx, drivers.PointRef{Device: "d", Point: tc.point}, tc.value)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Write error = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if got := w.total() - total; got != len(tc.fcs) {
				t.Fatalf("%d requests sent, want %d", got, len(tc.fcs))
			}
			for _, f := range tc.fcs {
				if w.function(f) != before[f]+1 {
					t.Errorf("no %s request sent", f)
				}
			}
		})
	}
}

func TestDriverCoalesces(t *testing.T) {
	srv := NewServer(ServerConfig{})
	t.Cleanup(func() { _ = srv.Close() })
	bank := NewBank(testBank)
	srv.AddUnit(1, bank)
	for a := range 40 {
		_ = bank.SetRegisters(HoldingRegisters, uint16(a), uint16(1000+a))
		_ = bank.SetRegisters(InputRegisters, uint16(a), uint16(2000+a))
		_ = bank.SetBits(Coils, uint16(a), a%2 == 1)
	}
	// 8 points in 3 tables; with max_gap 8 they take 3 requests:
	// holding 0..12, input 30..31, coils 1..33.
	dev := device("d", 1,
		pt("h0"), pt("h3"), pt("h4:f32"), pt("h12"), pt("i30"), pt("i31"), pt("c1"), pt("c33"))
	drv, w := newCountingDriver(t, srv, DriverOptions{}, dev)
	plan, err := drv.Plan(refs(dev))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := planString(plan), "coil 1+33 [c1 c33]; holding 0+13 [h0 h3 h4:f32 h12]; input 30+2 [i30 i31]"; got != want {
		t.Fatalf("plan:\n got %s\nwant %s", got, want)
	}
	got := readAll(t, drv, refs(dev))
	if n := w.total(); n != 3 {
		t.Fatalf("Read sent %d requests, want 3", n)
	}
	f32, _ := DecodeRaw(config.TypeFloat32, config.ABCD, []uint16{1004, 1005})
	want := map[string]drivers.Value{
		"h0": drivers.Number(1000), "h3": drivers.Number(1003), "h4:f32": drivers.Number(f32.Float), "h12": drivers.Number(1012),
		"i30": drivers.Number(2030), "i31": drivers.Number(2031), "c1": drivers.Bool(true), "c33": drivers.Bool(true),
	}
	for name, v := range want {
		if s := got[name]; s.Err != nil || !drivers.Equal(s.Value, v, 0) {
			t.Errorf("%s = %#v (err %v), want %#v", name, s.Value, s.Err, v)
		}
	}
}

func TestDriverFailureStaysLocal(t *testing.T) {
	srv := NewServer(ServerConfig{})
	t.Cleanup(func() { _ = srv.Close() })
	srv.AddUnit(1, NewBank(BankConfig{HoldingRegisters: Range{0, 10}, InputRegisters: Range{0, 10}}))
	// h500 is beyond the bank: its own request fails, the others do not.
	dev := device("d", 1, pt("h1"), pt("h500"), pt("i2"))
	drv, _ := newCountingDriver(t, srv, DriverOptions{}, dev)
	got := readAll(t, drv, refs(dev))
	if got["h1"].Err != nil || got["i2"].Err != nil {
		t.Fatalf("healthy points failed: %v, %v", got["h1"].Err, got["i2"].Err)
	}
	var ee *ExceptionError
	if err := got["h500"].Err; !errors.As(err, &ee) || ee.Code != IllegalDataAddress || !strings.HasPrefix(err.Error(), "read d.h500: ") {
		t.Fatalf("h500 error = %v, want read d.h500: … illegal data address", err)
	}
}

// holeServer is a Modbus TCP device whose holding registers 0..99 exist
// except for a hole: a read touching it is answered IllegalDataAddress, as
// many real devices do for reserved registers.
type holeServer struct {
	addr     string
	hole     [2]int // first, last
	requests []Request
	mu       sync.Mutex
}

func startHoleServer(t *testing.T, first, last int) *holeServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &holeServer{addr: l.Addr().String(), hole: [2]int{first, last}}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				h.serve(c)
			}()
		}
	}()
	return h
}

func (h *holeServer) serve(c net.Conn) {
	head := make([]byte, MBAPHeaderLen)
	for {
		if _, err := io.ReadFull(c, head); err != nil {
			return
		}
		rest := make([]byte, int(binary.BigEndian.Uint16(head[4:6]))-1)
		if _, err := io.ReadFull(c, rest); err != nil {
			return
		}
		req, err := DecodeRequest(rest)
		if err != nil {
			return
		}
		h.mu.Lock()
		h.requests = append(h.requests, req)
		h.mu.Unlock()
		var pdu []byte
		first, last := int(req.Address), int(req.Address)+int(req.Quantity)-1
		if req.Function != FuncReadHoldingRegisters || last >= 100 || (first <= h.hole[1] && last >= h.hole[0]) {
			pdu = AppendExceptionPDU(nil, req.Function, IllegalDataAddress)
		} else {
			r := Response{Function: req.Function}
			for a := first; a <= last; a++ {
				r.Registers = append(r.Registers, uint16(a*10))
			}
			pdu = r.AppendPDU(nil)
		}
		if _, err := c.Write(AppendTCPFrame(nil, binary.BigEndian.Uint16(head[0:2]), head[6], pdu)); err != nil {
			return
		}
	}
}

func (h *holeServer) sent() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.requests {
		out = append(out, fmt.Sprintf("%d+%d", r.Address, r.Quantity))
	}
	h.requests = nil
	return out
}

func TestDriverSplitsRefusedRead(t *testing.T) {
	h := startHoleServer(t, 3, 4)
	// h0, h2, h6 coalesce into one read of 0..6, which touches the hole at
	// 3..4; h20, h21 are read together and are not concerned.
	dev := device("d", 1, pt("h0"), pt("h2"), pt("h6"), pt("h20"), pt("h21"))
	drv, err := NewDriver(testConn(t, "tcp://"+h.addr), []*config.Device{dev}, DriverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	want := map[string]float64{"h0": 0, "h2": 20, "h6": 60, "h20": 200, "h21": 210}
	for cycle, wantSent := range [][]string{
		{"0+7", "0+1", "2+1", "6+1", "20+2"}, // refused, then point by point
		{"0+1", "2+1", "6+1", "20+2"},        // the split is remembered
		{"0+1", "2+1", "6+1", "20+2"},
	} {
		got := readAll(t, drv, refs(dev))
		for name, v := range want {
			if s := got[name]; s.Err != nil || !drivers.Equal(s.Value, drivers.Number(v), 0) {
				t.Errorf("cycle %d: %s = %#v (err %v), want %v", cycle, name, s.Value, s.Err, v)
			}
		}
		if sent := h.sent(); !slices.Equal(sent, wantSent) {
			t.Errorf("cycle %d: requests %v, want %v", cycle, sent, wantSent)
		}
	}
}

func TestDeadUnitDoesNotStallOthers(t *testing.T) {
	srv := NewServer(ServerConfig{})
	t.Cleanup(func() { _ = srv.Close() })
	for _, id := range []byte{1, 2, 3} {
		b := NewBank(testBank)
		_ = b.SetRegisters(HoldingRegisters, 0, uint16(id)*100)
		srv.AddUnit(id, b)
	}
	clk := clock.NewFake(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	// Unit 2's points take two requests (0 and 50 are too far apart to
	// bridge); after its first timeout the second is not sent.
	sign := device("sign", 1, pt("h0"))
	flag := device("flag", 2, pt("h0"), pt("h50"))
	pa := device("pa", 3, pt("h0"))
	drv, w := newCountingDriver(t, srv, DriverOptions{
		Clock: clk, TimeoutsBeforeBackoff: 1, UnitBackoffMin: time.Second, UnitBackoffMax: 4 * time.Second,
		Client: ClientConfig{Timeout: 150 * time.Millisecond},
	}, sign, flag, pa)
	all := refs(sign, flag, pa)
	srv.Unit(2).SetOffline(true)

	cycle := func(t *testing.T, wantFlag func(t *testing.T, s drivers.Sample)) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		samples, err := drv.Read(ctx, all)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		for _, s := range samples {
			switch s.Ref.Device {
			case "sign", "pa":
				want := map[string]float64{"sign": 100, "pa": 300}[s.Ref.Device]
				if s.Err != nil || !drivers.Equal(s.Value, drivers.Number(want), 0) {
					t.Fatalf("%s = %#v (err %v), want %v: a dead unit stalled a healthy one", s.Ref, s.Value, s.Err, want)
				}
			case "flag":
				wantFlag(t, s)
			}
		}
	}
	timedOut := func(t *testing.T, s drivers.Sample) {
		t.Helper()
		if !errors.Is(s.Err, ErrTimeout) {
			t.Fatalf("%s error = %v, want a timeout", s.Ref, s.Err)
		}
	}
	backingOff := func(timeouts int) func(t *testing.T, s drivers.Sample) {
		return func(t *testing.T, s drivers.Sample) {
			t.Helper()
			var be *BackoffError
			want := fmt.Sprintf("read %s: unit 2 backing off after %d timeouts", s.Ref, timeouts)
			if !errors.As(s.Err, &be) || !strings.HasPrefix(s.Err.Error(), want) {
				t.Fatalf("%s error = %v, want %q…", s.Ref, s.Err, want)
			}
		}
	}

	// Cycle 1: unit 2 is asked once, times out, and backs off for 1 s.
	cycle(t, timedOut)
	if n := w.unit(2); n != 1 {
		t.Fatalf("unit 2 got %d requests in its first cycle, want 1 (the second is skipped after a timeout)", n)
	}
	// While the clock stands, every cycle serves units 1 and 3 and leaves
	// unit 2 alone.
	for range 5 {
		cycle(t, backingOff(1))
	}
	if n1, n2, n3 := w.unit(1), w.unit(2), w.unit(3); n1 != 6 || n2 != 1 || n3 != 6 {
		t.Fatalf("requests per unit after 6 cycles: 1:%d 2:%d 3:%d, want 6, 1, 6", n1, n2, n3)
	}
	// At its backoff interval unit 2 is tried once more; silent again, it
	// backs off for twice as long.
	clk.Advance(time.Second)
	cycle(t, timedOut)
	clk.Advance(1500 * time.Millisecond)
	cycle(t, backingOff(2))
	if n := w.unit(2); n != 2 {
		t.Fatalf("unit 2 got %d requests, want 2", n)
	}
	// It comes back: at its next try its points recover, and it is polled
	// every cycle again.
	srv.Unit(2).SetOffline(false)
	clk.Advance(500 * time.Millisecond)
	wantFlag := func(t *testing.T, s drivers.Sample) {
		t.Helper()
		want := map[string]float64{"h0": 200, "h50": 0}[s.Ref.Point]
		if s.Err != nil || !drivers.Equal(s.Value, drivers.Number(want), 0) {
			t.Fatalf("%s = %#v (err %v), want %v after recovery", s.Ref, s.Value, s.Err, want)
		}
	}
	cycle(t, wantFlag)
	cycle(t, wantFlag)
	if n := w.unit(2); n != 2+4 {
		t.Fatalf("unit 2 got %d requests, want 6 (two per cycle after recovery)", n)
	}
}

func TestGatewayTargetFailedBacksOff(t *testing.T) {
	// A TCP gateway answers for a unit that is not on its serial line.
	srv := NewServer(ServerConfig{UnknownUnit: UnknownUnitGatewayFailed})
	t.Cleanup(func() { _ = srv.Close() })
	srv.AddUnit(1, NewBank(testBank))
	clk := clock.NewFake(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	ok, gone := device("ok", 1, pt("h0")), device("gone", 9, pt("h0"))
	drv, w := newCountingDriver(t, srv, DriverOptions{Clock: clk}, ok, gone)
	for range 4 {
		samples, err := drv.Read(context.Background(), refs(ok, gone))
		if err != nil {
			t.Fatal(err)
		}
		if samples[0].Err != nil || !isSilent(samples[1].Err) {
			t.Fatalf("ok.h0 error %v, gone.h0 error %v; want none and a timeout or backoff", samples[0].Err, samples[1].Err)
		}
	}
	// Two refusals in a row (the default) put unit 9 into backoff.
	if n := w.unit(9); n != 2 {
		t.Fatalf("unit 9 got %d requests in 4 cycles, want 2", n)
	}
	if n := w.unit(1); n != 4 {
		t.Fatalf("unit 1 got %d requests in 4 cycles, want 4", n)
	}
}
