package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/modbus"
	"github.com/beacon-edge/beacon/gateway/config"
)

func init() {
	commands["read"] = command{summary: "read Modbus registers or coils, or named points of a center config", run: runRead}
}

const readUsage = `Usage:
  beacon read URL --unit N --holding|--input|--coil|--discrete START [--count N] [--type T] [--order O]
  beacon read -c FILE DEVICE.POINT...

URL is tcp://HOST:PORT, rtutcp://HOST:PORT or rtu:///dev/ttyUSB0?baud=9600&parity=E.
Prints one "ADDRESS VALUE" line per value (ADDRESS is the value's first
register), or "DEVICE.POINT VALUE [UNIT]" per named point.

  --count N    values to read (default 1); for --type string, the string's
               length in registers
  --type T     bool, int16, uint16 (default), int32, uint32, int64, uint64,
               float32, float64 or string
  --order O    ABCD (default), CDAB, BADC, DCBA, or all: each value decoded in
               the four orders, as "ADDRESS ABCD=V CDAB=V BADC=V DCBA=V"
  --timeout D  per request (default 1s)`

// registerArgs are the flags shared by beacon read and beacon write.
type registerArgs struct {
	unit    int
	table   config.Table
	address int
	tables  []string // table flags given, to refuse more than one
	count   int
	typ     string
	order   string
	timeout time.Duration
	config  string
}

// addRegisterFlags defines the flags of beacon read and write on fs;
// tables are the table flags the command takes.
func addRegisterFlags(fs *flag.FlagSet, a *registerArgs, tables ...config.Table) {
	fs.IntVar(&a.unit, "unit", -1, "Modbus unit `N`, 0-247")
	fs.StringVar(&a.typ, "type", "", "value `TYPE`")
	fs.StringVar(&a.order, "order", "ABCD", "byte `ORDER`")
	fs.DurationVar(&a.timeout, "timeout", time.Second, "per request")
	fs.StringVar(&a.config, "c", "", "center config `FILE`")
	for _, t := range tables {
		fs.Func(string(t), "table and first `ADDRESS`", func(s string) error {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > 65535 {
				return fmt.Errorf("address %q is not a number from 0 to 65535", s)
			}
			a.table, a.address = t, n
			a.tables = append(a.tables, "--"+string(t))
			return nil
		})
	}
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments (beacon read URL --unit 1 --holding 0), and returns
// the positional ones. A negative number is a positional argument, not a
// flag; "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' || isNumber(a) {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		if f == nil || hasValue {
			continue // parseFlags reports an unknown flag
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return pos, parseFlags(fs, flags)
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// check validates the register flags of a URL invocation and returns the
// value type; bits tells whether the table holds bits.
func (a *registerArgs) check(what string, orderAll bool) (config.Type, error) {
	switch {
	case len(a.tables) == 0:
		return "", usagef("missing %s", what)
	case len(a.tables) > 1:
		return "", usagef("give one of %s, not %s", what, strings.Join(a.tables, " and "))
	case a.unit < 0 || a.unit > 247:
		if a.unit == -1 {
			return "", usagef("missing --unit N")
		}
		return "", usagef("unit %d is outside 0-247", a.unit)
	case a.count < 1:
		return "", usagef("count %d must be at least 1", a.count)
	}
	typ := config.Type(a.typ)
	if a.typ == "" {
		typ = config.TypeUint16
		if a.table.IsBits() {
			typ = config.TypeBool
		}
	}
	if typ.Registers(1) == 0 {
		return "", usagef("unknown type %q (bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string)", a.typ)
	}
	if a.table.IsBits() && typ != config.TypeBool {
		return "", usagef("--%s holds bits; its type is bool, not %s", a.table, typ)
	}
	if !slices.Contains(modbus.Orders, config.Order(a.order)) && !(orderAll && a.order == "all") {
		all := ""
		if orderAll {
			all = " or all"
		}
		return "", usagef("unknown order %q (ABCD, CDAB, BADC, DCBA%s)", a.order, all)
	}
	return typ, nil
}

// newCLIClient returns a Client for a URL given on the command line; a bad
// URL is a usage error.
func newCLIClient(rawURL string, cfg modbus.ClientConfig) (*modbus.Client, error) {
	c, err := modbus.NewClient(rawURL, cfg)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return c, nil
}

func runRead(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("read", stderr)
	var a registerArgs
	addRegisterFlags(fs, &a, config.Holding, config.Input, config.Coil, config.Discrete)
	fs.IntVar(&a.count, "count", 1, "values to read")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, readUsage)
		return nil
	}
	if err != nil {
		return err
	}
	if a.config != "" {
		if len(pos) == 0 {
			return usagef("missing DEVICE.POINT")
		}
		if len(a.tables) > 0 || a.unit != -1 {
			return usagef("-c FILE reads points by name; --unit and %s do not apply", "--holding/--input/--coil/--discrete")
		}
		return readNamed(ctx, a.config, a.timeout, pos, stdout, stderr)
	}
	if len(pos) != 1 {
		if len(pos) == 0 {
			return usagef("missing URL (or -c FILE DEVICE.POINT)")
		}
		return usagef("unexpected argument %q", pos[1])
	}
	typ, err := a.check("--holding, --input, --coil or --discrete START", true)
	if err != nil {
		return err
	}
	client, err := newCLIClient(pos[0], modbus.ClientConfig{Timeout: a.timeout})
	if err != nil {
		return err
	}
	defer client.Close()
	return readRegisters(ctx, client, &a, typ, stdout)
}

// readRegisters reads a.count values of typ from a.table and prints them.
func readRegisters(ctx context.Context, client *modbus.Client, a *registerArgs, typ config.Type, stdout io.Writer) error {
	unit := byte(a.unit)
	if a.table.IsBits() {
		for start := a.address; start < a.address+a.count; start += modbus.MaxReadBits {
			n := min(modbus.MaxReadBits, a.address+a.count-start)
			if start+n > 0x10000 {
				return usagef("addresses %d..%d run past 65535", a.address, a.address+a.count-1)
			}
			read := client.ReadCoils
			if a.table == config.Discrete {
				read = client.ReadDiscreteInputs
			}
			bits, err := read(ctx, unit, uint16(start), uint16(n))
			if err != nil {
				return err
			}
			for i, b := range bits {
				fmt.Fprintf(stdout, "%d %t\n", start+i, b)
			}
		}
		return nil
	}
	width, values := typ.Registers(1), a.count
	if typ == config.TypeString {
		width, values = a.count, 1
	}
	if width > modbus.MaxReadRegisters {
		return usagef("a string of %d registers is more than one read allows (%d)", width, modbus.MaxReadRegisters)
	}
	if a.address+width*values > 0x10000 {
		return usagef("addresses %d..%d run past 65535", a.address, a.address+width*values-1)
	}
	perRead := modbus.MaxReadRegisters / width // whole values per request
	for v := 0; v < values; v += perRead {
		n := min(perRead, values-v)
		start := a.address + v*width
		read := client.ReadHoldingRegisters
		if a.table == config.Input {
			read = client.ReadInputRegisters
		}
		regs, err := read(ctx, unit, uint16(start), uint16(n*width))
		if err != nil {
			return err
		}
		for i := range n {
			line, err := formatRegisters(typ, a.order, regs[i*width:(i+1)*width])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d %s\n", start+i*width, line)
		}
	}
	return nil
}

// formatRegisters decodes one value; order "all" gives the four orders.
func formatRegisters(typ config.Type, order string, regs []uint16) (string, error) {
	if order != "all" {
		r, err := modbus.DecodeRaw(typ, config.Order(order), regs)
		return formatRaw(r), err
	}
	var parts []string
	for _, o := range modbus.Orders {
		r, err := modbus.DecodeRaw(typ, o, regs)
		if err != nil {
			return "", err
		}
		parts = append(parts, string(o)+"="+formatRaw(r))
	}
	return strings.Join(parts, " "), nil
}

// formatRaw prints a raw value exactly; strings are quoted, so that spaces
// and control characters show.
func formatRaw(r modbus.Raw) string {
	if r.Type == config.TypeString {
		return strconv.Quote(r.Str)
	}
	return r.String()
}

// formatValue prints a point's engineering value, strings quoted.
func formatValue(v drivers.Value) string {
	if s, ok := v.AsString(); ok {
		return strconv.Quote(s)
	}
	return v.String()
}

// namedPoints resolves DEVICE.POINT arguments through a center config, and
// opens one driver per Modbus connection they use.
type namedPoints struct {
	cfg     *config.Config
	refs    []drivers.PointRef
	drivers map[*config.Connection]*modbus.Driver
}

func openNamed(file string, args []string, timeout time.Duration) (*namedPoints, error) {
	var refs []drivers.PointRef
	for _, arg := range args {
		dev, point, ok := strings.Cut(arg, ".")
		if !ok || dev == "" || point == "" {
			return nil, usagef("%q is not DEVICE.POINT", arg)
		}
		refs = append(refs, drivers.PointRef{Device: dev, Point: point})
	}
	cfg, err := config.Load(file)
	if err != nil {
		return nil, err
	}
	n := &namedPoints{cfg: cfg, refs: refs, drivers: map[*config.Connection]*modbus.Driver{}}
	for _, ref := range refs {
		d := cfg.Device(ref.Device)
		switch {
		case d == nil:
			n.close()
			return nil, usagef("%s: no device %q in %s", ref, ref.Device, file)
		case d.Point(ref.Point) == nil:
			n.close()
			return nil, usagef("%s: device %s has no point %q", ref, ref.Device, ref.Point)
		case !d.Connection.Protocol.IsModbus():
			n.close()
			return nil, usagef("%s: connection %s is %s, not Modbus", ref, d.Connection.Name, d.Connection.Protocol)
		}
		if n.drivers[d.Connection] != nil {
			continue
		}
		var devs []*config.Device
		for _, x := range cfg.Devices {
			if x.Connection == d.Connection {
				devs = append(devs, x)
			}
		}
		drv, err := modbus.NewDriver(d.Connection, devs, modbus.DriverOptions{
			Logger: slog.New(slog.DiscardHandler), Client: modbus.ClientConfig{Timeout: timeout}})
		if err != nil {
			n.close()
			return nil, err
		}
		n.drivers[d.Connection] = drv
	}
	return n, nil
}

func (n *namedPoints) driver(ref drivers.PointRef) *modbus.Driver {
	return n.drivers[n.cfg.Device(ref.Device).Connection]
}

func (n *namedPoints) close() {
	for _, d := range n.drivers {
		_ = d.Close()
	}
}

// read reads refs and prints "DEVICE.POINT VALUE [UNIT]"; failures go to
// stderr and make the command exit 1 after the others are printed.
func (n *namedPoints) read(ctx context.Context, cmd string, refs []drivers.PointRef, stdout, stderr io.Writer) error {
	failed := false
	for _, ref := range refs {
		samples, err := n.driver(ref).Read(ctx, []drivers.PointRef{ref})
		if err != nil {
			return err
		}
		s := samples[0]
		if s.Err != nil {
			fmt.Fprintf(stderr, "beacon %s: %v\n", cmd, s.Err)
			failed = true
			continue
		}
		line := ref.String() + " " + formatValue(s.Value)
		if u := n.cfg.Point(ref).Unit; u != "" {
			line += " " + u
		}
		fmt.Fprintln(stdout, line)
	}
	if failed {
		return exitError{code: 1}
	}
	return nil
}

func readNamed(ctx context.Context, file string, timeout time.Duration, args []string, stdout, stderr io.Writer) error {
	n, err := openNamed(file, args, timeout)
	if err != nil {
		return err
	}
	defer n.close()
	return n.read(ctx, "read", n.refs, stdout, stderr)
}
