package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/modbus"
	"github.com/beacon-edge/beacon/gateway/config"
)

func init() {
	commands["write"] = command{summary: "write a Modbus register or coil, or a named point of a center config", run: runWrite}
}

const writeUsage = `Usage:
  beacon write URL --unit N --holding|--coil ADDRESS VALUE [--type T] [--order O]
  beacon write -c FILE DEVICE.POINT VALUE

Writes the value (FC05 for a coil, FC06 for one register, FC16 for more),
then reads it back and prints it as beacon read does. A negative VALUE may
follow the other arguments directly; "--" also ends the flags.

  --type T     bool, int16, uint16 (default), int32, uint32, int64, uint64,
               float32, float64 or string (NUL-padded to whole registers)
  --order O    ABCD (default), CDAB, BADC or DCBA
  --timeout D  per request (default 1s)`

func runWrite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("write", stderr)
	var a registerArgs
	addRegisterFlags(fs, &a, config.Holding, config.Coil)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, writeUsage)
		return nil
	}
	if err != nil {
		return err
	}
	if a.config != "" {
		if len(a.tables) > 0 || a.unit != -1 {
			return usagef("-c FILE writes a point by name; --unit, --holding and --coil do not apply")
		}
		if len(pos) != 2 {
			return usagef("want DEVICE.POINT VALUE, got %d arguments", len(pos))
		}
		return writeNamed(ctx, &a, pos[0], pos[1], stdout, stderr)
	}
	switch len(pos) {
	case 0:
		return usagef("missing URL (or -c FILE DEVICE.POINT VALUE)")
	case 1:
		return usagef("missing VALUE")
	case 2:
	default:
		return usagef("unexpected argument %q", pos[2])
	}
	a.count = 1
	typ, err := a.check("--holding or --coil ADDRESS", false)
	if err != nil {
		return err
	}
	raw, err := modbus.ParseRaw(typ, pos[1])
	if err != nil {
		return usagef("%v", err)
	}
	unit, addr := byte(a.unit), uint16(a.address)
	client, err := newCLIClient(pos[0], modbus.ClientConfig{Timeout: a.timeout})
	if err != nil {
		return err
	}
	defer client.Close()
	if a.table == config.Coil {
		if err := client.WriteSingleCoil(ctx, unit, addr, raw.Bool); err != nil {
			return err
		}
		return readRegisters(ctx, client, &a, typ, stdout)
	}
	count := 0
	if typ == config.TypeString {
		count = max(1, (len(raw.Str)+1)/2)
	}
	regs, err := modbus.EncodeRaw(raw, config.Order(a.order), count)
	if err != nil {
		return usagef("%v", err)
	}
	if a.address+len(regs) > 0x10000 {
		return usagef("addresses %d..%d run past 65535", a.address, a.address+len(regs)-1)
	}
	if len(regs) == 1 {
		err = client.WriteSingleRegister(ctx, unit, addr, regs[0])
	} else {
		err = client.WriteMultipleRegisters(ctx, unit, addr, regs)
	}
	if err != nil {
		return err
	}
	a.count = count // a string reads back as one value of its registers
	if typ != config.TypeString {
		a.count = 1
	}
	return readRegisters(ctx, client, &a, typ, stdout)
}

// writeNamed writes one point by name through its driver, then reads it
// back and prints it.
func writeNamed(ctx context.Context, a *registerArgs, arg, text string, stdout, stderr io.Writer) error {
	n, err := openNamed(a.config, []string{arg}, a.timeout)
	if err != nil {
		return err
	}
	defer n.close()
	ref := n.refs[0]
	p := n.cfg.Point(ref)
	v, err := drivers.ParseValue(p.Type.ValueKind(), text)
	if err != nil {
		return usagef("%s: %v", ref, err)
	}
	if err := n.driver(ref).Write(ctx, ref, v); err != nil {
		if errors.Is(err, modbus.ErrValue) {
			return usagef("%v", err)
		}
		return err
	}
	return n.read(ctx, "write", []drivers.PointRef{ref}, stdout, stderr)
}
