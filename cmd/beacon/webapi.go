package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"

	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/api"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/reconcile"
	"github.com/beacon-edge/beacon/gateway/telemetry"
	"github.com/beacon-edge/beacon/internal/clock"
)

// tokensPath is where a center's API tokens are kept: api.tokens_file, or
// "tokens" in the state directory.
func tokensPath(cfg *config.Config, stateDir string) string {
	if cfg.API.TokensFile != "" {
		if filepath.IsAbs(cfg.API.TokensFile) {
			return cfg.API.TokensFile
		}
		return filepath.Join(filepath.Dir(cfg.File), cfg.API.TokensFile)
	}
	return filepath.Join(stateDir, "tokens")
}

// webAPI is the HTTP API and page of a running center.
type webAPI struct {
	srv *api.Server
	cfg *config.Config
	o   centerOptions
	log *slog.Logger
	// start builds the server once the gateway exists.
	start func(*gateway.Gateway) error
}

// newWebAPI prepares the API's parts that the gateway needs before it
// exists: the audit log, and the hook through which device writes reach
// it.
func newWebAPI(cfg *config.Config, o centerOptions, sink *telemetry.Sink, opts *gateway.Options) (*webAPI, error) {
	audit, err := api.OpenAuditLog(filepath.Join(o.StateDir, "audit.jsonl"), 0)
	if err != nil {
		return nil, err
	}
	w := &webAPI{cfg: cfg, o: o, log: o.Logger}
	prev := opts.Reconcile.Audit
	opts.Reconcile.Audit = func(ev reconcile.AuditEvent) {
		if prev != nil {
			prev(ev)
		}
		if w.srv != nil {
			w.srv.RecordWrite(ev)
		}
	}
	clk := o.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	w.start = func(g *gateway.Gateway) error {
		srv, err := api.New(api.Options{Gateway: g, Config: cfg, Tokens: api.OpenTokens(tokensPath(cfg, o.StateDir)), Audit: audit,
			Clock: clk, Logger: o.Logger, Simulated: o.Simulated,
			Nights: func() ([]telemetry.SignNight, error) {
				ns, err := telemetry.ReadNightsFile(telemetry.NightsFile(sink.Outbox().Path()))
				if errors.Is(err, fs.ErrNotExist) {
					return nil, nil
				}
				return ns, err
			},
			OnAudit: func(e api.AuditEntry) {
				if err := sink.UserAction(telemetry.UserAction{Time: e.Time, User: e.User, Role: e.Role, Action: e.Action,
					Target: e.Target, Before: e.Before, After: e.After, Result: e.Result}); err != nil {
					o.Logger.Warn("audit to telemetry", "err", err)
				}
			},
		})
		if err != nil {
			return err
		}
		w.srv = srv
		return nil
	}
	return w, nil
}

// serve listens and serves until ctx ends.
func (w *webAPI) serve(ctx context.Context) error {
	addr := w.cfg.API.Listen
	if w.o.APIListen != "" {
		addr = w.o.APIListen
	}
	ln, err := api.Listen(ctx, addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if w.cfg.API.CertFile != "" {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s/", scheme, ln.Addr())
	w.log.Info("web page and API", "url", url, "tokens", tokensPath(w.cfg, w.o.StateDir))
	if w.o.APIStarted != nil {
		w.o.APIStarted(url)
	}
	return w.srv.Serve(ctx, ln, w.cfg.API.CertFile, w.cfg.API.KeyFile)
}
