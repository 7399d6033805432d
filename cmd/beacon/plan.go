package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/schedule"
	"github.com/beacon-edge/beacon/rules"
)

func init() {
	commands["plan"] = command{summary: "what each device will be told, and when, for the next days", run: runPlan}
}

const planUsage = `Usage: beacon plan -c FILE [--from YYYY-MM-DD] [--days N] [--format text|json]

Prints the timeline of the center's schedule: per day the sun times and
calendar entries, then each change of a point's wanted value, each flag
movement with its etiquette steps, and each broadcast, with the rule and
the reason. Conflicts, overlapping broadcasts and broadcasts refused in quiet
hours are flagged with "!". --from defaults to today in the center's zone.`

func runPlan(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plan", stderr)
	file := fs.String("c", "", "center config `FILE`")
	from := fs.String("from", "", "first day, `YYYY-MM-DD`; default today")
	days := fs.Int("days", 7, "number of `N` days")
	format := fs.String("format", "text", "text or json")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, planUsage)
			return nil
		}
		return err
	}
	switch {
	case *file == "":
		return usagef("missing -c FILE")
	case fs.NArg() > 0:
		return usagef("unexpected argument %q", fs.Arg(0))
	case *days < 1 || *days > 366:
		return usagef("--days %d: give 1 to 366", *days)
	case *format != "text" && *format != "json":
		return usagef("--format %q: use text or json", *format)
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return err
	}
	s, err := schedule.FromConfig(cfg)
	if err != nil {
		return fmt.Errorf("build schedule of %s: %w", *file, err)
	}
	ev, err := rules.NewEvaluator(s)
	if err != nil {
		return fmt.Errorf("build schedule of %s: %w", *file, err)
	}
	loc := cfg.Center.Location
	start := rules.DateOf(time.Now().In(loc))
	if *from != "" {
		if start, err = rules.ParseDate(*from); err != nil {
			return usagef("%v", err)
		}
	}
	tl := ev.Plan(start.Midnight(loc), *days, rules.Inputs{Trusted: true})
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(schedule.Plan(cfg, tl))
	}
	printPlan(stdout, cfg, tl)
	return nil
}

func printPlan(w io.Writer, cfg *config.Config, tl rules.Timeline) {
	c := cfg.Center
	last := rules.DateOf(tl.To.Add(-time.Second))
	fmt.Fprintf(w, "plan %s %s (%s, %.4f, %.4f) %s to %s\n", c.ID, c.Name, c.Timezone, c.Lat, c.Lon, tl.Days[0].Date, last)
	var init []string
	for _, p := range tl.Initial.Points {
		init = append(init, fmt.Sprintf("%s=%s", p.Point, schedule.WantValue(p)))
	}
	for _, f := range tl.Initial.Flags {
		init = append(init, fmt.Sprintf("%s=%s", f.Device, f.State))
	}
	fmt.Fprintf(w, "at start  %s\n", strings.Join(init, "  "))
	k := 0
	for _, day := range tl.Days {
		fmt.Fprintf(w, "\n%s %s  dawn %s  sunrise %s  sunset %s  dusk %s\n", day.Date, day.Date.Weekday().String()[:3],
			schedule.SunClock(day.Sun.Dawn), schedule.SunClock(day.Sun.Sunrise), schedule.SunClock(day.Sun.Sunset), schedule.SunClock(day.Sun.Dusk))
		for _, n := range day.Notes {
			fmt.Fprintf(w, "  calendar  %s\n", n)
		}
		next := day.Date.AddDays(1).Midnight(cfg.Center.Location)
		for ; k < len(tl.Entries) && tl.Entries[k].At.Before(next); k++ {
			fmt.Fprintln(w, "  "+entryLine(tl.Entries[k]))
		}
	}
}

func entryLine(e rules.PlanEntry) string {
	what := e.Target + " " + e.Value
	if e.Kind == rules.PlanSkip {
		what = "no run"
	}
	s := fmt.Sprintf("%s  %-9s %-26s %-16s", e.At.Format("15:04:05"), e.Kind, what, e.Rule)
	if len(e.Steps) > 0 {
		s += " steps " + stepsText(e.Steps)
	}
	if e.Reason != "" {
		s += "  (" + e.Reason + ")"
	}
	if e.Warning != "" {
		s += "  ! " + e.Warning
	}
	return strings.TrimRight(s, " ")
}

func stepsText(steps []rules.FlagStep) string {
	parts := make([]string, len(steps))
	for i, st := range steps {
		parts[i] = st.String()
	}
	return strings.Join(parts, "→")
}
