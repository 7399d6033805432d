package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"crypto/rand"
	"encoding/hex"

	"github.com/beacon-edge/beacon/configs"
	"github.com/beacon-edge/beacon/gateway/api"
	"github.com/beacon-edge/beacon/gateway/broker"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/schedule"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/rules"
	"github.com/beacon-edge/beacon/sim"
)

func init() {
	commands["demo"] = command{summary: "run a whole simulated center, time sped up (no external services)", run: runDemo}
}

// Demo speeds: slow enough around each scheduled event to watch the flag
// move and a clip play, fast between them so that a night passes in
// minutes.
const (
	demoSlowSpeed = 12
	demoFastSpeed = 900
	// demoStaleAfterPolls: at demoFastSpeed a 2 s poll is 2 ms of real
	// time; thirty of them make a point stale rather than three.
	demoStaleAfterPolls = 30
	// demoSlowBefore and demoSlowAfter bound the slow span around an event.
	demoSlowBefore = 45 * time.Second
	demoSlowAfter  = 150 * time.Second
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	from := fs.String("from", "", "start the simulated clock at `TIME` (default: 20 minutes before today's sunset at the demo center)")
	speed := fs.Float64("speed", 0, "simulated seconds per real second (default: slow around events, fast between them)")
	file := fs.String("c", "", "center config `FILE` (default: the embedded demo center)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: beacon demo [--from TIME] [--speed N] [-c FILE]\n\nRuns the demo center and its simulated devices in this process, on loopback, on a sped-up clock.")
			return nil
		}
		return err
	}
	if *speed < 0 || *speed > 10000 {
		return usagef("--speed %v must be 0 (automatic) to 10000", *speed)
	}
	var (
		cfg *config.Config
		err error
	)
	if *file != "" {
		cfg, err = config.Load(*file)
	} else {
		cfg, err = config.LoadFS(configs.Demo, configs.DemoFile)
	}
	if err != nil {
		return err
	}
	loc := cfg.Center.Location
	sch, err := schedule.FromConfig(cfg)
	if err != nil {
		return err
	}
	eval, err := rules.NewEvaluator(sch)
	if err != nil {
		return err
	}
	var start time.Time
	if *from != "" {
		if start, err = parseClockFrom(*from, loc); err != nil {
			return err
		}
	} else {
		today := rules.DateOf(time.Now().In(loc))
		sunset := eval.Sun(today).Sunset
		if !sunset.OK() {
			return errors.New("the demo center has no sunset today; give --from")
		}
		start = sunset.Time.Add(-20 * time.Minute)
	}
	initial := *speed
	if initial == 0 {
		initial = demoSlowSpeed
	}
	clk := clock.NewScaled(start, initial)
	logger, err := demoLogger(stderr, *logFormat, clk, loc)
	if err != nil {
		return err
	}
	stateDir, err := os.MkdirTemp("", "beacon-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stateDir)
	// The manager's page: schedule edits and a manager token live in the
	// temporary state directory (webapi.go).
	cfg.SchedulesFile = filepath.Join(stateDir, config.SchedulesFile)
	demoToken, err := api.OpenTokens(filepath.Join(stateDir, "tokens")).Add("demo-manager", api.Manager, time.Now())
	if err != nil {
		return err
	}

	simulated, err := sim.New(cfg, sim.Options{Clock: clk, AnyPort: true, Seed: uint64(time.Now().UnixNano()),
		Logger: logger.With("part", "simulator")})
	if err != nil {
		return err
	}
	if err := simulated.Start(); err != nil {
		return err
	}
	defer simulated.Close()
	for name, addr := range simulated.Addrs() {
		cfg.Connection(name).URL.Host = addr
	}
	// The site's MQTT devices talk to an embedded broker on a free port,
	// with a password made up for this run.
	stopBroker, err := demoBroker(cfg, logger)
	if err != nil {
		return err
	}
	defer stopBroker()
	if err := simulated.StartMQTT(10 * time.Second); err != nil {
		return err
	}
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	go simulated.Run(simCtx)

	fmt.Fprintf(stdout, "Beacon demo: %s (%s), simulated from %s.\n", cfg.Center.Name, cfg.Center.ID, start.In(loc).Format("2006-01-02 15:04"))
	fmt.Fprintf(stdout, "Devices are simulated on loopback; log times are simulated time. Ctrl-C stops.\n\n")
	if *speed == 0 {
		go steerSpeed(simCtx, clk, eval, start)
	}
	return runCenter(ctx, cfg, centerOptions{Logger: logger, Clock: clk, Simulated: true, StateDir: stateDir,
		StaleAfterPolls: demoStaleAfterPolls, APIListen: "127.0.0.1:0",
		APIStarted: func(url string) {
			fmt.Fprintf(stdout, "Open %s and log in with token %s\n\n", url, demoToken)
		}})
}

// demoBroker starts the embedded MQTT broker for the demo's MQTT
// connections: on a free loopback port, with one user whose password is
// made up now and handed to the connections through the environment.
func demoBroker(cfg *config.Config, logger *slog.Logger) (func(), error) {
	var conns []*config.Connection
	for _, c := range cfg.Connections {
		if c.Protocol == config.MQTT {
			conns = append(conns, c)
		}
	}
	cfg.Broker = nil // replaced by this one
	if len(conns) == 0 {
		return func() {}, nil
	}
	secret := make([]byte, 12)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	password := hex.EncodeToString(secret)
	hash, err := broker.HashPassword(password)
	if err != nil {
		return nil, err
	}
	const user, env = "beacon", "BEACON_DEMO_MQTT_PASSWORD"
	b, err := broker.StartWith("127.0.0.1:0", broker.Users{user: []byte(hash)}, logger)
	if err != nil {
		return nil, err
	}
	if err := os.Setenv(env, password); err != nil {
		b.Close()
		return nil, err
	}
	for _, c := range conns {
		c.URL.Host, c.Username, c.Password = b.Addr(), user, config.Secret{Env: env}
	}
	return func() { b.Close() }, nil
}

// steerSpeed runs the clock slowly around each planned event and fast
// between them.
func steerSpeed(ctx context.Context, clk *clock.Scaled, eval *rules.Evaluator, start time.Time) {
	var events []time.Time
	for _, e := range eval.Plan(start, 3, rules.Inputs{Trusted: true}).Entries {
		if e.Kind != rules.PlanSkip && e.At.After(start) {
			events = append(events, e.At)
		}
	}
	for {
		now := clk.Now()
		want := float64(demoFastSpeed)
		for _, at := range events {
			if now.After(at.Add(-demoSlowBefore)) && now.Before(at.Add(demoSlowAfter)) {
				want = demoSlowSpeed
				break
			}
			// Slow down in time not to overshoot the next event.
			if at.After(now) && at.Sub(now) < demoSlowBefore+time.Duration(float64(100*time.Millisecond)*demoFastSpeed) {
				want = demoSlowSpeed
				break
			}
		}
		if clk.Speed() != want {
			clk.SetSpeed(want)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// demoLogger logs with the simulated time, in the center's zone, so that a
// newcomer reads "17:32:10 sign lit" rather than wall-clock time.
func demoLogger(w io.Writer, format string, clk clock.Clock, loc *time.Location) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.String("time", clk.Now().In(loc).Format("2006-01-02 15:04:05"))
		}
		return a
	}}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("bad --log-format %q: use text or json", format)
}
