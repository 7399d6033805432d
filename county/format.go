package county

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// Formats of a printed report.
const (
	FormatTable = "table"
	FormatCSV   = "csv"
	FormatJSON  = "json"
)

// Write prints the report as a table (nights, then the summary per
// center), CSV (one row per sign and night) or JSON (everything).
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatTable, "":
		return r.writeTable(w)
	case FormatCSV:
		return r.WriteCSV(w)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return nil
	}
	return fmt.Errorf("report format %q: want table, csv or json", format)
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

func note(n Night) string {
	if n.Reported {
		return ""
	}
	return "no report; window from " + n.Estimate
}

func signName(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (r *Report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "County %s, nights %s to %s\n\n", r.County, r.From, r.To)
	fmt.Fprintln(tw, "CENTER\tSIGN\tNIGHT\tREQUIRED\tLIT\tDARK\tUNKNOWN\tCOMPLIANCE\tNOTE")
	for _, n := range r.Nights {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", n.Center, signName(n.Sign), n.Date, n.Required, n.Lit, n.Dark, n.Unknown, pct(n.Compliance), note(n))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "CENTER\tNIGHTS\tFULLY LIT\tNO REPORT\tWORST NIGHT\tDARK MIN\tUNKNOWN MIN\tCOMPLIANCE")
	for _, c := range r.Centers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s (%s)\t%d\t%d\t%s\n", c.Center, c.Nights, c.FullyLit, c.NoReport, c.Worst, pct(c.WorstComp), c.Dark, c.Unknown, pct(c.Compliance))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"center", "sign", "night", "window_start", "window_end", "required_min", "lit_min", "dark_min", "unknown_min", "compliance", "reported", "estimate"}

// WriteCSV writes one row per sign and night (RFC 4180; times in RFC 3339
// UTC, compliance 0–1).
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	for _, n := range r.Nights {
		cw.Write([]string{n.Center, n.Sign, n.Date, n.Start.UTC().Format(time.RFC3339), n.End.UTC().Format(time.RFC3339),
			strconv.Itoa(n.Required), strconv.Itoa(n.Lit), strconv.Itoa(n.Dark), strconv.Itoa(n.Unknown),
			strconv.FormatFloat(n.Compliance, 'f', 4, 64), strconv.FormatBool(n.Reported), n.Estimate})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write report csv: %w", err)
	}
	return nil
}
