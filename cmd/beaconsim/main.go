// Command beaconsim serves a center's devices as simulated hardware, for
// developers and installers: `beaconsim -c center.yaml` listens on each
// Modbus connection's configured address. Faults are injected with
// --fault DEVICE=FAULT at start, or while it runs through the local HTTP
// control (--control, default 127.0.0.1:15080):
//
//	curl -X POST 'http://127.0.0.1:15080/faults?device=sign&fault=partly-dark&on=true'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

type faultFlags []string

func (f *faultFlags) String() string     { return strings.Join(*f, ",") }
func (f *faultFlags) Set(s string) error { *f = append(*f, s); return nil }

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("beaconsim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("c", "", "center config `FILE`")
	control := fs.String("control", "127.0.0.1:15080", "fault-control HTTP `ADDR` (empty: none)")
	var faults faultFlags
	fs.Var(&faults, "fault", "inject `DEVICE=FAULT` at start (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "Usage: beaconsim -c FILE [--control ADDR] [--fault DEVICE=FAULT]...")
			return 0
		}
		fmt.Fprintf(stderr, "beaconsim: %v\n", err)
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "beaconsim: missing -c FILE")
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	c, err := sim.New(cfg, sim.Options{Logger: logger, Seed: uint64(time.Now().UnixNano())})
	if err != nil {
		fmt.Fprintf(stderr, "beaconsim: %v\n", err)
		return 1
	}
	for _, f := range faults {
		dev, fault, ok := strings.Cut(f, "=")
		if !ok {
			fmt.Fprintf(stderr, "beaconsim: --fault %q: write DEVICE=FAULT\n", f)
			return 2
		}
		if err := c.SetFault(dev, sim.Fault(fault), true); err != nil {
			fmt.Fprintf(stderr, "beaconsim: --fault %s: %v\n", f, err)
			return 2
		}
	}
	if err := c.Start(); err != nil {
		fmt.Fprintf(stderr, "beaconsim: %v\n", err)
		return 1
	}
	defer c.Close()
	// MQTT sensors need the site's broker (or the gateway's embedded one);
	// without it they are not simulated, and the Modbus devices still are.
	if err := c.StartMQTT(10 * time.Second); err != nil {
		logger.Warn("MQTT devices not simulated", "err", err)
	}
	if *control != "" {
		ln, err := net.Listen("tcp", *control)
		if err != nil {
			fmt.Fprintf(stderr, "beaconsim: fault control on %s: %v\n", *control, err)
			return 1
		}
		srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		logger.Info("fault control", "url", "http://"+ln.Addr().String()+"/faults")
	}
	if err := c.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "beaconsim: %v\n", err)
		return 1
	}
	return 0
}
