package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/modbus"
	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/reconcile"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/internal/testenv"
	"github.com/beacon-edge/beacon/sim"
)

// TestPageInChromium drives the manager's page in headless Chromium
// against the demo center simulated over Modbus TCP on a 10× clock: log in,
// see the center, override the sign and see the simulated sign light, move
// the evening notice to a few minutes from now with a validation error on
// the way, see the new plan, and hear the simulated PA play it.
// Screenshots go to $BEACON_ARTIFACTS/ui or .artifacts/ui.
func TestPageInChromium(t *testing.T) {
	chromedriver := testenv.LookPath(t, "chromedriver")
	chromium := testenv.LookPath(t, "chromium")
	dir := t.TempDir()
	cfg, err := config.Load(filepath.Join("..", "..", "configs", "demo-center.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.SchedulesFile = filepath.Join(dir, config.SchedulesFile) // not beside the repository's file
	loc := cfg.Center.Location
	clk := clock.NewScaled(time.Date(2026, 12, 1, 15, 0, 0, 0, loc), 10) // a Tuesday afternoon: sign off
	simc, err := sim.New(cfg, sim.Options{Clock: clk, AnyPort: true, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := simc.Start(); err != nil {
		t.Fatal(err)
	}
	simCtx, stopSim := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- simc.Run(simCtx) }()
	t.Cleanup(func() { stopSim(); <-simDone; simc.Close() })
	for name, addr := range simc.Addrs() {
		cfg.Connection(name).URL.Host = addr
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	audit, err := OpenAuditLog(filepath.Join(dir, "audit.jsonl"), 0)
	if err != nil {
		t.Fatal(err)
	}
	var srv *Server
	opts := gateway.Options{Clock: clk, StateDir: dir, Logger: logger,
		Drivers: map[config.Protocol]gateway.DriverFactory{config.ModbusTCP: modbus.Open}}
	opts.Reconcile.Audit = func(ev reconcile.AuditEvent) {
		if srv != nil {
			srv.RecordWrite(ev)
		}
	}
	gw, err := gateway.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	tokens := OpenTokens(filepath.Join(dir, "tokens"))
	token, err := tokens.Add("li-manager", Manager, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv, err = New(Options{Gateway: gw, Config: cfg, Tokens: tokens, Audit: audit, Clock: clk, Logger: logger, Simulated: true})
	if err != nil {
		t.Fatal(err)
	}
	gwCtx, stopGw := context.WithCancel(context.Background())
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Run(gwCtx) }()
	t.Cleanup(func() { stopGw(); <-gwDone })
	web := httptest.NewServer(srv.Handler()) // 127.0.0.1:0
	t.Cleanup(web.Close)

	simValue := func(dev, pt string) drivers.Value {
		v, err := simc.Value(dev, pt)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	waitSim := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("simulated center: timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	wd := startBrowser(t, chromedriver, chromium)
	wd.open(web.URL + "/")
	wd.screenshot("login")
	wd.typeInto("#token", "not-a-token")
	wd.click("#login")
	wd.waitText("#login-error", "not accepted")
	wd.typeInto("#token", token)
	wd.click("#login")

	t.Run("the center at a glance", func(t *testing.T) {
		wd.waitText("#center-name", "东山村党群服务中心")
		wd.waitText("#who", "li-manager (manager)")
		wd.waitText("#sign-state", "Dark")
		wd.waitJS("the timeline drawn", "return document.querySelectorAll('#timeline rect').length > 2 && !!document.querySelector('#now-line')")
		wd.waitText("#plan", "evening-notice")
		wd.screenshot("center")
	})

	t.Run("override the sign for an hour", func(t *testing.T) {
		wd.click(`button.ov-open[data-point="sign.power"]`)
		wd.waitJS("the dialog open", "return document.querySelector('#override').open")
		wd.screenshot("override dialog")
		wd.click("#ov-submit")
		waitSim("the simulated sign switched on", 10*time.Second, func() bool {
			return drivers.Equal(simValue("sign", "power"), drivers.Bool(true), 0)
		})
		wd.waitText("#sign-state", "Lit")
		wd.waitText(`tr[data-point="sign.power"] .cmd`, "manual · user:li-manager · until")
		wd.waitText("#audit", "override")
		wd.screenshot("sign overridden")
	})

	t.Run("move the evening notice", func(t *testing.T) {
		sel := `.rule[data-rule="evening-notice"] input[data-path$=".at"]`
		wd.typeInto(sel, "25:00")
		wd.click("#sched-validate")
		wd.waitText(".rule[data-rule=\"evening-notice\"] .field-error", "bad time")
		wd.waitJS("the field marked", "return document.querySelector(arguments[0]).classList.contains('invalid')", sel)
		wd.scrollTo(sel)
		wd.screenshot("validation error")
		next := clk.Now().Add(3 * time.Minute).In(loc).Truncate(time.Minute).Add(time.Minute)
		hhmm := next.Format("15:04")
		wd.typeInto(sel, hhmm)
		wd.click("#sched-save")
		wd.waitText("#sched-status", "Saved and applied")
		wd.waitText("#plan", next.Format("2006-01-02 15:04")+"  broadcast pa evening-notice")
		wd.waitText("#bc-due", next.Format("2006-01-02T15:04")[:10])
		wd.scrollTo("#plan")
		wd.screenshot("new plan")
		saved, err := os.ReadFile(cfg.SchedulesFile)
		if err != nil || !containsLine(string(saved), `    at: "`+hhmm+`"`) {
			t.Errorf("schedules file:\n%s (%v)", saved, err)
		}
		// The simulated PA plays clip 2 (evening-notice) at the new time.
		waitSim("the simulated PA playing the evening notice", 60*time.Second, func() bool {
			return drivers.Equal(simValue("pa", "clip"), drivers.Number(2), 0) && drivers.Equal(simValue("pa", "power"), drivers.Bool(true), 0)
		})
		wd.waitText("#pa-state", "Playing")
		wd.screenshot("broadcast playing")
	})

	t.Run("move tonight's sign-on time", func(t *testing.T) {
		// The manager hands the sign back to its schedule (by day: off),
		// then moves tonight's sign-on to a few minutes from now.
		wd.click(`button.ov-clear[data-point="sign.power"]`)
		waitSim("the simulated sign off again", 10*time.Second, func() bool {
			return drivers.Equal(simValue("sign", "power"), drivers.Bool(false), 0)
		})
		sel := `.rule[data-rule="sign-at-night"] input[data-path$=".between[0]"]`
		next := clk.Now().Add(3 * time.Minute).In(loc).Truncate(time.Minute).Add(time.Minute)
		wd.typeInto(sel, next.Format("15:04"))
		wd.click("#sched-save")
		wd.waitText("#sched-status", "Saved and applied")
		wd.waitJS("the plan turning the sign on at the new time",
			"return [...document.querySelectorAll('#plan li')].some((li) => li.textContent.startsWith(arguments[0]) && li.textContent.includes('sign.power true'))",
			next.Format("2006-01-02 15:04"))
		var onAt time.Time
		waitSim("the simulated sign switched on by the schedule", 60*time.Second, func() bool {
			if drivers.Equal(simValue("sign", "power"), drivers.Bool(true), 0) {
				onAt = clk.Now()
				return true
			}
			return false
		})
		if onAt.Before(next.Add(-time.Second)) {
			t.Errorf("sign switched on at %v, before the new sign-on time %v", onAt.In(loc), next)
		}
		wd.waitText("#sign-state", "Lit")
		wd.scrollTo("#plan")
		wd.screenshot("sign-on moved")
	})

	t.Run("Chinese labels", func(t *testing.T) {
		wd.click("#lang")
		wd.waitText("h2[data-t=schedules]", "时间表")
		wd.waitText("#sign-state", "已点亮")
		wd.screenshot("zh")
	})
}

func containsLine(s, line string) bool {
	for _, l := range splitLines(s) {
		if l == line {
			return true
		}
	}
	return false
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}
