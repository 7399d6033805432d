package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/gateway/schedule"
	"github.com/beacon-edge/beacon/internal/fsutil"
	"github.com/beacon-edge/beacon/rules"
)

// The write side: overrides, raw point writes, broadcasts and schedule
// edits. Each is recorded in the audit log with who, what, before and
// after.

// MaxOverride bounds a manager's override: the schedule must take over
// again.
const MaxOverride = 30 * 24 * time.Hour

type overrideRequest struct {
	Point     string          `json:"point"`
	Value     json.RawMessage `json:"value"`
	ExpiresIn string          `json:"expires_in,omitempty"` // a Go duration: 1h, 90m
	Expires   *time.Time      `json:"expires,omitempty"`    // or an instant (RFC 3339)
}

// effectiveText describes a point's effective command for the audit log.
func (s *Server) effectiveText(ref drivers.PointRef, now time.Time) string {
	c, slot, ok := s.o.Gateway.Priorities().Effective(ref, now)
	if !ok {
		return "none"
	}
	return fmt.Sprintf("%s (%s, %s)", c.Value, slot, c.Author)
}

// writablePoint resolves a device.point a request names.
func (s *Server) writablePoint(name string) (*config.Point, *FieldError) {
	dev, pt, ok := strings.Cut(name, ".")
	if !ok || dev == "" || pt == "" {
		return nil, &FieldError{Field: "point", Message: "write device.point, such as sign.power"}
	}
	p := s.o.Config.Point(drivers.PointRef{Device: dev, Point: pt})
	switch {
	case p == nil:
		return nil, &FieldError{Field: "point", Message: fmt.Sprintf("no point %s in this center", name)}
	case !p.Writable():
		return nil, &FieldError{Field: "point", Message: fmt.Sprintf("%s is read-only", name)}
	}
	return p, nil
}

// pointValue reads a JSON value of the point's kind.
func pointValue(p *config.Point, raw json.RawMessage) (drivers.Value, *FieldError) {
	if len(raw) == 0 {
		return drivers.Value{}, &FieldError{Field: "value", Message: "missing value"}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return drivers.Value{}, &FieldError{Field: "value", Message: err.Error()}
	}
	switch k := p.Type.ValueKind(); {
	case k == drivers.KindBool:
		if b, ok := v.(bool); ok {
			return drivers.Bool(b), nil
		}
	case k == drivers.KindNumber:
		if f, ok := v.(float64); ok {
			return drivers.Number(f), nil
		}
	case k == drivers.KindString:
		if s, ok := v.(string); ok {
			return drivers.String(s), nil
		}
	}
	return drivers.Value{}, &FieldError{Field: "value", Message: fmt.Sprintf("%s takes a %s, not %s", p.Ref(), valueKindName(p.Type.ValueKind()), raw)}
}

// expiry reads expires_in or expires; zero when neither is given.
func expiry(req overrideRequest, now time.Time) (time.Time, *FieldError) {
	switch {
	case req.ExpiresIn != "" && req.Expires != nil:
		return time.Time{}, &FieldError{Field: "expires_in", Message: "give expires_in or expires, not both"}
	case req.ExpiresIn != "":
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return time.Time{}, &FieldError{Field: "expires_in", Message: fmt.Sprintf("%q is not a positive duration such as 1h or 90m", req.ExpiresIn)}
		}
		return now.Add(d), nil
	case req.Expires != nil:
		if !req.Expires.After(now) {
			return time.Time{}, &FieldError{Field: "expires", Message: "the expiry is already past"}
		}
		return *req.Expires, nil
	}
	return time.Time{}, nil
}

func (s *Server) setOverride(w http.ResponseWriter, r *http.Request) {
	var req overrideRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.manual(w, r, req, ActionOverride, true)
}

func (s *Server) writePoint(w http.ResponseWriter, r *http.Request) {
	var req overrideRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Point != "" && req.Point != r.PathValue("point") {
		writeError(w, http.StatusBadRequest, "the body names another point than the path", FieldError{Field: "point", Message: "leave it out or give " + r.PathValue("point")})
		return
	}
	req.Point = r.PathValue("point")
	s.manual(w, r, req, ActionPointWrite, false)
}

// manual puts a value in a point's Manual slot; an override must expire.
func (s *Server) manual(w http.ResponseWriter, r *http.Request, req overrideRequest, action string, needExpiry bool) {
	now := s.clk.Now()
	var problems []FieldError
	p, perr := s.writablePoint(req.Point)
	if perr != nil {
		problems = append(problems, *perr)
	}
	var v drivers.Value
	if p != nil {
		var verr *FieldError
		if v, verr = pointValue(p, req.Value); verr != nil {
			problems = append(problems, *verr)
		}
	}
	exp, eerr := expiry(req, now)
	switch {
	case eerr != nil:
		problems = append(problems, *eerr)
	case needExpiry && exp.IsZero():
		problems = append(problems, FieldError{Field: "expires_in", Message: "an override needs an expiry, such as 1h; the schedule takes over after it"})
	case needExpiry && exp.Sub(now) > MaxOverride:
		problems = append(problems, FieldError{Field: "expires_in", Message: fmt.Sprintf("an override may last at most %v", MaxOverride)})
	}
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "the override is not valid", problems...)
		return
	}
	ref := p.Ref()
	who := caller(r)
	before := s.effectiveText(ref, now)
	cmd := priority.Command{Value: v, Author: "user:" + who.Name, Expires: exp, Set: now}
	after := v.String()
	if !exp.IsZero() {
		after += " until " + s.local(exp).Format(time.RFC3339)
	}
	entry := AuditEntry{User: who.Name, Role: who.Role.String(), Action: action, Target: ref.String(), Before: before, After: after, Result: "ok"}
	if err := s.o.Gateway.Priorities().Set(ref, priority.Manual, cmd); err != nil {
		entry.Result = err.Error()
		s.record(entry)
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.o.Gateway.Reconciler().Trigger(ref)
	s.record(entry)
	writeJSON(w, http.StatusOK, map[string]any{"point": ref.String(), "slot": priority.Manual.String(), "value": jsonValue(v),
		"author": cmd.Author, "expires": expiresJSON(s, exp)})
}

func expiresJSON(s *Server, t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.local(t)
}

func (s *Server) clearOverride(w http.ResponseWriter, r *http.Request) {
	p, perr := s.writablePoint(r.PathValue("point"))
	if perr != nil {
		writeError(w, http.StatusNotFound, perr.Message, *perr)
		return
	}
	ref := p.Ref()
	now := s.clk.Now()
	before := s.effectiveText(ref, now)
	old, had := s.o.Gateway.Priorities().Relinquish(ref, priority.Manual)
	if had {
		s.o.Gateway.Reconciler().Trigger(ref)
	}
	who := caller(r)
	result := "ok"
	if !had || old.Expired(now) {
		result = "no override"
	}
	s.record(AuditEntry{User: who.Name, Role: who.Role.String(), Action: ActionOverrideClear, Target: ref.String(),
		Before: before, After: s.effectiveText(ref, now), Result: result})
	writeJSON(w, http.StatusOK, map[string]any{"point": ref.String(), "cleared": had && !old.Expired(now)})
}

type broadcastRequest struct {
	Device    string `json:"device"`
	Clip      string `json:"clip,omitempty"`
	Text      string `json:"text,omitempty"`
	Zones     []int  `json:"zones,omitempty"`
	Volume    *int   `json:"volume,omitempty"`
	Emergency bool   `json:"emergency,omitempty"`
}

func (s *Server) startBroadcast(w http.ResponseWriter, r *http.Request) {
	var req broadcastRequest
	if !decodeBody(w, r, &req) {
		return
	}
	var problems []FieldError
	dev := s.o.Config.Device(req.Device)
	if dev == nil || dev.PA == nil {
		problems = append(problems, FieldError{Field: "device", Message: fmt.Sprintf("no PA %q in this center", req.Device)})
	}
	b := rules.Broadcast{Device: req.Device, Clip: req.Clip, Text: req.Text, Zones: req.Zones}
	if (req.Clip == "") == (req.Text == "") {
		problems = append(problems, FieldError{Field: "clip", Message: "give a clip or a text, not both"})
	}
	if dev != nil && dev.PA != nil {
		b.Volume = dev.PA.Volume
		if req.Clip != "" {
			if c := dev.PA.Clip(req.Clip); c == nil {
				problems = append(problems, FieldError{Field: "clip", Message: fmt.Sprintf("%s has no clip %q", dev.Name, req.Clip)})
			} else {
				b.Length = c.Length
			}
		}
		for _, z := range req.Zones {
			if len(dev.PA.Zones) > 0 && !slices.Contains(dev.PA.Zones, z) {
				problems = append(problems, FieldError{Field: "zones", Message: fmt.Sprintf("zone %d is not one of %v", z, dev.PA.Zones)})
			}
		}
	}
	if req.Volume != nil {
		if b.Volume = *req.Volume; b.Volume < 0 || b.Volume > 100 {
			problems = append(problems, FieldError{Field: "volume", Message: "volume must be 0 to 100"})
		}
	}
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "the broadcast is not valid", problems...)
		return
	}
	who := caller(r)
	action := ActionBroadcast
	if req.Emergency {
		action = ActionEmergency
	}
	entry := AuditEntry{User: who.Name, Role: who.Role.String(), Action: action, Target: req.Device,
		After: fmt.Sprintf("%s zones %v volume %d", b.What(), b.Zones, b.Volume), Result: "queued"}
	if err := s.o.Gateway.Broadcast(b, req.Emergency, "user:"+who.Name); err != nil {
		entry.Result = err.Error()
		s.record(entry)
		status := http.StatusInternalServerError
		if errors.Is(err, gateway.ErrUnknownPA) {
			status = http.StatusUnprocessableEntity
		}
		writeError(w, status, err.Error())
		return
	}
	s.record(entry)
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": true, "emergency": req.Emergency, "what": b.What()})
}

func (s *Server) stopBroadcast(w http.ResponseWriter, r *http.Request) {
	who := caller(r)
	before := "nothing playing"
	for _, d := range s.o.Config.Devices {
		if pa := s.o.Gateway.PA(d.Name); pa != nil {
			if rec, ok := pa.Playing(); ok {
				before = d.Name + ": " + rec.What()
			}
		}
	}
	s.o.Gateway.StopBroadcast("user:" + who.Name)
	s.record(AuditEntry{User: who.Name, Role: who.Role.String(), Action: ActionBroadcastStop, Target: "pa", Before: before, After: "stopped", Result: "ok"})
	writeJSON(w, http.StatusOK, map[string]any{"stopped": before != "nothing playing"})
}

func (s *Server) getSchedules(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, SchedulesOf(s.config()))
}

// checkSchedules validates an edit like the config; it answers the
// request itself when the edit is not valid.
func (s *Server) checkSchedules(w http.ResponseWriter, r *http.Request, base *config.Config) (*config.Config, []byte, bool) {
	var doc Schedules
	if !decodeBody(w, r, &doc) {
		return nil, nil, false
	}
	data, err := doc.YAML()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, nil, false
	}
	next, err := base.WithSchedules(data)
	var cerr *config.Error
	switch {
	case errors.As(err, &cerr):
		var fields []FieldError
		for _, d := range cerr.Diagnostics {
			if d.Warning {
				continue
			}
			fields = append(fields, FieldError{Field: d.Path, Message: d.Message, Line: d.Pos.Line})
		}
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("the schedules have %d problem(s)", len(fields)), fields...)
		return nil, nil, false
	case err != nil:
		writeError(w, http.StatusInternalServerError, "validate schedules: "+err.Error())
		return nil, nil, false
	}
	return next, data, true
}

func (s *Server) validateSchedules(w http.ResponseWriter, r *http.Request) {
	next, _, ok := s.checkSchedules(w, r, s.config())
	if !ok {
		return
	}
	s.planOf(w, next)
}

func (s *Server) planOf(w http.ResponseWriter, cfg *config.Config) {
	ev, err := s.evaluator(cfg)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "build schedule: "+err.Error())
		return
	}
	loc := cfg.Center.Location
	start := rules.DateOf(s.clk.Now().In(loc))
	var warnings []FieldError
	for _, d := range cfg.Warnings {
		warnings = append(warnings, FieldError{Field: d.Path, Message: d.Message, Line: d.Pos.Line})
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": true, "warnings": warnings, "schedules": SchedulesOf(cfg),
		"plan": schedule.Plan(cfg, ev.Plan(start.Midnight(loc), 2, rules.Inputs{Trusted: true}))})
}

func (s *Server) putSchedules(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock() // one edit at a time, in order
	defer s.mu.Unlock()
	prev := s.cfg
	next, data, ok := s.checkSchedules(w, r, prev)
	if !ok {
		return
	}
	who := caller(r)
	entry := AuditEntry{User: who.Name, Role: who.Role.String(), Action: ActionSchedules, Target: "schedules",
		Before: summary(prev), After: summary(next), Result: "ok"}
	if next.SchedulesFile == "" {
		entry.Result = "no schedules file configured"
		s.record(entry)
		writeError(w, http.StatusInternalServerError, "this gateway has nowhere to keep schedules")
		return
	}
	old, _ := os.ReadFile(next.SchedulesFile)
	if err := fsutil.WriteFileAtomic(next.SchedulesFile, data, 0o644); err != nil {
		entry.Result = "not saved: " + err.Error()
		s.record(entry)
		writeError(w, http.StatusInternalServerError, "save schedules: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.o.Gateway.ApplySchedule(ctx, next); err != nil {
		// The running schedule is unchanged; so must the file be, or the
		// next start would load what was refused now.
		var rollback error
		if old != nil {
			rollback = fsutil.WriteFileAtomic(next.SchedulesFile, old, 0o644)
		} else {
			rollback = os.Remove(next.SchedulesFile)
		}
		if rollback != nil {
			err = fmt.Errorf("%w; and putting the previous schedules file back failed, so a restart would load the refused edit: %v", err, rollback)
		}
		entry.Result = "not applied: " + err.Error()
		s.record(entry)
		writeError(w, http.StatusInternalServerError, "apply schedules: "+err.Error())
		return
	}
	s.cfg = next
	s.record(entry)
	s.planOf(w, next)
}

// summary describes a config's schedules in one line for the audit log:
// each rule with its times, and the calendar's size.
func summary(cfg *config.Config) string {
	b, _ := json.Marshal(SchedulesOf(cfg))
	return string(b)
}
