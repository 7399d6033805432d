// Package api is the gateway's HTTP API and the facility manager's web
// page. It serves JSON under /api/ — the center's status, the plan, the
// sign's nightly compliance, broadcasts, overrides, schedule edits applied
// without a restart, ad-hoc and emergency broadcasts, the audit log — and
// the page itself from embedded files (ui/), with no CDN.
//
// Every /api/ call needs a bearer token (tokens.go) whose role allows it:
// viewer reads, manager overrides, edits schedules and broadcasts,
// installer also writes raw points. A missing or unknown token is 401, a
// role too low 403; bodies over MaxBody are 413. Errors are JSON
// {"error": "...", "fields": [{"field": "rules[2].at", "message": "..."}]};
// this is the only place where error kinds become HTTP statuses.
package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/reconcile"
	"github.com/beacon-edge/beacon/gateway/telemetry"
	"github.com/beacon-edge/beacon/internal/clock"
)

// DefaultMaxBody bounds request bodies, in bytes.
const DefaultMaxBody = 64 << 10

// Options are what a Server serves and where it records.
type Options struct {
	Gateway *gateway.Gateway
	// Config is the running center's config; schedule edits are validated
	// against it and replace its rules, calendar and quiet hours.
	Config *config.Config
	Tokens *Tokens
	Audit  *AuditLog
	Clock  clock.Clock  // the gateway's clock; nil: real
	Logger *slog.Logger // nil: discard
	// Simulated says the clock is simulated (the demo); the page says so.
	Simulated bool
	// Nights returns the last nights' sign summaries; nil: none.
	Nights func() ([]telemetry.SignNight, error)
	// OnAudit hears every audit entry (telemetry); it must not block.
	OnAudit func(AuditEntry)
	MaxBody int64 // 0: DefaultMaxBody
}

// Server is the HTTP API of one gateway.
type Server struct {
	o   Options
	log *slog.Logger
	clk clock.Clock
	mux *http.ServeMux

	mu  sync.Mutex     // guards cfg and serialises schedule edits
	cfg *config.Config // the config in force, with the schedules applied

	wmu    sync.Mutex
	writes []reconcile.AuditEvent // recent device writes, for the timeline
}

// maxWrites bounds the device writes kept for the timeline.
const maxWrites = 2000

// New returns a Server. Gateway, Config, Tokens and Audit are required.
func New(o Options) (*Server, error) {
	if o.Gateway == nil || o.Config == nil || o.Tokens == nil || o.Audit == nil {
		return nil, errors.New("api: Gateway, Config, Tokens and Audit are required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	s := &Server{o: o, log: o.Logger.With("part", "api"), clk: o.Clock, cfg: o.Config, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.handle("GET /api/whoami", Viewer, s.whoami)
	s.handle("GET /api/status", Viewer, s.status)
	s.handle("GET /api/points", Viewer, s.points)
	s.handle("GET /api/plan", Viewer, s.plan)
	s.handle("GET /api/timeline", Viewer, s.timeline)
	s.handle("GET /api/nights", Viewer, s.nights)
	s.handle("GET /api/broadcasts", Viewer, s.broadcasts)
	s.handle("GET /api/audit", Viewer, s.audit)
	s.handle("GET /api/schedules", Viewer, s.getSchedules)
	s.handle("POST /api/schedules/validate", Manager, s.validateSchedules)
	s.handle("PUT /api/schedules", Manager, s.putSchedules)
	s.handle("POST /api/overrides", Manager, s.setOverride)
	s.handle("DELETE /api/overrides/{point}", Manager, s.clearOverride)
	s.handle("PUT /api/points/{point}", Installer, s.writePoint)
	s.handle("POST /api/broadcasts", Manager, s.startBroadcast)
	s.handle("POST /api/broadcasts/stop", Manager, s.stopBroadcast)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.mux.Handle("/", uiHandler())
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// RecordWrite hears a reconciler write (gateway.Options.Reconcile.Audit):
// it goes to the timeline and the audit log. It does not block on I/O
// longer than an append.
func (s *Server) RecordWrite(ev reconcile.AuditEvent) {
	s.wmu.Lock()
	s.writes = append(s.writes, ev)
	if len(s.writes) > maxWrites {
		s.writes = s.writes[len(s.writes)-maxWrites:]
	}
	s.wmu.Unlock()
	result := "ok"
	if ev.Result != reconcile.Complied {
		result = ev.Result.String()
		if ev.Err != nil {
			result += ": " + ev.Err.Error()
		}
	}
	e := AuditEntry{Time: ev.Time, User: ev.Author, Action: ActionDeviceWrite, Target: ev.Ref.String(),
		After: ev.Value.String(), Result: result}
	if err := s.o.Audit.Append(e); err != nil {
		s.log.Warn("audit log", "err", err)
	}
}

// record writes an audit entry of a user's action and hands it to
// telemetry.
func (s *Server) record(e AuditEntry) {
	if e.Time.IsZero() {
		e.Time = s.clk.Now()
	}
	if err := s.o.Audit.Append(e); err != nil {
		s.log.Warn("audit log", "err", err)
	}
	if s.o.OnAudit != nil {
		s.o.OnAudit(e)
	}
	s.log.Info("audit", "user", e.User, "action", e.Action, "target", e.Target, "before", e.Before, "after", e.After, "result", e.Result)
}

// config returns the config in force.
func (s *Server) config() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

type ctxKey struct{}

// caller is the authenticated token of a request.
func caller(r *http.Request) Token {
	t, _ := r.Context().Value(ctxKey{}).(Token)
	return t
}

// handle registers h behind authentication, the role check and the body
// limit.
func (s *Server) handle(pattern string, need Role, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="beacon"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token")
			return
		}
		tok, found, err := s.o.Tokens.Lookup(strings.TrimSpace(token))
		if err != nil {
			s.log.Error("tokens", "err", err)
			writeError(w, http.StatusInternalServerError, "tokens cannot be read")
			return
		}
		if !found {
			w.Header().Set("WWW-Authenticate", `Bearer realm="beacon", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unknown token")
			return
		}
		if tok.Role < need {
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s %s needs the %s role; %s is a %s", r.Method, r.URL.Path, need, tok.Name, tok.Role))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxBody)
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, tok)))
	})
}

// FieldError is a problem with one field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"` // in the schedules file, for schedule edits
}

type errorBody struct {
	Error  string       `json:"error"`
	Fields []FieldError `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string, fields ...FieldError) {
	writeJSON(w, status, errorBody{Error: msg, Fields: fields})
}

// errBadBody is a body that is not the JSON asked for.
var errBadBody = errors.New("bad request body")

// decodeBody decodes the JSON body strictly into v and answers 400 or 413
// itself when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%v: %v", errBadBody, err))
		return false
	}
	return true
}

// Serve serves on ln until ctx ends, then shuts down within 5 s. With
// certFile and keyFile it serves TLS.
func (s *Server) Serve(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if certFile != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	done := make(chan error, 1)
	go func() {
		if certFile != "" {
			done <- srv.ServeTLS(ln, certFile, keyFile)
			return
		}
		done <- srv.Serve(ln)
	}()
	select {
	case err := <-done:
		return fmt.Errorf("serve API: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stop API: %w", err)
	}
	return nil
}

// Listen opens the API's listener on cfg's address (loopback unless
// configured otherwise).
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("API listen on %s: %w", addr, err)
	}
	return ln, nil
}
