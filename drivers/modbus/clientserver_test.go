package modbus

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/testenv"
)

// TestClientServerFunctionCodes runs every function code of Beacon's client
// against Beacon's server over every transport, checking the values that
// cross and the bank the server ends with.
func TestClientServerFunctionCodes(t *testing.T) {
	type check func(t *testing.T, c *Client, u *Unit)
	cases := []struct {
		name string
		run  check
	}{
		{"FC01 read coils", func(t *testing.T, c *Client, u *Unit) {
			_ = u.Bank.SetBits(Coils, 10, true, false, true, true)
			got, err := c.ReadCoils(ctxTimeout(t, time.Second), 1, 9, 6)
			want := []bool{false, true, false, true, true, false}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("ReadCoils = %v, %v; want %v", got, err, want)
			}
		}},
		{"FC02 read discrete inputs", func(t *testing.T, c *Client, u *Unit) {
			_ = u.Bank.SetBits(DiscreteInputs, 999, true)
			got, err := c.ReadDiscreteInputs(ctxTimeout(t, time.Second), 1, 990, 10)
			want := make([]bool, 10)
			want[9] = true
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("ReadDiscreteInputs = %v, %v; want %v", got, err, want)
			}
		}},
		{"FC03 read holding registers", func(t *testing.T, c *Client, u *Unit) {
			_ = u.Bank.SetRegisters(HoldingRegisters, 100, 1, 0xFFFF, 0x8000)
			got, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 100, 3)
			if want := []uint16{1, 0xFFFF, 0x8000}; err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("ReadHoldingRegisters = %v, %v; want %v", got, err, want)
			}
		}},
		{"FC03 read 125 registers", func(t *testing.T, c *Client, u *Unit) {
			want := make([]uint16, 125)
			for i := range want {
				want[i] = uint16(i * 3)
			}
			_ = u.Bank.SetRegisters(HoldingRegisters, 500, want...)
			got, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 500, 125)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("ReadHoldingRegisters = %v, %v; want %v", got, err, want)
			}
		}},
		{"FC04 read input registers", func(t *testing.T, c *Client, u *Unit) {
			_ = u.Bank.SetRegisters(InputRegisters, 0, 230, 12)
			got, err := c.ReadInputRegisters(ctxTimeout(t, time.Second), 1, 0, 2)
			if want := []uint16{230, 12}; err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("ReadInputRegisters = %v, %v; want %v", got, err, want)
			}
		}},
		{"FC05 write single coil", func(t *testing.T, c *Client, u *Unit) {
			if err := c.WriteSingleCoil(ctxTimeout(t, time.Second), 1, 7, true); err != nil {
				t.Fatal(err)
			}
			if got, _ := u.Bank.Bits(Coils, 7, 1); !got[0] {
				t.Fatalf("coil 7 = %v after writing true", got)
			}
		}},
		{"FC06 write single register", func(t *testing.T, c *Client, u *Unit) {
			if err := c.WriteSingleRegister(ctxTimeout(t, time.Second), 1, 42, 0xBEEF); err != nil {
				t.Fatal(err)
			}
			if got, _ := u.Bank.Registers(HoldingRegisters, 42, 1); got[0] != 0xBEEF {
				t.Fatalf("register 42 = %#x, want 0xBEEF", got[0])
			}
		}},
		{"FC15 write multiple coils", func(t *testing.T, c *Client, u *Unit) {
			vals := []bool{true, true, false, true, false, false, false, true, true}
			if err := c.WriteMultipleCoils(ctxTimeout(t, time.Second), 1, 200, vals); err != nil {
				t.Fatal(err)
			}
			if got, _ := u.Bank.Bits(Coils, 200, len(vals)); !reflect.DeepEqual(got, vals) {
				t.Fatalf("coils 200.. = %v, want %v", got, vals)
			}
		}},
		{"FC16 write multiple registers", func(t *testing.T, c *Client, u *Unit) {
			vals := []uint16{10, 20, 30, 40}
			if err := c.WriteMultipleRegisters(ctxTimeout(t, time.Second), 1, 300, vals); err != nil {
				t.Fatal(err)
			}
			if got, _ := u.Bank.Registers(HoldingRegisters, 300, 4); !reflect.DeepEqual(got, vals) {
				t.Fatalf("registers 300.. = %v, want %v", got, vals)
			}
		}},
		{"FC23 write before read", func(t *testing.T, c *Client, u *Unit) {
			_ = u.Bank.SetRegisters(HoldingRegisters, 400, 1, 2, 3, 4)
			// The read overlaps the write, so it must see the written values (§6.17).
			got, err := c.ReadWriteMultipleRegisters(ctxTimeout(t, time.Second), 1, 400, 4, 402, []uint16{33, 44})
			if want := []uint16{1, 2, 33, 44}; err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("ReadWriteMultipleRegisters = %v, %v; want %v", got, err, want)
			}
		}},
		{"FC43/14 basic identification", func(t *testing.T, c *Client, u *Unit) {
			id, err := c.ReadDeviceIdentification(ctxTimeout(t, time.Second), 1, DeviceIDBasic, 0)
			if err != nil || len(id.Objects) != 3 || id.Conformity != 0x82 {
				t.Fatalf("ReadDeviceIdentification = %+v, %v; want 3 objects, conformity 0x82", id, err)
			}
			if v, _ := id.Object(ObjectProductCode); v != "BCN-SIM" {
				t.Errorf("product code = %q, want BCN-SIM", v)
			}
		}},
		{"FC43/14 regular identification over several responses", func(t *testing.T, c *Client, u *Unit) {
			id, err := c.ReadDeviceIdentification(ctxTimeout(t, time.Second), 1, DeviceIDRegular, 0)
			if err != nil || !reflect.DeepEqual(id.Objects, testDeviceID) {
				t.Fatalf("ReadDeviceIdentification = %+v, %v; want all %d objects", id, err, len(testDeviceID))
			}
		}},
		{"FC43/14 one specific object", func(t *testing.T, c *Client, u *Unit) {
			id, err := c.ReadDeviceIdentification(ctxTimeout(t, time.Second), 1, DeviceIDSpecific, ObjectVendorURL)
			if v, _ := id.Object(ObjectVendorURL); err != nil || len(id.Objects) != 1 || v != "https://beacon.example" {
				t.Fatalf("ReadDeviceIdentification = %+v, %v; want the vendor URL alone", id, err)
			}
		}},
		{"exception illegal data address past the bank", func(t *testing.T, c *Client, u *Unit) {
			_, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 995, 10)
			var ee *ExceptionError
			if !errors.As(err, &ee) || ee.Code != IllegalDataAddress || ee.Function != FuncReadHoldingRegisters {
				t.Fatalf("err = %v, want IllegalDataAddress to FC03", err)
			}
		}},
		{"exception illegal data address on write leaves the bank", func(t *testing.T, c *Client, u *Unit) {
			err := c.WriteMultipleRegisters(ctxTimeout(t, time.Second), 1, 998, []uint16{7, 7, 7})
			if got, _ := u.Bank.Registers(HoldingRegisters, 998, 2); !errors.Is(err, IllegalDataAddress) || got[0] != 0 || got[1] != 0 {
				t.Fatalf("err = %v, registers 998.. = %v; want IllegalDataAddress and no change", err, got)
			}
		}},
		{"exception illegal function for FC43 without identification", func(t *testing.T, c *Client, u *Unit) {
			_, err := c.ReadDeviceIdentification(ctxTimeout(t, time.Second), 2, DeviceIDBasic, 0)
			if !errors.Is(err, IllegalFunction) {
				t.Fatalf("err = %v, want IllegalFunction", err)
			}
		}},
		{"exception illegal data address for an unknown specific object", func(t *testing.T, c *Client, u *Unit) {
			_, err := c.ReadDeviceIdentification(ctxTimeout(t, time.Second), 1, DeviceIDSpecific, 0x55)
			if !errors.Is(err, IllegalDataAddress) {
				t.Fatalf("err = %v, want IllegalDataAddress", err)
			}
		}},
		{"forced exception server busy, then normal again", func(t *testing.T, c *Client, u *Unit) {
			u.ForceException(ServerBusy)
			_, err := c.ReadInputRegisters(ctxTimeout(t, time.Second), 1, 0, 1)
			u.ForceException(0)
			if !errors.Is(err, ServerBusy) {
				t.Fatalf("err = %v, want ServerBusy", err)
			}
			if _, err := c.ReadInputRegisters(ctxTimeout(t, time.Second), 1, 0, 1); err != nil {
				t.Fatalf("after clearing the fault: %v", err)
			}
		}},
		{"limit 126 registers refused before sending", func(t *testing.T, c *Client, u *Unit) {
			_, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 0, 126)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
		}},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			s := newTestServer(t, ServerConfig{})
			c := newTestClient(t, s, tr, ClientConfig{})
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, c, s.Unit(1)) })
			}
		})
	}
}

func TestServerOnWriteHook(t *testing.T) {
	s := newTestServer(t, ServerConfig{})
	var mu sync.Mutex
	var got []WriteEvent
	u := s.Unit(1)
	u.OnWrite = func(e WriteEvent) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
		// A simulator reacts: the measured current follows the power coil.
		on, _ := u.Bank.Bits(Coils, 0, 1)
		if e.Table == Coils && on[0] {
			_ = u.Bank.SetRegisters(InputRegisters, 0, 250)
		}
	}
	c := newTestClient(t, s, transports[0], ClientConfig{})
	ctx := ctxTimeout(t, 2*time.Second)
	if err := c.WriteSingleCoil(ctx, 1, 0, true); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMultipleRegisters(ctx, 1, 10, []uint16{1, 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadHoldingRegisters(ctx, 1, 0, 1); err != nil {
		t.Fatal(err)
	}
	cur, err := c.ReadInputRegisters(ctx, 1, 0, 1)
	if err != nil || cur[0] != 250 {
		t.Fatalf("current after power on = %v, %v; want 250", cur, err)
	}
	want := []WriteEvent{{Unit: 1, Table: Coils, Address: 0, Count: 1}, {Unit: 1, Table: HoldingRegisters, Address: 10, Count: 2}}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("OnWrite events = %+v, want %+v (reads must not fire it)", got, want)
	}
}

func TestUnknownUnit(t *testing.T) {
	cases := []struct {
		name   string
		policy UnknownUnit
		want   error
	}{
		{"ignored: the client times out", UnknownUnitIgnore, ErrTimeout},
		{"gateway target failed", UnknownUnitGatewayFailed, GatewayTargetFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, ServerConfig{UnknownUnit: tc.policy})
			c := newTestClient(t, s, transports[0], ClientConfig{Timeout: 50 * time.Millisecond})
			_, err := c.ReadHoldingRegisters(context.Background(), 77, 0, 1)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == ErrTimeout && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timeout %v does not match context.DeadlineExceeded", err)
			}
			// The known unit still answers on the same connection.
			if _, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 0, 1); err != nil {
				t.Fatalf("unit 1 after unit 77: %v", err)
			}
		})
	}
}

// TestConcurrentCallers has many goroutines read distinct registers at once;
// each must get its own values, over every transport and with pipelining.
func TestConcurrentCallers(t *testing.T) {
	type setup struct {
		tr       transport
		inFlight int
		perG     int
	}
	setups := []setup{{transports[0], 1, 40}, {transports[0], 8, 40}, {transports[1], 1, 20}, {transports[2], 1, 5}}
	for _, st := range setups {
		t.Run(fmt.Sprintf("%s in flight %d", st.tr.name, st.inFlight), func(t *testing.T) {
			s := newTestServer(t, ServerConfig{})
			for a := range 1000 {
				_ = s.Unit(1).Bank.SetRegisters(HoldingRegisters, uint16(a), uint16(a*7))
			}
			c := newTestClient(t, s, st.tr, ClientConfig{MaxInFlight: st.inFlight, Timeout: 5 * time.Second})
			var wg sync.WaitGroup
			errs := make(chan error, 16*st.perG)
			for g := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range st.perG {
						addr := uint16((g*st.perG + i) % 990)
						got, err := c.ReadHoldingRegisters(context.Background(), 1, addr, 3)
						if err != nil {
							errs <- err
							return
						}
						for k, v := range got {
							if v != uint16((int(addr)+k)*7) {
								errs <- fmt.Errorf("read at %d got %v: another caller's answer", addr, got)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestTimeoutThenLateAnswer: a unit answers after the client gave up; the
// late answer must not be taken for the next request's.
func TestTimeoutThenLateAnswer(t *testing.T) {
	for _, tr := range transports[:2] {
		t.Run(tr.name, func(t *testing.T) {
			s := newTestServer(t, ServerConfig{})
			u := s.Unit(1)
			_ = u.Bank.SetRegisters(HoldingRegisters, 0, 111, 222)
			c := newTestClient(t, s, tr, ClientConfig{})
			u.SetDelay(80 * time.Millisecond)
			start := time.Now()
			_, err := c.ReadHoldingRegisters(ctxTimeout(t, 40*time.Millisecond), 1, 0, 1)
			if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want ErrTimeout matching context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d < 40*time.Millisecond || d > 500*time.Millisecond {
				t.Errorf("timed out after %v, want about 40ms", d)
			}
			u.SetDelay(0)
			got, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 1, 1)
			if err != nil || len(got) != 1 || got[0] != 222 {
				t.Fatalf("next read = %v, %v; want [222] (not the late [111])", got, err)
			}
		})
	}
}

func TestContextCancelEndsWait(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			s := newTestServer(t, ServerConfig{})
			s.Unit(1).SetOffline(true)
			c := newTestClient(t, s, tr, ClientConfig{Timeout: 10 * time.Second})
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				testenv.WaitFor(t, 2*time.Second, "request sent", func() bool { return len(c.sem) == 1 })
				cancel()
			}()
			start := time.Now()
			_, err := c.ReadCoils(ctx, 1, 0, 1)
			if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("cancel took %v", d)
			}
		})
	}
}

// TestMismatchedFramesDiscarded answers each request from a hand-written
// peer with frames of the wrong transaction, unit and function first; the
// client must skip them and return the right answer.
func TestMismatchedFramesDiscarded(t *testing.T) {
	right := []byte{0x03, 0x02, 0x12, 0x34} // FC03, 2 bytes, 0x1234
	cases := []struct {
		name  string
		rtu   bool
		wrong func(tx uint16) [][]byte // frames sent before the right one
	}{
		{"tcp: other transaction, unit, function", false, func(tx uint16) [][]byte {
			return [][]byte{
				AppendTCPFrame(nil, tx+1, 1, []byte{0x03, 0x02, 0xDE, 0xAD}),
				AppendTCPFrame(nil, tx, 9, []byte{0x03, 0x02, 0xDE, 0xAD}),
				AppendTCPFrame(nil, tx, 1, []byte{0x04, 0x02, 0xDE, 0xAD}),
			}
		}},
		{"rtu over tcp: other unit, function, bad CRC, other length", true, func(uint16) [][]byte {
			bad := AppendRTUFrame(nil, 1, []byte{0x03, 0x02, 0xDE, 0xAD})
			bad[len(bad)-1] ^= 0xFF
			return [][]byte{
				AppendRTUFrame(nil, 9, []byte{0x03, 0x02, 0xDE, 0xAD}),
				AppendRTUFrame(nil, 1, []byte{0x04, 0x02, 0xDE, 0xAD}),
				bad,
				AppendRTUFrame(nil, 1, []byte{0x03, 0x04, 0xDE, 0xAD, 0xBE, 0xEF}),
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakePeer(t, tc.rtu, func(tx uint16, unit byte, pdu []byte) [][]byte {
				frames := tc.wrong(tx)
				if tc.rtu {
					return append(frames, AppendRTUFrame(nil, unit, right))
				}
				return append(frames, AppendTCPFrame(nil, tx, unit, right))
			})
			scheme := "tcp://"
			if tc.rtu {
				scheme = "rtutcp://"
			}
			c, err := NewClient(scheme+addr, ClientConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := range 3 {
				got, err := c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 5, 1)
				if err != nil || len(got) != 1 || got[0] != 0x1234 {
					t.Fatalf("request %d: %v, %v; want [0x1234]", i, got, err)
				}
			}
		})
	}
}
