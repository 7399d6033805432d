package county

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed web
var webFS embed.FS

var pageTmpl = template.Must(template.ParseFS(webFS, "web/dashboard.html"))

// HeatmapNights is how many nights the dashboard draws.
const HeatmapNights = 30

// DashboardOptions tune the dashboard.
type DashboardOptions struct {
	Refresh time.Duration // page reload interval (default 1 min)
	Alerts  *Alerter      // nil: /api/alerts evaluates on request, without start/repeat bookkeeping
}

// Dashboard is the county's web page and JSON endpoints. It keeps no
// state: every request reads InfluxDB.
//
//	GET /                  the page (HTML, SVG heatmap, no scripts, embedded CSS)
//	GET /report.csv        the report as CSV (?from=&to=, default the last 30 nights)
//	GET /api/report        the report as JSON (same parameters)
//	GET /api/status        every center now, as JSON
//	GET /api/alerts        the active alerts, as JSON
type Dashboard struct {
	svc  *Service
	opts DashboardOptions
	mux  *http.ServeMux
}

// NewDashboard returns the dashboard's handler.
func NewDashboard(svc *Service, opts DashboardOptions) *Dashboard {
	if opts.Refresh <= 0 {
		opts.Refresh = time.Minute
	}
	d := &Dashboard{svc: svc, opts: opts, mux: http.NewServeMux()}
	static, _ := fs.Sub(webFS, "web")
	d.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	d.mux.HandleFunc("GET /{$}", d.page)
	d.mux.HandleFunc("GET /report.csv", d.report)
	d.mux.HandleFunc("GET /api/report", d.report)
	d.mux.HandleFunc("GET /api/status", d.status)
	d.mux.HandleFunc("GET /api/alerts", d.alerts)
	return d
}

func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	d.svc.log.Warn("dashboard request failed", "path", r.URL.Path, "err", err)
	http.Error(w, err.Error(), code)
}

// row is a center as the page shows it.
type row struct {
	Center, State, Since, Signs, LastNight, Flag, Broadcast, Heartbeat string
	Bad                                                                bool
}

func (d *Dashboard) clock(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	loc := d.svc.cfg.Location
	now := d.svc.Now().In(loc)
	lt := t.In(loc)
	if lt.Format(dateLayout) == now.Format(dateLayout) {
		return lt.Format("15:04")
	}
	return lt.Format("Jan 2 15:04")
}

func (d *Dashboard) page(w http.ResponseWriter, r *http.Request) {
	st, err := d.svc.Status(r.Context(), HeatmapNights)
	if err != nil {
		d.fail(w, r, http.StatusBadGateway, err)
		return
	}
	counts := map[string]int{StateDark: 0, StateOffline: 0, StateUnknown: 0, StateLit: 0, StateOff: 0}
	rows := make([]row, 0, len(st.Centers))
	order := make([]string, 0, len(st.Centers))
	for _, c := range st.Centers {
		counts[c.State]++
		order = append(order, c.Center)
		rw := row{Center: c.Center, State: c.State, Bad: stateRank(c.State) < 3, Heartbeat: d.clock(c.LastHeartbeat)}
		if !c.Since.IsZero() {
			rw.Since = d.clock(c.Since)
		}
		var signs []string
		for _, s := range c.Signs {
			txt := s.Device + " " + s.State
			if s.State == StateLit || s.State == StateDark {
				txt += fmt.Sprintf(" %.2f A", s.CurrentAmps)
			}
			signs = append(signs, txt)
		}
		rw.Signs = strings.Join(signs, ", ")
		if n := c.LastNight; n != nil {
			rw.LastNight = fmt.Sprintf("%s %s", n.Date, pct(n.Compliance))
			if !n.Reported {
				rw.LastNight += " (no report)"
			} else if n.Dark > 0 || n.Unknown > 0 {
				rw.LastNight += fmt.Sprintf(" · %d dark, %d unknown min", n.Dark, n.Unknown)
			}
		}
		if c.FlagPosition != nil {
			rw.Flag = fmt.Sprintf("%.0f %% at %s", *c.FlagPosition, d.clock(c.FlagTime))
		}
		if b := c.Broadcast; b != nil {
			rw.Broadcast = fmt.Sprintf("%s %s (%s)", d.clock(b.Time), b.Clip, b.Outcome)
		}
		rows = append(rows, rw)
	}
	rep := st.Report
	dates := rep.Dates[:len(rep.Dates)-1] // the nights before tonight
	if len(dates) > HeatmapNights {
		dates = dates[len(dates)-HeatmapNights:]
	}
	var alerts []Alert
	if d.opts.Alerts != nil {
		alerts, _, _ = d.opts.Alerts.Active()
	}
	data := map[string]any{
		"County": d.svc.cfg.County, "Now": d.clock(st.Now), "Zone": d.svc.cfg.Location.String(),
		"RefreshSeconds": int(d.opts.Refresh / time.Second), "Counts": counts, "Rows": rows,
		"Dates": dates, "From": dates[0], "To": dates[len(dates)-1], "Alerts": alerts,
		"Heatmap": template.HTML(heatmap(order, dates, rep.Nights)),
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, data); err != nil {
		d.fail(w, r, http.StatusInternalServerError, fmt.Errorf("render dashboard: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// heatmap draws centers (rows, in the given order) × nights (columns) as
// SVG; each cell is the center's night over all its signs, with a tooltip.
func heatmap(centers, dates []string, nights []Night) string {
	type agg struct {
		req, lit, dark, unknown int
		noReport                bool
	}
	cells := map[[2]string]*agg{}
	for _, n := range nights {
		k := [2]string{n.Center, n.Date}
		a := cells[k]
		if a == nil {
			a = &agg{}
			cells[k] = a
		}
		a.req += n.Required
		a.lit += n.Lit
		a.dark += n.Dark
		a.unknown += n.Unknown
		a.noReport = a.noReport || !n.Reported
	}
	const cw, ch, left, top = 18, 12, 90, 40
	w, h := left+cw*len(dates)+10, top+ch*len(centers)+6
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="heatmap" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="compliance by center and night">`, w, h, w, h)
	for j, d := range dates {
		x := left + j*cw + cw/2
		fmt.Fprintf(&b, `<text x="%d" y="%d" transform="rotate(-60 %d %d)">%s</text>`, x, top-4, x, top-4, template.HTMLEscapeString(d[5:]))
	}
	for i, c := range centers {
		y := top + i*ch
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+ch-2, template.HTMLEscapeString(c))
		for j, d := range dates {
			x := left + j*cw
			a := cells[[2]string{c, d}]
			fill, stroke, tip := "#f4f5f7", "", d+": no data"
			if a != nil {
				comp := 0.0
				if a.req > 0 {
					comp = float64(a.lit) / float64(a.req)
				}
				tip = fmt.Sprintf("%s %s: %s lit, %d dark, %d unknown of %d min", c, d, pct(comp), a.dark, a.unknown, a.req)
				switch {
				case a.noReport && a.lit == 0:
					fill, stroke, tip = "#ffffff", ` stroke="#777" stroke-dasharray="2 2"`, tip+" (no report)"
				case a.req > 0 && a.lit == a.req:
					fill = "#2e7d32"
				case comp >= 0.95:
					fill = "#9ccc65"
				case a.dark > 0 && a.dark >= a.unknown:
					fill = "#e53935"
				case a.unknown > 0 && comp < 0.8:
					fill = "#9e9e9e"
				case comp >= 0.8:
					fill = "#ffb300"
				default:
					fill = "#e53935"
				}
			}
			fmt.Fprintf(&b, `<rect class="cell" data-center="%s" data-night="%s" x="%d" y="%d" width="%d" height="%d" fill="%s"%s><title>%s</title></rect>`,
				template.HTMLEscapeString(c), d, x+1, y+1, cw-2, ch-2, fill, stroke, template.HTMLEscapeString(tip))
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// rangeParams reads ?from=&to= (default: the 30 nights before tonight).
func (d *Dashboard) rangeParams(r *http.Request) (time.Time, time.Time, error) {
	today, _ := ParseDate(d.svc.nightOf(d.svc.Now()))
	from, to := today.AddDate(0, 0, -HeatmapNights), today.AddDate(0, 0, -1)
	var err error
	if s := r.URL.Query().Get("from"); s != "" {
		if from, err = ParseDate(s); err != nil {
			return from, to, err
		}
	}
	if s := r.URL.Query().Get("to"); s != "" {
		if to, err = ParseDate(s); err != nil {
			return from, to, err
		}
	}
	if to.Before(from) || to.Sub(from) > 366*24*time.Hour {
		return from, to, fmt.Errorf("range %s to %s: want from ≤ to, at most a year", from.Format(dateLayout), to.Format(dateLayout))
	}
	return from, to, nil
}

func (d *Dashboard) report(w http.ResponseWriter, r *http.Request) {
	from, to, err := d.rangeParams(r)
	if err != nil {
		d.fail(w, r, http.StatusBadRequest, err)
		return
	}
	rep, err := d.svc.Report(r.Context(), from, to)
	if err != nil {
		d.fail(w, r, http.StatusBadGateway, err)
		return
	}
	var buf bytes.Buffer
	if strings.HasSuffix(r.URL.Path, ".csv") {
		err = rep.WriteCSV(&buf)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="beacon-%s-%s-%s.csv"`, d.svc.cfg.County, rep.From, rep.To))
	} else {
		err = rep.Write(&buf, FormatJSON)
		w.Header().Set("Content-Type", "application/json")
	}
	if err != nil {
		d.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (d *Dashboard) status(w http.ResponseWriter, r *http.Request) {
	st, err := d.svc.Status(r.Context(), 1)
	if err != nil {
		d.fail(w, r, http.StatusBadGateway, err)
		return
	}
	writeJSON(w, st)
}

// alertsReply is the body of GET /api/alerts.
type alertsReply struct {
	County    string    `json:"county"`
	Evaluated time.Time `json:"evaluated,omitzero"`
	Error     string    `json:"error,omitempty"`
	Alerts    []Alert   `json:"alerts"`
}

func (d *Dashboard) alerts(w http.ResponseWriter, r *http.Request) {
	a := d.opts.Alerts
	if a == nil {
		// No running alerter: evaluate now, statelessly.
		a = NewAlerter(d.svc, AlertRules{})
		if _, err := a.Check(r.Context()); err != nil {
			d.fail(w, r, http.StatusBadGateway, err)
			return
		}
	}
	list, at, errText := a.Active()
	writeJSON(w, alertsReply{County: d.svc.cfg.County, Evaluated: at, Error: errText, Alerts: list})
}
