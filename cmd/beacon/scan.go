package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-edge/beacon/drivers/modbus"
	"golang.org/x/sys/unix"
)

func init() {
	commands["scan"] = command{summary: "probe a Modbus bus for responding units and their identification", run: runScan}
}

const scanUsage = `Usage: beacon scan URL [--units 1-247] [--timeout 300ms]

Asks each unit for its device identification (FC43/14, basic objects) and
prints one line per unit that answers:

  UNIT vendor="…" product="…" revision="…"
  UNIT present, no identification (EXCEPTION)

A unit that answers with an exception is present; one that stays silent, or
that a TCP gateway reports unreachable (exception 0x0A or 0x0B), is not.
--units takes ranges and lists: 1-247, 1,3,10-20. A progress line goes to
stderr while stdout is a terminal.`

// isTerminal reports whether w is a terminal; tests replace it.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// parseUnits parses "1-247" or "1,3,10-20" into ascending, distinct units.
func parseUnits(s string) ([]byte, error) {
	var seen [248]bool
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b > 247 || a > b {
			return nil, fmt.Errorf("bad --units %q: want ranges of units 0-247 such as 1-247 or 1,3,10-20", s)
		}
		for u := a; u <= b; u++ {
			seen[u] = true
		}
	}
	var units []byte
	for u, ok := range seen {
		if ok {
			units = append(units, byte(u))
		}
	}
	return units, nil
}

func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scan", stderr)
	unitsFlag := fs.String("units", "1-247", "units to probe: `RANGES` such as 1-247 or 1,3,10-20")
	timeout := fs.Duration("timeout", 300*time.Millisecond, "how long to wait for each unit")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, scanUsage)
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usagef("missing URL (tcp://HOST:PORT, rtutcp://HOST:PORT or rtu:///dev/ttyUSB0)")
	case len(pos) > 1:
		return usagef("unexpected argument %q", pos[1])
	case *timeout <= 0:
		return usagef("timeout %v must be positive", *timeout)
	}
	units, err := parseUnits(*unitsFlag)
	if err != nil {
		return usagef("%v", err)
	}
	client, err := newCLIClient(pos[0], modbus.ClientConfig{
		Timeout: *timeout,
		// Silent units are the normal case of a scan: they must not make
		// the client drop the connection, nor wait for a reconnection.
		TimeoutsBeforeReconnect: 1 << 30,
		BackoffMin:              time.Millisecond,
		BackoffMax:              10 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	defer client.Close()
	progress := isTerminal(stdout)
	found := 0
	for i, unit := range units {
		if progress {
			fmt.Fprintf(stderr, "\rscanning unit %d (%d/%d), %d found ", unit, i+1, len(units), found)
		}
		line, err := probe(ctx, client, unit)
		if err != nil {
			if progress {
				fmt.Fprint(stderr, "\r\033[K")
			}
			return err
		}
		if line != "" {
			if progress {
				fmt.Fprint(stderr, "\r\033[K")
			}
			fmt.Fprintln(stdout, line)
			found++
		}
	}
	if progress {
		fmt.Fprint(stderr, "\r\033[K")
	}
	fmt.Fprintf(stdout, "%d of %d %s answered\n", found, len(units), plural(len(units), "unit", "units"))
	return nil
}

// probe asks one unit for its identification and returns its line, or ""
// when it is not there. An error ends the scan (the link is down, or ctx
// ended).
func probe(ctx context.Context, client *modbus.Client, unit byte) (string, error) {
	id, err := client.ReadDeviceIdentification(ctx, unit, modbus.DeviceIDBasic, 0)
	var ee *modbus.ExceptionError
	switch {
	case ctx.Err() != nil:
		return "", ctx.Err()
	case err == nil:
		var parts []string
		for _, o := range []struct {
			id   byte
			name string
		}{{modbus.ObjectVendorName, "vendor"}, {modbus.ObjectProductCode, "product"}, {modbus.ObjectMajorMinorRevision, "revision"}} {
			if v, ok := id.Object(o.id); ok {
				parts = append(parts, fmt.Sprintf("%s=%q", o.name, v))
			}
		}
		if len(parts) == 0 {
			return fmt.Sprintf("%d present, empty identification", unit), nil
		}
		return fmt.Sprintf("%d %s", unit, strings.Join(parts, " ")), nil
	case errors.Is(err, modbus.GatewayTargetFailed), errors.Is(err, modbus.GatewayPathUnavailable), errors.Is(err, modbus.ErrTimeout):
		return "", nil
	case errors.As(err, &ee):
		return fmt.Sprintf("%d present, no identification (exception 0x%02X %s)", unit, byte(ee.Code), ee.Code.String()), nil
	case errors.Is(err, modbus.ErrMalformed):
		return fmt.Sprintf("%d present, unreadable identification (%v)", unit, err), nil
	}
	return "", fmt.Errorf("scan unit %d: %w", unit, err)
}
