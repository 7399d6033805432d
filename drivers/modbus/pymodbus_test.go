package modbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/pymodbustest"
	"github.com/beacon-edge/beacon/internal/testenv"
	"golang.org/x/sys/unix"
)

// The data the pymodbus peer's units hold (see pymodbus_peer.py).
func peerCoil(i int) bool      { return i%3 == 0 }
func peerDiscrete(i int) bool  { return i%2 == 0 }
func peerHolding(i int) uint16 { return uint16(i) }
func peerInput(i int) uint16   { return uint16(1000 + i) }

// clientAgainstPeer runs every function code of Beacon's client against a
// pymodbus server.
func clientAgainstPeer(t *testing.T, c *Client) {
	ctx := func() context.Context { return ctxTimeout(t, 3*time.Second) }
	cases := []struct {
		name string
		run  func(t *testing.T) (got, want any, err error)
	}{
		{"FC01 read coils", func(t *testing.T) (any, any, error) {
			got, err := c.ReadCoils(ctx(), 1, 3, 11)
			want := make([]bool, 11)
			for i := range want {
				want[i] = peerCoil(3 + i)
			}
			return got, want, err
		}},
		{"FC02 read discrete inputs", func(t *testing.T) (any, any, error) {
			got, err := c.ReadDiscreteInputs(ctx(), 1, 7, 9)
			want := make([]bool, 9)
			for i := range want {
				want[i] = peerDiscrete(7 + i)
			}
			return got, want, err
		}},
		{"FC03 read 125 holding registers", func(t *testing.T) (any, any, error) {
			got, err := c.ReadHoldingRegisters(ctx(), 1, 600, 125)
			want := make([]uint16, 125)
			for i := range want {
				want[i] = peerHolding(600 + i)
			}
			return got, want, err
		}},
		{"FC04 read input registers", func(t *testing.T) (any, any, error) {
			got, err := c.ReadInputRegisters(ctx(), 1, 10, 3)
			return got, []uint16{peerInput(10), peerInput(11), peerInput(12)}, err
		}},
		{"FC05 then FC01 reads it back", func(t *testing.T) (any, any, error) {
			if err := c.WriteSingleCoil(ctx(), 1, 99, true); err != nil {
				return nil, nil, err
			}
			if err := c.WriteSingleCoil(ctx(), 1, 101, true); err != nil {
				return nil, nil, err
			}
			got, err := c.ReadCoils(ctx(), 1, 99, 3)
			return got, []bool{true, false, true}, err
		}},
		{"FC06 then FC03 reads it back", func(t *testing.T) (any, any, error) {
			if err := c.WriteSingleRegister(ctx(), 1, 200, 0xCAFE); err != nil {
				return nil, nil, err
			}
			got, err := c.ReadHoldingRegisters(ctx(), 1, 199, 3)
			return got, []uint16{199, 0xCAFE, 201}, err
		}},
		{"FC15 then FC01 reads it back", func(t *testing.T) (any, any, error) {
			vals := []bool{true, true, true, false, false, true, true, false, true, true}
			if err := c.WriteMultipleCoils(ctx(), 1, 300, vals); err != nil {
				return nil, nil, err
			}
			got, err := c.ReadCoils(ctx(), 1, 300, 10)
			return got, vals, err
		}},
		{"FC16 then FC03 reads it back", func(t *testing.T) (any, any, error) {
			if err := c.WriteMultipleRegisters(ctx(), 1, 400, []uint16{5, 6, 7, 8}); err != nil {
				return nil, nil, err
			}
			got, err := c.ReadHoldingRegisters(ctx(), 1, 400, 4)
			return got, []uint16{5, 6, 7, 8}, err
		}},
		{"FC23 writes before it reads", func(t *testing.T) (any, any, error) {
			got, err := c.ReadWriteMultipleRegisters(ctx(), 1, 500, 4, 501, []uint16{11, 12})
			return got, []uint16{500, 11, 12, 503}, err
		}},
		{"FC43/14 basic identification", func(t *testing.T) (any, any, error) {
			id, err := c.ReadDeviceIdentification(ctx(), 1, DeviceIDBasic, 0)
			return id.Objects, []DeviceObject{{0, []byte("pymodbus-peer")}, {1, []byte("PM-3")}, {2, []byte("3.0")}}, err
		}},
		{"FC43/14 regular identification follows more-follows", func(t *testing.T) (any, any, error) {
			id, err := c.ReadDeviceIdentification(ctx(), 1, DeviceIDRegular, 0)
			var ids []byte
			for _, o := range id.Objects {
				ids = append(ids, o.ID)
			}
			if v, _ := id.Object(ObjectModelName); err == nil && v != strings.Repeat("M", 120) {
				return v, strings.Repeat("M", 120), nil
			}
			return ids, []byte{0, 1, 2, 3, 4, 5}, err
		}},
		{"FC43/14 one specific object", func(t *testing.T) (any, any, error) {
			id, err := c.ReadDeviceIdentification(ctx(), 1, DeviceIDSpecific, ObjectVendorURL)
			v, _ := id.Object(ObjectVendorURL)
			return v, "https://pymodbus.example", err
		}},
		{"exception illegal data address", func(t *testing.T) (any, any, error) {
			_, err := c.ReadHoldingRegisters(ctx(), 1, 995, 10)
			var ee *ExceptionError
			ok := errors.As(err, &ee) && ee.Code == IllegalDataAddress && ee.Function == FuncReadHoldingRegisters
			return ok, true, nil
		}},
		{"unknown unit times out", func(t *testing.T) (any, any, error) {
			_, err := c.ReadHoldingRegisters(ctxTimeout(t, 300*time.Millisecond), 77, 0, 1)
			return errors.Is(err, ErrTimeout) || errors.Is(err, GatewayTargetFailed), true, nil
		}},
		{"unit 2 still answers after the timeout", func(t *testing.T) (any, any, error) {
			got, err := c.ReadHoldingRegisters(ctx(), 2, 0, 2)
			return got, []uint16{0, 1}, err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, want, err := tc.run(t)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

func TestClientAgainstPymodbusServer(t *testing.T) {
	for _, tc := range []struct{ name, framer, scheme string }{
		{"tcp", "socket", "tcp"},
		{"rtu over tcp", "rtu", "rtutcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pymodbustest.Start(t, nil, "server", "--framer", tc.framer)
			c, err := NewClient(tc.scheme+"://127.0.0.1:"+p.Ready, ClientConfig{Timeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			clientAgainstPeer(t, c)
		})
	}
}

// TestClientReconnectsToPymodbusServer kills the pymodbus server under a
// working client and starts it again on the same port.
func TestClientReconnectsToPymodbusServer(t *testing.T) {
	port := strconv.Itoa(testenv.FreePort(t))
	p := pymodbustest.Start(t, nil, "server", "--port", port)
	c, err := NewClient("tcp://127.0.0.1:"+port, ClientConfig{Timeout: time.Second, BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.ReadHoldingRegisters(ctxTimeout(t, 3*time.Second), 1, 7, 1); err != nil || got[0] != 7 {
		t.Fatalf("before: %v, %v", got, err)
	}
	p.Stop()
	if _, err := c.ReadHoldingRegisters(ctxTimeout(t, 3*time.Second), 1, 7, 1); !errors.Is(err, ErrConnection) {
		t.Fatalf("server gone: err = %v, want ErrConnection", err)
	}
	pymodbustest.Start(t, nil, "server", "--port", port)
	var got []uint16
	testenv.WaitFor(t, 10*time.Second, "client reconnects to the restarted server", func() bool {
		got, err = c.ReadHoldingRegisters(ctxTimeout(t, time.Second), 1, 8, 1)
		return err == nil
	})
	if got[0] != 8 {
		t.Fatalf("after restart read %v, want [8]", got)
	}
}

// peerBankServer is a Beacon server holding the pymodbus peer's data, for
// the pymodbus client roles.
func peerBankServer(t *testing.T) *Server {
	s := NewServer(ServerConfig{UnknownUnit: UnknownUnitGatewayFailed})
	t.Cleanup(func() { _ = s.Close() })
	for _, id := range []byte{1, 2} {
		b := NewBank(testBank)
		for i := range 1000 {
			_ = b.SetBits(Coils, uint16(i), peerCoil(i))
			_ = b.SetBits(DiscreteInputs, uint16(i), peerDiscrete(i))
			_ = b.SetRegisters(HoldingRegisters, uint16(i), peerHolding(i))
			_ = b.SetRegisters(InputRegisters, uint16(i), peerInput(i))
		}
		u := s.AddUnit(id, b)
		u.DeviceID = []DeviceObject{
			{0, []byte("pymodbus-peer")}, {1, []byte("PM-3")}, {2, []byte("3.0")},
			{3, []byte("https://pymodbus.example")}, {4, []byte(strings.Repeat("P", 120))}, {5, []byte(strings.Repeat("M", 120))},
		}
	}
	return s
}

// checkPeerClientResult checks what the pymodbus client saw of a
// peerBankServer, and what it left in the bank.
func checkPeerClientResult(t *testing.T, s *Server, line string, serial bool) {
	var got map[string]map[string]any
	t.Logf("pymodbus client: %s", pymodbustest.Tail(line, 300))
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("pymodbus client output %q: %v", line, err)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	bitsPrefix := func(name string, n int) string {
		b, _ := got[name]["bits"].([]any)
		return js(b[:min(n, len(b))])
	}
	cases := []struct {
		name      string
		got, want string
	}{
		{"FC01", bitsPrefix("fc01", 10), js([]bool{true, false, false, true, false, false, true, false, false, true})},
		{"FC02", bitsPrefix("fc02", 10), js([]bool{true, false, true, false, true, false, true, false, true, false})},
		{"FC03", js(got["fc03"]["registers"]), "[0,1,2,3,4]"},
		{"FC04", js(got["fc04"]["registers"]), "[1000,1001,1002,1003,1004]"},
		{"FC05 echo", js(got["fc05"]), `{"address":20,"function":5,"value":true}`},
		{"FC06 echo", js(got["fc06"]), `{"address":30,"function":6,"value":777}`},
		{"FC15 echo", js(got["fc15"]), `{"address":40,"count":3,"function":15}`},
		{"FC16 echo", js(got["fc16"]), `{"address":50,"count":3,"function":16}`},
		{"FC23 write then read", js(got["fc23"]["registers"]), "[1,9,3]"},
		{"FC43 basic", js(got["fc43_basic"]["objects"]), `{"0":"pymodbus-peer","1":"PM-3","2":"3.0"}`},
		{"FC43 specific", js(got["fc43_specific"]["objects"]), `{"3":"https://pymodbus.example"}`},
		{"FC43 regular needs 2 responses", js(got["fc43_regular"]["rounds"]), "2"},
		{"FC43 regular object 5", js(got["fc43_regular"]["objects"].(map[string]any)["5"]), js(strings.Repeat("M", 120))},
		{"exception illegal data address", js(got["exc_address"]), `{"exception":2}`},
		{"exception illegal data value for 126 registers", js(got["exc_value"]), `{"exception":3}`},
	}
	if !serial {
		cases = append(cases, struct{ name, got, want string }{"unknown unit: gateway target failed", js(got["exc_unit"]), `{"exception":11}`})
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: pymodbus saw %s, want %s", c.name, c.got, c.want)
		}
	}
	b := s.Unit(1).Bank
	coil, _ := b.Bits(Coils, 20, 1)
	reg, _ := b.Registers(HoldingRegisters, 30, 1)
	coils, _ := b.Bits(Coils, 40, 3)
	regs, _ := b.Registers(HoldingRegisters, 50, 3)
	if !coil[0] || reg[0] != 777 || !reflect.DeepEqual(coils, []bool{true, false, true}) || !reflect.DeepEqual(regs, []uint16{1, 9, 3}) {
		t.Errorf("bank after pymodbus writes: coil 20 %v, reg 30 %v, coils 40.. %v, regs 50.. %v", coil, reg, coils, regs)
	}
}

func TestPymodbusClientAgainstServer(t *testing.T) {
	for _, tc := range []struct{ name, framer string }{{"tcp", "socket"}, {"rtu over tcp", "rtu"}} {
		t.Run(tc.name, func(t *testing.T) {
			s := peerBankServer(t)
			listen := s.ListenTCP
			if tc.framer == "rtu" {
				listen = s.ListenRTUOverTCP
			}
			addr, err := listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			_, port, _ := strings.Cut(addr.String(), ":")
			p := pymodbustest.Start(t, nil, "client", "--framer", tc.framer, "--port", port)
			checkPeerClientResult(t, s, p.Line(t, 30*time.Second), false)
		})
	}
}

// openPTY opens a pseudo-terminal pair: the master as a file, and the
// slave's path (/dev/pts/N), which Beacon opens as a serial port.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		testenv.Missing(t, "pseudo-terminals", err.Error())
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("pty number: %v", err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { _ = master.Close() })
	return master, fmt.Sprintf("/dev/pts/%d", n)
}

// TestRTUOverPTY runs Beacon's RTU client and server, on a serial port
// opened through go.bug.st/serial, against pymodbus's RTU framer on the
// other end of a pseudo-terminal.
func TestRTUOverPTY(t *testing.T) {
	const line = "?baud=38400&parity=N&stop=1"
	t.Run("Beacon client, pymodbus server", func(t *testing.T) {
		master, slave := openPTY(t)
		pymodbustest.Start(t, []*os.File{master}, "rtu-server", "--fd", "3")
		c, err := NewClient("rtu://"+slave+line, ClientConfig{Timeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clientAgainstPeer(t, c)
	})
	t.Run("pymodbus client, Beacon server", func(t *testing.T) {
		master, slave := openPTY(t)
		s := peerBankServer(t)
		port, err := OpenSerial(slave, SerialConfig{Baud: 38400, DataBits: 8, Parity: 'N', StopBits: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ServeRTU(port, T35(38400, 10)); err != nil {
			t.Fatal(err)
		}
		p := pymodbustest.Start(t, []*os.File{master}, "rtu-client", "--fd", "3")
		checkPeerClientResult(t, s, p.Line(t, 30*time.Second), true)
	})
}
