package county

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/browsertest"
)

// The page in a real headless Chromium: it renders every center, the dark
// and offline ones first, the heatmap with a no-report night, and a
// screenshot is kept as an artifact.
func TestDashboardInChromium(t *testing.T) {
	target, _ := seededCounty(t)
	s := newTestService(t, target)
	srv := httptest.NewServer(NewDashboard(s, DashboardOptions{Refresh: 5 * time.Minute}))
	defer srv.Close()
	b := browsertest.Start(t, browsertest.Options{Width: 1400, Height: 1000})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := b.Navigate(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitFor(ctx, `document.querySelectorAll("#centers tr.center").length > 0`); err != nil {
		t.Fatal(err)
	}
	title, err := b.Title(ctx)
	if err != nil || title != "Beacon · county qingshan" {
		t.Errorf("title = %q, %v", title, err)
	}
	names, err := b.Texts(ctx, "#centers tr.center td.name")
	if err != nil {
		t.Fatal(err)
	}
	states, err := b.Attrs(ctx, "#centers tr.center", "data-state")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 24 || len(states) != 24 {
		t.Fatalf("%d rows (%d states), want 24", len(names), len(states))
	}
	var first []string
	for i := range 4 {
		first = append(first, names[i]+":"+states[i])
	}
	if want := []string{"c01:dark", "c02:dark", "c04:offline", "c06:offline"}; !equal(first, want) {
		t.Errorf("first rows = %v, want %v", first, want)
	}
	for i := 4; i < len(states); i++ {
		if states[i] != StateLit {
			t.Errorf("row %d (%s) is %s; want lit after the dark and offline ones", i, names[i], states[i])
		}
	}
	// The page's styles are served by the dashboard itself (offline).
	var bg string
	if err := b.Exec(ctx, &bg, `return getComputedStyle(document.querySelector(".state-dark")).backgroundColor;`); err != nil || bg != "rgb(198, 40, 40)" {
		t.Errorf("dark badge background = %q, %v; want the embedded stylesheet's rgb(198, 40, 40)", bg, err)
	}
	var cells int
	if err := b.Exec(ctx, &cells, `return document.querySelectorAll("#heatmap rect.cell").length;`); err != nil || cells != 24*HeatmapNights {
		t.Errorf("heatmap has %d cells, %v; want %d", cells, err, 24*HeatmapNights)
	}
	// c04 never reported night 2: a dashed "no report" cell. c01's night 1 is red.
	var dash, red string
	b.Exec(ctx, &dash, `return document.querySelector('#heatmap rect[data-center="c04"][data-night="2026-05-06"]').getAttribute("stroke-dasharray") || "";`)
	b.Exec(ctx, &red, `return document.querySelector('#heatmap rect[data-center="c07"][data-night="2026-05-07"]').getAttribute("fill");`)
	if dash == "" || red != "#e53935" {
		t.Errorf("c04 night 2 dasharray %q (want one), c07 night 3 fill %q (want #e53935)", dash, red)
	}
	var refresh string
	b.Exec(ctx, &refresh, `return document.querySelector('meta[http-equiv="refresh"]').content;`)
	if refresh != "300" {
		t.Errorf("refresh = %q, want 300", refresh)
	}
	png, err := b.FullScreenshot(ctx, 2000)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveArtifact(t, "county-dashboard.png", png)
}

func TestDashboardCSVExport(t *testing.T) {
	target, plans := seededCounty(t)
	s := newTestService(t, target)
	srv := httptest.NewServer(NewDashboard(s, DashboardOptions{}))
	defer srv.Close()
	tests := []struct {
		name   string
		query  string
		status int
		rows   int // data rows
	}{
		{"the four complete nights", "?from=2026-05-04&to=2026-05-07", 200, 24 * nightsDone},
		{"default: the 30 nights before tonight (the county exists for 4)", "", 200, 24 * nightsDone},
		{"one night", "?from=2026-05-05&to=2026-05-05", 200, 24},
		{"bad date", "?from=May", 400, 0},
		{"to before from", "?from=2026-05-07&to=2026-05-04", 400, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + "/report.csv" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			recs, err := csv.NewReader(resp.Body).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.rows+1 || strings.Join(recs[0], ",") != strings.Join(CSVHeader, ",") {
				t.Fatalf("%d records, header %v", len(recs), recs[0])
			}
		})
	}
	// The exported row of c01's dark night, as a spreadsheet sees it.
	resp, err := http.Get(srv.URL + "/report.csv?from=2026-05-05&to=2026-05-05")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	recs, _ := csv.NewReader(resp.Body).ReadAll()
	w := expectNight(plans[0], 1)
	want := fmt.Sprintf("c01,sign,2026-05-05,%s,%s,%d,%d,120,0,%.4f,true,", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339), w.Required, w.Required-120, w.Compliance)
	if got := strings.Join(recs[1], ","); got != want {
		t.Errorf("c01 row:\n got %s\nwant %s", got, want)
	}
}
