package main

import (
	"slices"
	"testing"

	"github.com/beacon-edge/beacon/drivers/modbus"
)

func TestWriteRegisters(t *testing.T) {
	m := startModbus(t, modbus.ServerConfig{})
	u := m.url
	runCLICases(t, []cliCase{
		{"uint16 with FC06", []string{"write", u, "--unit", "1", "--holding", "300", "4321"}, 0, "300 4321\n", ""},
		{"negative value after the flags", []string{"write", u, "--unit", "1", "--holding", "302", "--type", "float32", "-1.5"}, 0, "302 -1.5\n", ""},
		{"value after --", []string{"write", u, "--unit", "1", "--holding", "304", "--type", "int16", "--", "-7"}, 0, "304 -7\n", ""},
		{"float32 CDAB", []string{"write", u, "--unit", "1", "--holding", "306", "--type", "float32", "--order", "CDAB", "123.456"}, 0, "306 123.456\n", ""},
		{"uint64 max exact", []string{"write", u, "--unit", "1", "--holding", "310", "--type", "uint64", "18446744073709551615"}, 0, "310 18446744073709551615\n", ""},
		{"odd-length string", []string{"write", u, "--unit", "1", "--holding", "320", "--type", "string", "ABC"}, 0, "320 \"ABC\"\n", ""},
		{"coil", []string{"write", u, "--unit", "1", "--coil", "9", "on"}, 0, "9 true\n", ""},
		{"exception", []string{"write", u, "--unit", "2", "--holding", "50", "1"}, 1, "",
			"beacon write: " + u + " unit 2: write holding register 50: modbus exception 0x02 (illegal data address)"},
	})
	want := map[uint16][]uint16{
		300: {4321},
		302: {0xBFC0, 0x0000},
		304: {0xFFF9},
		306: {0xE979, 0x42F6},
		310: {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF},
		320: {0x4142, 0x4300},
	}
	for addr, regs := range want {
		got, _ := m.bank.Registers(modbus.HoldingRegisters, addr, len(regs))
		if !slices.Equal(got, regs) {
			t.Errorf("holding %d on the device = % 04X, want % 04X", addr, got, regs)
		}
	}
	if bits, _ := m.bank.Bits(modbus.Coils, 9, 1); !bits[0] {
		t.Error("coil 9 on the device is off, want on")
	}
}

func TestWriteUsageErrors(t *testing.T) {
	const u = "tcp://127.0.0.1:1"
	cfg := centerFor(t, u)
	runCLICases(t, []cliCase{
		{"no URL", []string{"write"}, 2, "", "beacon write: missing URL (or -c FILE DEVICE.POINT VALUE)\n"},
		{"no value", []string{"write", u, "--unit", "1", "--holding", "0"}, 2, "", "beacon write: missing VALUE\n"},
		{"too many", []string{"write", u, "--unit", "1", "--holding", "0", "1", "2"}, 2, "", "beacon write: unexpected argument \"2\"\n"},
		{"input is read-only", []string{"write", u, "--unit", "1", "--input", "0", "5"}, 2, "", "beacon write: flag provided but not defined: -input\n"},
		{"uint16 out of range", []string{"write", u, "--unit", "1", "--holding", "0", "70000"}, 2, "", "beacon write: value does not fit the point: \"70000\" is not a uint16\n"},
		{"not a boolean", []string{"write", u, "--unit", "1", "--coil", "0", "maybe"}, 2, "", "beacon write: \"maybe\" is not a boolean (true/false, on/off, 1/0)\n"},
		{"order all", []string{"write", u, "--unit", "1", "--holding", "0", "--order", "all", "1"}, 2, "", "beacon write: unknown order \"all\" (ABCD, CDAB, BADC, DCBA)\n"},
		{"named without value", []string{"write", "-c", cfg, "sign.power"}, 2, "", "beacon write: want DEVICE.POINT VALUE, got 1 arguments\n"},
		{"named bad value", []string{"write", "-c", cfg, "sign.power", "maybe"}, 2, "", "beacon write: sign.power: \"maybe\" is not a boolean (true/false, on/off, 1/0)\n"},
	})
}

func TestWriteNamed(t *testing.T) {
	m := startModbus(t, modbus.ServerConfig{})
	cfg := centerFor(t, m.url)
	runCLICases(t, []cliCase{
		{"float32 point", []string{"write", "-c", cfg, "sign.setpoint", "42.5"}, 0, "sign.setpoint 42.5\n", ""},
		{"coil point", []string{"write", "-c", cfg, "sign.power", "off"}, 0, "sign.power false\n", ""},
		{"read-only point", []string{"write", "-c", cfg, "sign.current", "1"}, 1, "", "beacon write: write sign.current: point is read-only (access: read)\n"},
	})
	if got, _ := m.bank.Registers(modbus.HoldingRegisters, 100, 2); !slices.Equal(got, []uint16{0x422A, 0x0000}) {
		t.Errorf("setpoint on the device = % 04X, want 422A 0000 (float32 42.5)", got)
	}
}
