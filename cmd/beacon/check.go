package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/beacon-edge/beacon/gateway/config"
)

func init() {
	commands["check"] = command{summary: "validate a center config and summarise it", run: runCheck}
}

func runCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stderr)
	file := fs.String("c", "", "center config `FILE`")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: beacon check -c FILE\n\nValidates a center config; prints every problem as FILE:LINE:COL: field: message.")
			return nil
		}
		return err
	}
	if *file == "" {
		return usagef("missing -c FILE")
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg, diags, err := config.Check(*file)
	if err != nil {
		return err
	}
	for _, d := range diags {
		fmt.Fprintln(stderr, d)
	}
	if cfg == nil {
		n := len(diags.Errors())
		fmt.Fprintf(stderr, "%s: %d %s\n", *file, n, plural(n, "error", "errors"))
		return exitError{code: 1}
	}
	printSummary(stdout, cfg)
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// printSummary prints what a valid config describes, on one screen.
func printSummary(w io.Writer, cfg *config.Config) {
	c := cfg.Center
	fmt.Fprintf(w, "%s: OK\n", cfg.File)
	fmt.Fprintf(w, "center    %s  %s  (county %s, %s, %.4f, %.4f)\n", c.ID, c.Name, c.County, c.Timezone, c.Lat, c.Lon)
	fmt.Fprintf(w, "links     %d:", len(cfg.Connections))
	for _, conn := range cfg.Connections {
		fmt.Fprintf(w, " %s (%s)", conn.Name, conn.URL.Redacted())
	}
	fmt.Fprintln(w)
	points, writable := 0, 0
	for _, d := range cfg.Devices {
		for _, p := range d.Points {
			points++
			if p.Writable() {
				writable++
			}
		}
	}
	fmt.Fprintf(w, "devices   %d, with %d points (%d writable)\n", len(cfg.Devices), points, writable)
	for _, d := range cfg.Devices {
		where := d.Connection.Name
		if d.Connection.Protocol.IsModbus() {
			where += fmt.Sprintf(" unit %d", d.Unit)
		} else {
			where += " " + d.Topic
		}
		names := make([]string, len(d.Points))
		for i, p := range d.Points {
			names[i] = p.Name
		}
		fmt.Fprintf(w, "  %-10s %-9s %-28s %s\n", d.Name, d.Kind, where, strings.Join(names, " "))
	}
	fmt.Fprintf(w, "rules     %d\n", len(cfg.Rules))
	for _, r := range cfg.Rules {
		fmt.Fprintf(w, "  %-14s %s\n", r.Name, describeRule(r))
	}
	fmt.Fprintf(w, "calendar  %d %s\n", len(cfg.Calendar), plural(len(cfg.Calendar), "entry", "entries"))
	if len(cfg.Warnings) > 0 {
		fmt.Fprintf(w, "warnings  %d (listed above)\n", len(cfg.Warnings))
	}
}

func describeRule(r *config.Rule) string {
	var when string
	switch {
	case r.Between[0] != "":
		when = fmt.Sprintf("between %s and %s", r.Between[0], r.Between[1])
	case r.At != "":
		when = "at " + r.At
	default:
		when = "cron " + r.Cron
	}
	var what []string
	for _, s := range r.Set {
		what = append(what, fmt.Sprintf("%s=%s", s.Point, s.Value))
	}
	if r.Broadcast != nil {
		src := r.Broadcast.Clip
		if src == "" {
			src = "text"
		}
		what = append(what, fmt.Sprintf("broadcast %s on %s", src, r.Broadcast.Device))
	}
	if r.Flag != nil {
		what = append(what, fmt.Sprintf("%s %s", r.Flag.Action, r.Flag.Device))
	}
	s := when + ": " + strings.Join(what, ", ")
	if len(r.Only) > 0 {
		s += " (only " + strings.Join(r.Only, ", ") + ")"
	}
	if len(r.Except) > 0 {
		s += " (except " + strings.Join(r.Except, ", ") + ")"
	}
	return s
}
