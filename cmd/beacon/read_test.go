package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers/modbus"
	"github.com/beacon-edge/beacon/internal/pymodbustest"
)

// modbusFixture is Beacon's own Modbus server on 127.0.0.1:0 holding known
// values, for the commissioning commands.
type modbusFixture struct {
	srv  *modbus.Server
	url  string
	bank *modbus.Bank // unit 1
}

func startModbus(t *testing.T, cfg modbus.ServerConfig) *modbusFixture {
	t.Helper()
	srv := modbus.NewServer(cfg)
	t.Cleanup(func() { _ = srv.Close() })
	bank := modbus.NewBank(modbus.BankConfig{
		Coils: modbus.Range{Start: 0, Count: 100}, DiscreteInputs: modbus.Range{Start: 0, Count: 100},
		HoldingRegisters: modbus.Range{Start: 0, Count: 1000}, InputRegisters: modbus.Range{Start: 0, Count: 100},
	})
	set := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	set(bank.SetRegisters(modbus.HoldingRegisters, 0, 10, 11, 65535))
	set(bank.SetRegisters(modbus.HoldingRegisters, 100, 0x42F6, 0xE979))         // float32 123.456, ABCD
	set(bank.SetRegisters(modbus.HoldingRegisters, 200, 0x5349, 0x474E, 0x3100)) // "SIGN1"
	set(bank.SetRegisters(modbus.InputRegisters, 10, 0xFFFF, 0xFFFE))            // int32 -2
	set(bank.SetRegisters(modbus.InputRegisters, 20, 241))                       // 2.41 A in hundredths
	set(bank.SetBits(modbus.Coils, 0, true, false, true, false))
	u := srv.AddUnit(1, bank)
	u.DeviceID = []modbus.DeviceObject{
		{ID: modbus.ObjectVendorName, Value: []byte("Beacon")},
		{ID: modbus.ObjectProductCode, Value: []byte("BCN-SIGN")},
		{ID: modbus.ObjectMajorMinorRevision, Value: []byte("1.2")},
	}
	srv.AddUnit(2, modbus.NewBank(modbus.BankConfig{HoldingRegisters: modbus.Range{Start: 0, Count: 10}}))
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &modbusFixture{srv: srv, url: "tcp://" + addr.String(), bank: bank}
}

// centerFor writes a center config whose sign is unit 1 behind url.
func centerFor(t *testing.T, url string) string {
	t.Helper()
	yaml := fmt.Sprintf(`center:
  id: test-center
  name: Test
  county: test-county
  timezone: Asia/Shanghai
  location: {lat: 22.5, lon: 113.0}
connections:
  bus:
    url: %s
    timeout: 1s
devices:
  sign:
    kind: sign
    connection: bus
    unit: 1
    points:
      power:    {table: coil, address: 0, access: write}
      current:  {table: input, address: 20, type: uint16, scale: 0.01, unit: A}
      setpoint: {table: holding, address: 100, type: float32, access: write}
      label:    {table: holding, address: 200, type: string, count: 3}
      words:    {table: holding, address: 0, type: uint32, order: CDAB}
    sign: {nominal_current: 2.4}
`, url)
	path := filepath.Join(t.TempDir(), "center.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// cliCase is one invocation and what it must print.
type cliCase struct {
	name   string
	args   []string
	code   int
	stdout string // exact
	stderr string // exact when code is 2; a prefix otherwise
}

func runCLICases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := runMain(ctx, tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("beacon %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), code, tc.code, stdout.String(), stderr.String())
			}
			if stdout.String() != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tc.stdout)
			}
			if tc.code == 2 || tc.stderr == "" {
				if stderr.String() != tc.stderr {
					t.Errorf("stderr:\n%q\nwant:\n%q", stderr.String(), tc.stderr)
				}
			} else if !strings.HasPrefix(stderr.String(), tc.stderr) {
				t.Errorf("stderr:\n%s\nwant prefix:\n%s", stderr.String(), tc.stderr)
			}
		})
	}
}

func TestReadRegisters(t *testing.T) {
	m := startModbus(t, modbus.ServerConfig{})
	u := m.url
	runCLICases(t, []cliCase{
		{"holding uint16", []string{"read", u, "--unit", "1", "--holding", "0", "--count", "3"}, 0, "0 10\n1 11\n2 65535\n", ""},
		{"flags before the URL", []string{"read", "--unit", "1", "--holding", "1", u}, 0, "1 11\n", ""},
		{"int16", []string{"read", u, "--unit", "1", "--holding", "2", "--type", "int16"}, 0, "2 -1\n", ""},
		{"float32", []string{"read", u, "--unit", "1", "--holding", "100", "--type", "float32"}, 0, "100 123.456\n", ""},
		{"float32 in all orders", []string{"read", u, "--unit", "1", "--holding", "100", "--type", "float32", "--order", "all"}, 0,
			// CDAB, BADC and DCBA checked with Python: struct.unpack(">f", bytes([0xE9, 0x79, 0x42, 0xF6])) etc.
			"100 ABCD=123.456 CDAB=-1.8833671e+25 BADC=-9.8611155e+32 DCBA=1.5184998e+35\n", ""},
		{"uint32 CDAB", []string{"read", u, "--unit", "1", "--holding", "0", "--type", "uint32", "--order", "CDAB"}, 0, "0 720906\n", ""},
		{"two uint32 values", []string{"read", u, "--unit", "1", "--holding", "0", "--type", "uint32", "--count", "2"}, 0, "0 655371\n2 4294901760\n", ""},
		{"int32 input", []string{"read", u, "--unit", "1", "--input", "10", "--type", "int32"}, 0, "10 -2\n", ""},
		{"coils", []string{"read", u, "--unit", "1", "--coil", "0", "--count", "4"}, 0, "0 true\n1 false\n2 true\n3 false\n", ""},
		{"discrete", []string{"read", u, "--unit", "1", "--discrete", "5"}, 0, "5 false\n", ""},
		{"string", []string{"read", u, "--unit", "1", "--holding", "200", "--type", "string", "--count", "3"}, 0, "200 \"SIGN1\"\n", ""},
		{"exception", []string{"read", u, "--unit", "1", "--holding", "5000"}, 1, "",
			"beacon read: " + u + " unit 1: read 1 holding registers at 5000: modbus exception 0x02 (illegal data address)"},
		{"silent unit", []string{"read", u, "--unit", "7", "--holding", "0", "--timeout", "100ms"}, 1, "",
			"beacon read: " + u + " unit 7: read 1 holding registers at 0: modbus: no response before deadline"},
	})
}

func TestReadUsageErrors(t *testing.T) {
	const u = "tcp://127.0.0.1:1"
	cfg := centerFor(t, u)
	runCLICases(t, []cliCase{
		{"no URL", []string{"read"}, 2, "", "beacon read: missing URL (or -c FILE DEVICE.POINT)\n"},
		{"no unit", []string{"read", u, "--holding", "0"}, 2, "", "beacon read: missing --unit N\n"},
		{"no table", []string{"read", u, "--unit", "1"}, 2, "", "beacon read: missing --holding, --input, --coil or --discrete START\n"},
		{"two tables", []string{"read", u, "--unit", "1", "--holding", "0", "--coil", "0"}, 2, "", "beacon read: give one of --holding, --input, --coil or --discrete START, not --holding and --coil\n"},
		{"unit out of range", []string{"read", u, "--unit", "300", "--holding", "0"}, 2, "", "beacon read: unit 300 is outside 0-247\n"},
		{"bad address", []string{"read", u, "--unit", "1", "--holding", "x"}, 2, "", "beacon read: invalid value \"x\" for flag -holding: address \"x\" is not a number from 0 to 65535\n"},
		{"bits are bool", []string{"read", u, "--unit", "1", "--coil", "0", "--type", "float32"}, 2, "", "beacon read: --coil holds bits; its type is bool, not float32\n"},
		{"unknown type", []string{"read", u, "--unit", "1", "--holding", "0", "--type", "int8"}, 2, "", "beacon read: unknown type \"int8\" (bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string)\n"},
		{"unknown order", []string{"read", u, "--unit", "1", "--holding", "0", "--order", "XYZW"}, 2, "", "beacon read: unknown order \"XYZW\" (ABCD, CDAB, BADC, DCBA or all)\n"},
		{"zero count", []string{"read", u, "--unit", "1", "--holding", "0", "--count", "0"}, 2, "", "beacon read: count 0 must be at least 1\n"},
		{"past the last address", []string{"read", u, "--unit", "1", "--holding", "65535", "--type", "uint32"}, 2, "", "beacon read: addresses 65535..65536 run past 65535\n"},
		{"bad scheme", []string{"read", "ftp://x", "--unit", "1", "--holding", "0"}, 2, "", "beacon read: parse modbus URL \"ftp://x\": scheme \"ftp\", want tcp, rtutcp or rtu\n"},
		{"unknown flag", []string{"read", u, "--unit", "1", "--holding", "0", "--bogus"}, 2, "", "beacon read: flag provided but not defined: -bogus\n"},
		{"two URLs", []string{"read", u, u, "--unit", "1", "--holding", "0"}, 2, "", "beacon read: unexpected argument \"" + u + "\"\n"},
		{"named without a point", []string{"read", "-c", cfg}, 2, "", "beacon read: missing DEVICE.POINT\n"},
		{"named not device.point", []string{"read", "-c", cfg, "sign"}, 2, "", "beacon read: \"sign\" is not DEVICE.POINT\n"},
		{"named unknown device", []string{"read", "-c", cfg, "flag.position"}, 2, "", "beacon read: flag.position: no device \"flag\" in " + cfg + "\n"},
		{"named unknown point", []string{"read", "-c", cfg, "sign.nope"}, 2, "", "beacon read: sign.nope: device sign has no point \"nope\"\n"},
		{"named with a unit", []string{"read", "-c", cfg, "--unit", "1", "sign.power"}, 2, "", "beacon read: -c FILE reads points by name; --unit and --holding/--input/--coil/--discrete do not apply\n"},
	})
}

func TestReadNamed(t *testing.T) {
	m := startModbus(t, modbus.ServerConfig{})
	cfg := centerFor(t, m.url)
	runCLICases(t, []cliCase{
		{"scaled input with its unit", []string{"read", "-c", cfg, "sign.current"}, 0, "sign.current 2.41 A\n", ""},
		{"several points", []string{"read", "-c", cfg, "sign.power", "sign.setpoint", "sign.label", "sign.words"}, 0,
			"sign.power true\nsign.setpoint 123.45600128173828\nsign.label \"SIGN1\"\nsign.words 720906\n", ""},
	})
	// The device stops answering: the point fails alone, with its name.
	m.srv.Unit(1).SetOffline(true)
	runCLICases(t, []cliCase{
		{"silent device", []string{"read", "-c", cfg, "--timeout", "100ms", "sign.current"}, 1, "",
			"beacon read: read sign.current: " + m.url + " unit 1: read 1 input registers at 20: modbus: no response before deadline"},
	})
}

// TestReadAgainstPymodbus is the "done when": beacon read against a
// pymodbus server prints the values it holds.
func TestReadAgainstPymodbus(t *testing.T) {
	u := "tcp://" + pymodbustest.Server(t, "socket")
	cfg := centerFor(t, u)
	runCLICases(t, []cliCase{
		{"holding", []string{"read", u, "--unit", "1", "--holding", "10", "--count", "3"}, 0, "10 10\n11 11\n12 12\n", ""},
		{"input", []string{"read", u, "--unit", "2", "--input", "0", "--count", "2"}, 0, "0 1000\n1 1001\n", ""},
		{"coils", []string{"read", u, "--unit", "1", "--coil", "0", "--count", "4"}, 0, "0 true\n1 false\n2 false\n3 true\n", ""},
		{"discrete", []string{"read", u, "--unit", "1", "--discrete", "0", "--count", "3"}, 0, "0 true\n1 false\n2 true\n", ""},
		// Registers 10, 11 = 0x000A, 0x000B.
		{"uint32 in all orders", []string{"read", u, "--unit", "1", "--holding", "10", "--type", "uint32", "--order", "all"}, 0,
			"10 ABCD=655371 CDAB=720906 BADC=167774976 DCBA=184551936\n", ""},
		{"named points", []string{"read", "-c", cfg, "sign.current", "sign.power", "sign.words"}, 0,
			"sign.current 10.2 A\nsign.power true\nsign.words 65536\n", ""},
		{"scan", []string{"scan", u, "--units", "1-3"}, 0,
			"1 vendor=\"pymodbus-peer\" product=\"PM-3\" revision=\"3.0\"\n2 vendor=\"pymodbus-peer\" product=\"PM-3\" revision=\"3.0\"\n2 of 3 units answered\n", ""},
		{"write then read back", []string{"write", u, "--unit", "1", "--holding", "500", "--type", "float32", "123.456"}, 0, "500 123.456\n", ""},
	})
}
