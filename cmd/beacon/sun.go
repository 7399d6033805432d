package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/schedule"
	"github.com/beacon-edge/beacon/rules"
)

func init() {
	commands["sun"] = command{summary: "dawn, sunrise, sunset and dusk for a place and date", run: runSun}
}

const sunUsage = `Usage: beacon sun --lat LAT --lon LON --tz ZONE [--date YYYY-MM-DD]
       beacon sun -c FILE [--date YYYY-MM-DD]

Prints civil dawn, sunrise, sunset and civil dusk in local time, one per
line as NAME HH:MM:SS, or NAME none when the sun stays above or below that
altitude all day (polar day or night). The date defaults to today in the zone.`

func runSun(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sun", stderr)
	file := fs.String("c", "", "center config `FILE`")
	lat := fs.Float64("lat", 0, "latitude in degrees, north positive")
	lon := fs.Float64("lon", 0, "longitude in degrees, east positive")
	tz := fs.String("tz", "", "IANA time `ZONE`, e.g. Asia/Shanghai")
	date := fs.String("date", "", "`YYYY-MM-DD`; default today")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, sunUsage)
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var c rules.Center
	switch {
	case *file != "" && (set["lat"] || set["lon"] || set["tz"]):
		return usagef("give either -c FILE or --lat, --lon and --tz, not both")
	case *file != "":
		cfg, err := config.Load(*file)
		if err != nil {
			return err
		}
		c = rules.Center{Location: cfg.Center.Location, Lat: cfg.Center.Lat, Lon: cfg.Center.Lon}
	case set["lat"] && set["lon"] && set["tz"]:
		if *lat < -90 || *lat > 90 {
			return usagef("--lat %v is outside -90…90", *lat)
		}
		if *lon < -180 || *lon > 180 {
			return usagef("--lon %v is outside -180…180", *lon)
		}
		loc, err := time.LoadLocation(*tz)
		if err != nil || *tz == "" {
			return usagef("unknown time zone %q: use an IANA name such as Asia/Shanghai", *tz)
		}
		c = rules.Center{Location: loc, Lat: *lat, Lon: *lon}
	default:
		return usagef("missing --lat, --lon and --tz (or -c FILE)")
	}
	d := rules.DateOf(time.Now().In(c.Location))
	if *date != "" {
		var err error
		if d, err = rules.ParseDate(*date); err != nil {
			return usagef("%v", err)
		}
	}
	printSun(stdout, rules.SunTimes(c, d))
	return nil
}

func printSun(w io.Writer, s rules.SunDay) {
	for _, e := range []struct {
		name string
		ev   rules.SunEvent
	}{{"dawn", s.Dawn}, {"sunrise", s.Sunrise}, {"sunset", s.Sunset}, {"dusk", s.Dusk}} {
		fmt.Fprintf(w, "%s %s\n", e.name, schedule.SunClock(e.ev))
	}
}
