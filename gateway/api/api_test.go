package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/memory"
	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/gateway/schedule"
	"github.com/beacon-edge/beacon/gateway/telemetry"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/internal/testenv"
)

const testCenter = `center:
  id: t
  name: 测试中心
  county: c
  timezone: Asia/Shanghai
  location: {lat: 22.5, lon: 113}
connections:
  bus: {url: "tcp://127.0.0.1:1502"}
devices:
  sign:
    kind: sign
    connection: bus
    unit: 1
    poll: 100ms
    sign: {nominal_current: 2}
    points:
      power: {table: coil, address: 0, access: write, safe: true}
      current: {table: input, address: 0, scale: 0.01, unit: A}
  pa:
    kind: pa
    connection: bus
    unit: 2
    poll: 100ms
    points:
      power: {table: coil, address: 0, access: write, safe: false}
      zone1: {table: coil, address: 1, access: write}
      volume: {table: holding, address: 0, access: write}
      clip: {table: holding, address: 1, access: write}
      playing: {table: discrete, address: 0}
    pa:
      zones: [1]
      volume: 60
      clips:
        news: {id: 1, length: 40s}
quiet_hours:
  between: ["21:30", "07:00"]
calendar:
  - date: 2026-10-01
    tags: [holiday]
rules:
  - name: sign-at-night
    between: [sunset-15m, sunrise+15m]
    set: {sign.power: true}
    otherwise: {sign.power: false}
  - name: morning-news
    at: "07:30"
    days: [mon, tue, wed, thu, fri]
    except: [holiday]
    grace: 5m
    broadcast: {device: pa, clip: news, zones: [1], volume: 55}
`

var (
	power   = drivers.PointRef{Device: "sign", Point: "power"}
	current = drivers.PointRef{Device: "sign", Point: "current"}
)

type fixture struct {
	srv     *httptest.Server
	api     *Server
	gw      *gateway.Gateway
	mem     *memory.Driver
	clk     *clock.Scaled
	cfgFile string
	tokens  map[Role]string
	audit   []AuditEntry // heard by OnAudit
}

// start runs a gateway on an in-memory driver at noon (the sign's night
// rule wants it off) and serves the API over a loopback httptest server.
func start(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{cfgFile: filepath.Join(dir, "center.yaml"), tokens: map[Role]string{}}
	if err := os.WriteFile(f.cfgFile, []byte(testCenter), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(f.cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	f.clk = clock.NewScaled(time.Date(2026, 6, 1, 12, 0, 0, 0, loc), 1) // a Monday
	f.mem = memory.New(f.clk)
	for _, d := range cfg.Devices {
		for _, p := range d.Points {
			var v drivers.Value = drivers.Number(0)
			if p.Type.ValueKind() == drivers.KindBool {
				v = drivers.Bool(false)
			}
			f.mem.Add(p.Ref(), v)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var api *Server
	gw, err := gateway.New(cfg, gateway.Options{
		Clock: f.clk, StateDir: dir, Logger: logger, SweepInterval: 50 * time.Millisecond,
		Drivers: map[config.Protocol]gateway.DriverFactory{
			config.ModbusTCP: func(*config.Connection, []*config.Device, *slog.Logger) (drivers.Driver, error) { return f.mem, nil },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.gw = gw
	tokens := OpenTokens(filepath.Join(dir, "tokens"))
	for _, r := range []Role{Viewer, Manager, Installer} {
		if f.tokens[r], err = tokens.Add(r.String()+"-1", r, f.clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	audit, err := OpenAuditLog(filepath.Join(dir, "audit.jsonl"), 0)
	if err != nil {
		t.Fatal(err)
	}
	api, err = New(Options{Gateway: gw, Config: cfg, Tokens: tokens, Audit: audit, Clock: f.clk, Logger: logger,
		Nights: func() ([]telemetry.SignNight, error) {
			s := time.Date(2026, 5, 31, 18, 45, 0, 0, loc)
			return []telemetry.SignNight{{Device: "sign", Start: s, End: s.Add(11 * time.Hour), Required: 660, Lit: 650, Dark: 10, Compliance: 650.0 / 660}}, nil
		},
		OnAudit: func(e AuditEntry) { f.audit = append(f.audit, e) },
		MaxBody: 4 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.api = api
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	f.srv = httptest.NewServer(api.Handler())
	t.Cleanup(func() {
		f.srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	return f
}

// call makes a request with the token of role (0: none) and returns the
// status and body.
func (f *fixture) call(t *testing.T, role Role, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if role != 0 {
		req.Header.Set("Authorization", "Bearer "+f.tokens[role])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestAuth(t *testing.T) {
	f := start(t)
	tests := []struct {
		name   string
		header string
		method string
		path   string
		body   string
		want   int
	}{
		{"no token", "", "GET", "/api/status", "", 401},
		{"not a bearer", "Basic dXNlcjpwYXNz", "GET", "/api/status", "", 401},
		{"unknown token", "Bearer bcn_nope", "GET", "/api/status", "", 401},
		{"viewer reads", "viewer", "GET", "/api/status", "", 200},
		{"viewer cannot override", "viewer", "POST", "/api/overrides", `{"point":"sign.power","value":true,"expires_in":"1h"}`, 403},
		{"viewer cannot edit schedules", "viewer", "PUT", "/api/schedules", `{}`, 403},
		{"viewer cannot broadcast", "viewer", "POST", "/api/broadcasts", `{}`, 403},
		{"viewer cannot stop a broadcast", "viewer", "POST", "/api/broadcasts/stop", ``, 403},
		{"manager cannot write raw points", "manager", "PUT", "/api/points/sign.power", `{"value":true}`, 403},
		{"installer writes raw points", "installer", "PUT", "/api/points/sign.power", `{"value":true}`, 200},
		{"unknown endpoint", "viewer", "GET", "/api/nothing", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, f.srv.URL+tt.path, strings.NewReader(tt.body))
			switch tt.header {
			case "viewer", "manager", "installer":
				r, _ := ParseRole(tt.header)
				req.Header.Set("Authorization", "Bearer "+f.tokens[r])
			case "":
			default:
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var eb errorBody
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, b)
			}
			if tt.want >= 400 {
				if err := json.Unmarshal(b, &eb); err != nil || eb.Error == "" {
					t.Errorf("error body %s: want {\"error\": …}", b)
				}
			}
			if tt.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestReads(t *testing.T) {
	f := start(t)
	testenv.WaitFor(t, 5*time.Second, "the sign read", func() bool { p, _ := f.gw.Store().Get(current); return p.Quality.String() == "good" })
	t.Run("whoami", func(t *testing.T) {
		code, b := f.call(t, Manager, "GET", "/api/whoami", "")
		if code != 200 || string(bytes.TrimSpace(b)) != `{"name":"manager-1","role":"manager"}` {
			t.Errorf("%d %s", code, b)
		}
	})
	t.Run("status", func(t *testing.T) {
		var st statusJSON
		testenv.WaitFor(t, 5*time.Second, "the sign judged", func() bool {
			code, b := f.call(t, Viewer, "GET", "/api/status", "")
			if code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			st = statusJSON{}
			json.Unmarshal(b, &st)
			return len(st.Signs) == 1 && st.Signs[0].State != "unknown"
		})
		if st.Center.ID != "t" || st.Center.Name != "测试中心" || st.Signs[0].Device != "sign" || st.Signs[0].State != "dark" ||
			len(st.PAs) != 1 || st.PAs[0].Clips[0] != "news" || st.PAs[0].Volume != 60 {
			t.Errorf("status = %+v", st)
		}
	})
	t.Run("points", func(t *testing.T) {
		for _, tc := range []struct {
			role      Role
			wantSlots bool
		}{{Viewer, false}, {Installer, true}} {
			code, b := f.call(t, tc.role, "GET", "/api/points", "")
			var pts []pointJSON
			if err := json.Unmarshal(b, &pts); code != 200 || err != nil {
				t.Fatalf("%d %s", code, b)
			}
			var pw *pointJSON
			for i := range pts {
				if pts[i].Point == "sign.power" {
					pw = &pts[i]
				}
			}
			if pw == nil || !pw.Writable || pw.Type != "bool" || pw.Effective == nil || pw.Effective.Slot != "schedule" ||
				pw.Effective.Author != "rule:sign-at-night" || pw.Effective.Value != false {
				t.Fatalf("sign.power = %+v", pw)
			}
			if (len(pw.Slots) > 0) != tc.wantSlots {
				t.Errorf("role %s: slots %+v", tc.role, pw.Slots)
			}
		}
	})
	t.Run("plan", func(t *testing.T) {
		code, b := f.call(t, Viewer, "GET", "/api/plan?from=2026-06-01&days=1", "")
		var p schedule.PlanJSON
		if err := json.Unmarshal(b, &p); code != 200 || err != nil {
			t.Fatalf("%d %s", code, b)
		}
		var lines []string
		for _, e := range p.Entries {
			lines = append(lines, e.At.Format("15:04")+" "+e.Kind+" "+e.Target+" "+e.Value)
		}
		want := []string{"05:58 set sign.power false", "07:30 broadcast pa news zones [1] volume 55", "18:53 set sign.power true"}
		if p.Center != "t" || len(p.Days) != 1 || strings.Join(lines, "|") != strings.Join(want, "|") {
			t.Errorf("plan:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		for _, bad := range []string{"/api/plan?days=0", "/api/plan?days=x", "/api/plan?from=June"} {
			if code, _ := f.call(t, Viewer, "GET", bad, ""); code != 400 {
				t.Errorf("%s: %d, want 400", bad, code)
			}
		}
	})
	t.Run("timeline", func(t *testing.T) {
		code, b := f.call(t, Viewer, "GET", "/api/timeline", "")
		var tl timelineJSON
		if err := json.Unmarshal(b, &tl); code != 200 || err != nil {
			t.Fatalf("%d %s", code, b)
		}
		if tl.To.Sub(tl.From) != 24*time.Hour || len(tl.Sunset) != 1 || len(tl.Lanes) == 0 || tl.Lanes[0].Target != "sign.power" {
			t.Fatalf("timeline = %+v", tl)
		}
		// Noon to midnight wants the sign off until sunset-15m, then on.
		var vals []string
		for _, sg := range tl.Lanes[0].Planned {
			vals = append(vals, sg.From.Format("15:04")+"="+sg.Value)
		}
		if strings.Join(vals, " ") != "00:00=true 05:58=false 18:53=true" {
			t.Errorf("sign lane %v", vals)
		}
	})
	t.Run("nights", func(t *testing.T) {
		code, b := f.call(t, Viewer, "GET", "/api/nights", "")
		var ns []telemetry.SignNight
		if err := json.Unmarshal(b, &ns); code != 200 || err != nil || len(ns) != 1 || ns[0].Lit != 650 || ns[0].Start.Format("15:04") != "18:45" {
			t.Errorf("%d %s", code, b)
		}
	})
	t.Run("broadcasts", func(t *testing.T) {
		code, b := f.call(t, Viewer, "GET", "/api/broadcasts", "")
		var bs broadcastsJSON
		if err := json.Unmarshal(b, &bs); code != 200 || err != nil {
			t.Fatalf("%d %s", code, b)
		}
		// Monday noon: the next news are Tuesday and Wednesday 07:30.
		if len(bs.Due) != 2 || bs.Due[0].Start.Format("Mon 15:04") != "Tue 07:30" || bs.Due[0].Source != "morning-news" || len(bs.Done) != 0 {
			t.Errorf("broadcasts = %s", b)
		}
	})
	t.Run("schedules", func(t *testing.T) {
		code, b := f.call(t, Viewer, "GET", "/api/schedules", "")
		var s Schedules
		if err := json.Unmarshal(b, &s); code != 200 || err != nil {
			t.Fatalf("%d %s", code, b)
		}
		if len(s.Rules) != 2 || s.Rules[1].At != "07:30" || s.Rules[1].Grace != "5m" || *s.Rules[1].Broadcast.Volume != 55 ||
			s.Calendar[0].Date != "2026-10-01" || s.QuietHours.Between[0] != "21:30" {
			t.Errorf("schedules = %s", b)
		}
	})
}

func TestOverride(t *testing.T) {
	f := start(t)
	powerIs := func(want bool) func() bool {
		return func() bool { v, _ := f.mem.Value(power); return drivers.Equal(v, drivers.Bool(want), 0) }
	}
	testenv.WaitFor(t, 5*time.Second, "the schedule turns the sign off at noon", powerIs(false))
	bad := []struct {
		name, body string
		want       int
		field      string
	}{
		{"malformed JSON", `{"point": "sign.power",`, 400, ""},
		{"unknown field", `{"point":"sign.power","value":true,"expires_in":"1h","why":"x"}`, 400, ""},
		{"two values", `{"point":"sign.power","value":true,"expires_in":"1h"} {}`, 400, ""},
		{"no expiry", `{"point":"sign.power","value":true}`, 422, "expires_in"},
		{"bad expiry", `{"point":"sign.power","value":true,"expires_in":"soon"}`, 422, "expires_in"},
		{"too long", `{"point":"sign.power","value":true,"expires_in":"1000h"}`, 422, "expires_in"},
		{"wrong type", `{"point":"sign.power","value":1,"expires_in":"1h"}`, 422, "value"},
		{"read-only point", `{"point":"sign.current","value":1,"expires_in":"1h"}`, 422, "point"},
		{"unknown point", `{"point":"roof.power","value":true,"expires_in":"1h"}`, 422, "point"},
		{"oversized", `{"point":"sign.power","value":"` + strings.Repeat("x", 5000) + `","expires_in":"1h"}`, 413, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			code, b := f.call(t, Manager, "POST", "/api/overrides", tt.body)
			var eb errorBody
			json.Unmarshal(b, &eb)
			if code != tt.want || (tt.field != "" && (len(eb.Fields) == 0 || eb.Fields[0].Field != tt.field)) {
				t.Errorf("%d %s; want %d on field %q", code, b, tt.want, tt.field)
			}
		})
	}
	t.Run("set, applied, audited", func(t *testing.T) {
		code, b := f.call(t, Manager, "POST", "/api/overrides", `{"point":"sign.power","value":true,"expires_in":"1h"}`)
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		testenv.WaitFor(t, 5*time.Second, "the override reaches the device", powerIs(true))
		c, slot, _ := f.gw.Priorities().Effective(power, f.clk.Now())
		if slot != priority.Manual || c.Author != "user:manager-1" || c.Expires.Sub(c.Set) != time.Hour {
			t.Errorf("effective %s %+v", slot, c)
		}
		a := f.audit[len(f.audit)-1]
		if a.User != "manager-1" || a.Action != ActionOverride || a.Target != "sign.power" ||
			a.Before != "false (schedule, rule:sign-at-night)" || !strings.HasPrefix(a.After, "true until 2026-06-01T13:00") {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("clear hands back to the schedule", func(t *testing.T) {
		code, b := f.call(t, Manager, "DELETE", "/api/overrides/sign.power", "")
		if code != 200 || !strings.Contains(string(b), `"cleared":true`) {
			t.Fatalf("%d %s", code, b)
		}
		testenv.WaitFor(t, 5*time.Second, "the schedule again", powerIs(false))
		a := f.audit[len(f.audit)-1]
		if a.Action != ActionOverrideClear || a.After != "false (schedule, rule:sign-at-night)" {
			t.Errorf("audit %+v", a)
		}
		if code, _ := f.call(t, Manager, "DELETE", "/api/overrides/sign.nothing", ""); code != 404 {
			t.Errorf("clear unknown point: %d", code)
		}
	})
	t.Run("the audit log lists it", func(t *testing.T) {
		code, b := f.call(t, Viewer, "GET", "/api/audit?users=1", "")
		var es []AuditEntry
		if err := json.Unmarshal(b, &es); code != 200 || err != nil || len(es) != 2 || es[0].Action != ActionOverrideClear || es[1].Action != ActionOverride {
			t.Errorf("%d %s", code, b)
		}
	})
}

func TestBroadcasts(t *testing.T) {
	f := start(t)
	bad := []struct {
		name, body string
		want       int
		field      string
	}{
		{"malformed", `{"device":`, 400, ""},
		{"no PA", `{"device":"sign","clip":"news"}`, 422, "device"},
		{"clip and text", `{"device":"pa","clip":"news","text":"hi"}`, 422, "clip"},
		{"unknown clip", `{"device":"pa","clip":"nope"}`, 422, "clip"},
		{"bad zone", `{"device":"pa","clip":"news","zones":[7]}`, 422, "zones"},
		{"loud", `{"device":"pa","clip":"news","volume":101}`, 422, "volume"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			code, b := f.call(t, Manager, "POST", "/api/broadcasts", tt.body)
			var eb errorBody
			json.Unmarshal(b, &eb)
			if code != tt.want || (tt.field != "" && (len(eb.Fields) == 0 || eb.Fields[0].Field != tt.field)) {
				t.Errorf("%d %s; want %d on %q", code, b, tt.want, tt.field)
			}
		})
	}
	t.Run("emergency starts and stops", func(t *testing.T) {
		code, b := f.call(t, Manager, "POST", "/api/broadcasts", `{"device":"pa","clip":"news","emergency":true}`)
		if code != 202 {
			t.Fatalf("%d %s", code, b)
		}
		testenv.WaitFor(t, 5*time.Second, "the amplifier on", func() bool {
			v, _ := f.mem.Value(drivers.PointRef{Device: "pa", Point: "power"})
			return drivers.Equal(v, drivers.Bool(true), 0)
		})
		if code, b := f.call(t, Manager, "POST", "/api/broadcasts/stop", ""); code != 200 {
			t.Fatalf("stop: %d %s", code, b)
		}
		var bs broadcastsJSON
		testenv.WaitFor(t, 5*time.Second, "the broadcast recorded", func() bool {
			_, b := f.call(t, Viewer, "GET", "/api/broadcasts", "")
			bs = broadcastsJSON{}
			json.Unmarshal(b, &bs)
			return len(bs.Done) == 1
		})
		if d := bs.Done[0]; !d.Emergency || d.Result != "interrupted" || d.What != "clip news" || !strings.HasPrefix(d.Source, "user:manager-1") {
			t.Errorf("done %+v", d)
		}
		var actions []string
		for _, a := range f.audit {
			actions = append(actions, a.Action)
		}
		if strings.Join(actions, ",") != "emergency,broadcast-stop" {
			t.Errorf("audit %v", actions)
		}
	})
}

func TestSchedules(t *testing.T) {
	f := start(t)
	_, b := f.call(t, Viewer, "GET", "/api/schedules", "")
	var doc Schedules
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	edit := func(change func(*Schedules)) string {
		var d Schedules
		json.Unmarshal(b, &d)
		change(&d)
		out, _ := json.Marshal(d)
		return string(out)
	}
	bad := []struct {
		name  string
		body  string
		want  int
		field string
		line  int
	}{
		{"malformed", `{"rules": [`, 400, "", 0},
		{"wiring is not editable", `{"rules": [], "calendar": [], "devices": {}}`, 400, "", 0},
		{"bad broadcast time", edit(func(d *Schedules) { d.Rules[1].At = "7:30pm" }), 422, "rules[1].at", 0},
		{"unknown clip", edit(func(d *Schedules) { d.Rules[1].Broadcast.Clip = "nope" }), 422, "rules[1].broadcast.clip", 0},
		{"bad calendar date", edit(func(d *Schedules) { d.Calendar[0].Date = "2026-13-01" }), 422, "calendar[0].date", 0},
		{"oversized", `{"rules": [` + strings.Repeat(`{"name":"x"},`, 400) + `{"name":"y"}]}`, 413, "", 0},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/schedules/validate", "/api/schedules"} {
				method := "POST"
				if path == "/api/schedules" {
					method = "PUT"
				}
				code, body := f.call(t, Manager, method, path, tt.body)
				var eb errorBody
				json.Unmarshal(body, &eb)
				if code != tt.want || (tt.field != "" && (len(eb.Fields) == 0 || eb.Fields[0].Field != tt.field || eb.Fields[0].Line == 0)) {
					t.Errorf("%s %s: %d %s; want %d on %q", method, path, code, body, tt.want, tt.field)
				}
			}
			if _, err := os.Stat(config.SchedulesPath(f.cfgFile)); err == nil {
				t.Error("an invalid edit was saved")
			}
		})
	}
	t.Run("validate shows the new plan without applying", func(t *testing.T) {
		code, body := f.call(t, Manager, "POST", "/api/schedules/validate", edit(func(d *Schedules) { d.Rules[1].At = "08:15" }))
		if code != 200 || !strings.Contains(string(body), `"value":"news zones [1] volume 55"`) || !strings.Contains(string(body), "T08:15:00+08:00") {
			t.Fatalf("%d %s", code, body)
		}
		if _, b := f.call(t, Viewer, "GET", "/api/schedules", ""); !strings.Contains(string(b), `"at":"07:30"`) {
			t.Error("validate applied the edit")
		}
	})
	t.Run("apply: saved, running, audited, loaded again", func(t *testing.T) {
		// Move the sign-on to 11:00 (it is noon): the sign must light now.
		code, body := f.call(t, Manager, "PUT", "/api/schedules", edit(func(d *Schedules) {
			d.Rules[0].Between = []string{"11:00", "sunrise+15m"}
			d.Rules[1].At = "12:01"
		}))
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		testenv.WaitFor(t, 5*time.Second, "the sign lit by the new window", func() bool { v, _ := f.mem.Value(power); return drivers.Equal(v, drivers.Bool(true), 0) })
		cfg, err := config.Load(f.cfgFile)
		if err != nil {
			t.Fatalf("beacon check sees: %v", err)
		}
		if cfg.Rules[0].Between[0] != "11:00" || cfg.Rules[1].At != "12:01" || len(cfg.Calendar) != 1 {
			t.Errorf("loaded again: %+v %+v", cfg.Rules[0], cfg.Rules[1])
		}
		a := f.audit[len(f.audit)-1]
		if a.Action != ActionSchedules || a.User != "manager-1" || !strings.Contains(a.Before, `"between":["sunset-15m","sunrise+15m"]`) ||
			!strings.Contains(a.After, `"between":["11:00","sunrise+15m"]`) {
			t.Errorf("audit %+v", a)
		}
		_, b := f.call(t, Viewer, "GET", "/api/broadcasts", "")
		if !strings.Contains(string(b), `"start":"2026-06-01T12:01:00+08:00"`) {
			t.Errorf("due broadcasts do not show the new time: %s", b)
		}
	})
}

func TestSchedulesRoundTrip(t *testing.T) {
	// Every rule form of the demo center survives config → JSON → YAML →
	// config unchanged.
	cfg, err := config.Load(filepath.Join("..", "..", "configs", "demo-center.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := SchedulesOf(cfg)
	j, _ := json.Marshal(doc)
	var back Schedules
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	y, err := back.YAML()
	if err != nil {
		t.Fatal(err)
	}
	next, err := cfg.WithSchedules(y)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	a, _ := json.Marshal(SchedulesOf(next))
	if string(a) != string(j) {
		t.Errorf("round trip:\n got %s\nwant %s", a, j)
	}
}
