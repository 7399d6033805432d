package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-edge/beacon/rules"
)

func (l *loader) validateRule(cfg *Config, path string, rr *rawRule) *Rule {
	r := &Rule{Name: rr.Name, At: rr.At, Cron: rr.Cron, Only: rr.Only, Except: rr.Except, Grace: DefaultJobGrace}
	ok := true
	if rr.Name == "" {
		l.missing(path+".name", "")
		ok = false
	} else if !l.checkName(path+".name", rr.Name) {
		ok = false
	}
	forms := 0
	for _, set := range []bool{rr.Between != nil, rr.At != "", rr.Cron != ""} {
		if set {
			forms++
		}
	}
	conds, condOK := l.conditions(cfg, path, rr.When)
	r.When, ok = conds, ok && condOK
	switch {
	case forms == 0 && len(rr.When) > 0:
		// A condition-only rule: open whenever its conditions hold.
		if len(rr.Set) == 0 {
			l.missing(path+".set", "the values the rule wants while its conditions hold")
			ok = false
		}
		if rr.Broadcast != nil || rr.Flag != nil {
			l.errorf(path, "broadcast and flag are jobs: give them with at or cron")
			ok = false
		}
	case forms != 1:
		l.errorf(path, "a rule needs exactly one of between (a window), at or cron (a job)")
		ok = false
	case len(rr.When) > 0 && rr.Between == nil:
		l.errorf(path+".when", "conditions apply to windows (between) and condition-only rules, not to jobs")
		ok = false
	}
	if rr.Between != nil {
		if len(rr.Between) != 2 {
			l.errorf(path+".between", "between needs two times, start and end: [sunset-15m, sunrise+15m]")
			ok = false
		} else {
			for i, s := range rr.Between {
				if _, err := rules.ParseTimeExpr(s); err != nil {
					l.errorf(fmt.Sprintf("%s.between[%d]", path, i), "%v", err)
					ok = false
				}
			}
			r.Between = [2]string{rr.Between[0], rr.Between[1]}
		}
		if len(rr.Set) == 0 {
			l.missing(path+".set", "the values the window wants, as device.point: value")
			ok = false
		}
		if rr.Broadcast != nil || rr.Flag != nil {
			l.errorf(path, "broadcast and flag are jobs: give them with at or cron, not between")
			ok = false
		}
		if rr.Grace != nil {
			l.errorf(path+".grace", "grace applies only to jobs (at or cron)")
			ok = false
		}
	}
	if rr.At != "" {
		if _, err := rules.ParseTimeExpr(rr.At); err != nil {
			l.errorf(path+".at", "%v", err)
			ok = false
		}
	}
	if rr.Cron != "" {
		if _, err := rules.ParseCron(rr.Cron); err != nil {
			l.errorf(path+".cron", "%v", err)
			ok = false
		}
	}
	if rr.At != "" || rr.Cron != "" {
		actions := len(rr.Set)
		if rr.Broadcast != nil {
			actions++
		}
		if rr.Flag != nil {
			actions++
		}
		if actions == 0 {
			l.errorf(path, "a job needs something to do: broadcast, flag or set")
			ok = false
		}
		if len(rr.Otherwise) > 0 {
			l.errorf(path+".otherwise", "otherwise applies only to windows (between)")
			ok = false
		}
		if rr.Grace != nil {
			r.Grace = *rr.Grace
		}
	}
	for i, day := range rr.Days {
		wd, err := rules.ParseWeekday(day)
		if err != nil {
			l.errorf(fmt.Sprintf("%s.days[%d]", path, i), "%v", err)
			ok = false
			continue
		}
		r.Days = append(r.Days, wd)
	}
	tags := calendarTags(cfg.Calendar)
	for field, list := range map[string][]string{"only": rr.Only, "except": rr.Except} {
		for i, tag := range list {
			if !slices.Contains(tags, tag) {
				l.warnf(fmt.Sprintf("%s.%s[%d]", path, field, i), "no calendar entry has the tag %q", tag)
			}
		}
	}
	r.Set, ok = l.settings(cfg, rr.Set, ok)
	r.Otherwise, ok = l.settings(cfg, rr.Otherwise, ok)
	if b := rr.Broadcast; b != nil {
		r.Broadcast = &Broadcast{Device: b.Device, Clip: b.Clip, Text: b.Text, Zones: b.Zones}
		bpath := path + ".broadcast"
		if dev := l.deviceRef(cfg, bpath+".device", b.Device, KindPA); dev != nil && dev.PA != nil {
			r.Broadcast.Volume = dev.PA.Volume
			for i, z := range b.Zones {
				if len(dev.PA.Zones) > 0 && !slices.Contains(dev.PA.Zones, z) {
					l.errorf(fmt.Sprintf("%s.zones[%d]", bpath, i), "zone %d is not one of %s's zones %v", z, dev.Name, dev.PA.Zones)
					ok = false
				}
			}
		} else {
			ok = false
		}
		if dev := cfg.Device(b.Device); b.Clip != "" && dev != nil && dev.PA != nil && dev.PA.Clip(b.Clip) == nil {
			var names []string
			for _, c := range dev.PA.Clips {
				names = append(names, c.Name)
			}
			l.unknownRef(bpath+".clip", "clip of "+dev.Name, b.Clip, names)
			ok = false
		}
		if (b.Clip == "") == (b.Text == "") {
			l.errorf(bpath, "a broadcast needs a clip or a text, not both")
			ok = false
		}
		if b.Volume != nil {
			if r.Broadcast.Volume = *b.Volume; r.Broadcast.Volume < 0 || r.Broadcast.Volume > 100 {
				l.errorf(bpath+".volume", "volume %d must be 0 to 100", r.Broadcast.Volume)
				ok = false
			}
		}
	}
	if f := rr.Flag; f != nil {
		r.Flag = &FlagAction{Device: f.Device, Action: f.Action}
		if l.deviceRef(cfg, path+".flag.device", f.Device, KindFlagpole) == nil {
			ok = false
		}
		if f.Action == "" {
			l.missing(path+".flag.action", "raise, lower or half")
			ok = false
		} else if !l.checkEnum(path+".flag.action", "flag action", &f.Action, []string{"raise", "lower", "half"}) {
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return r
}

// deviceRef resolves a rule's reference to a device of a given kind.
func (l *loader) deviceRef(cfg *Config, path, name, kind string) *Device {
	if name == "" {
		l.missing(path, "the name of a "+kind+" device")
		return nil
	}
	d := cfg.Device(name)
	if d == nil {
		var names []string
		for _, dev := range cfg.Devices {
			names = append(names, dev.Name)
		}
		l.unknownRef(path, "device", name, names)
		return nil
	}
	if d.Kind != kind {
		l.errorf(path, "device %q is a %s, not a %s", name, d.Kind, kind)
		return nil
	}
	return d
}

// settings resolves a rule's device.point: value entries.
func (l *loader) settings(cfg *Config, as Assignments, ok bool) ([]Setting, bool) {
	var out []Setting
	for _, a := range as {
		dev, pt, found := strings.Cut(a.Target, ".")
		if !found {
			l.errorKey(a.Path, "%q must name a point as device.point", a.Target)
			ok = false
			continue
		}
		d := cfg.Device(dev)
		if d == nil {
			var names []string
			for _, x := range cfg.Devices {
				names = append(names, x.Name)
			}
			l.unknownRefKey(a.Path, "device", dev, names)
			ok = false
			continue
		}
		p := d.Point(pt)
		if p == nil && l.unresolved[dev] {
			ok = false
			continue
		}
		if p == nil {
			var names []string
			for _, x := range d.Points {
				names = append(names, x.Name)
			}
			l.unknownRefKey(a.Path, "point of "+dev, pt, names)
			ok = false
			continue
		}
		if !p.Writable() {
			l.errorKey(a.Path, "point %s is read-only; a rule can set only points with access: write", a.Target)
			ok = false
			continue
		}
		v, err := parseLiteral(a.Value, p.Type.ValueKind())
		if err != nil {
			l.errorf(a.Path, "%v for %s (%s)", err, a.Target, p.Type)
			ok = false
			continue
		}
		out = append(out, Setting{Point: p.Ref(), Value: v})
	}
	return out, ok
}

func calendarTags(entries []CalendarEntry) []string {
	var tags []string
	for _, e := range entries {
		for _, t := range e.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

func (l *loader) validateCalendarEntry(path string, e rawCalEntry, loc *time.Location) (CalendarEntry, bool) {
	if loc == nil {
		loc = time.UTC
	}
	ce := CalendarEntry{Tags: e.Tags, Note: e.Note}
	ok := true
	date := func(field, s, layout, want string) time.Time {
		t, err := time.ParseInLocation(layout, s, loc)
		if err != nil {
			l.errorf(path+"."+field, "bad date %q: write it as %s", s, want)
			ok = false
		}
		return t
	}
	forms := 0
	switch {
	case e.Date != "":
		forms++
		ce.From = date("date", e.Date, time.DateOnly, "YYYY-MM-DD")
		ce.To = ce.From
	}
	if e.Yearly != "" {
		forms++
		// A leap year, so that 02-29 is accepted.
		ce.From = date("yearly", "2000-"+e.Yearly, time.DateOnly, "MM-DD")
		ce.To, ce.Yearly = ce.From, true
	}
	if e.From != "" || e.To != "" {
		forms++
		if e.From == "" || e.To == "" {
			l.errorf(path, "a range needs both from and to")
			ok = false
		} else {
			ce.From = date("from", e.From, time.DateOnly, "YYYY-MM-DD")
			ce.To = date("to", e.To, time.DateOnly, "YYYY-MM-DD")
			if ok && ce.To.Before(ce.From) {
				l.errorf(path+".to", "range ends (%s) before it starts (%s)", e.To, e.From)
				ok = false
			}
		}
	}
	if forms != 1 {
		l.errorf(path, "a calendar entry needs exactly one of date, yearly, or from and to")
		ok = false
	}
	if len(e.Tags) == 0 {
		l.missing(path+".tags", "what the day is, such as half-mast, holiday or no-broadcast")
		ok = false
	}
	for i, tag := range e.Tags {
		if !l.checkName(fmt.Sprintf("%s.tags[%d]", path, i), tag) {
			ok = false
		}
	}
	return ce, ok
}

func (l *loader) validateTelemetry(rt *rawTelemetry, t *Telemetry) {
	t.Heartbeat, t.OutboxMaxSize = DefaultHeartbeat, DefaultOutboxMaxSize
	if rt.Heartbeat != nil {
		if t.Heartbeat = *rt.Heartbeat; t.Heartbeat < time.Second {
			l.errorf("telemetry.heartbeat", "heartbeat %v is shorter than 1s", t.Heartbeat)
		}
	}
	if o := rt.Outbox; o != nil {
		t.OutboxPath = o.Path
		if o.MaxSize != "" {
			n, err := parseSize(o.MaxSize)
			if err != nil {
				l.errorf("telemetry.outbox.max_size", "%v", err)
			} else if n < 1<<20 {
				l.errorf("telemetry.outbox.max_size", "max_size %s is less than 1MiB", o.MaxSize)
			}
			t.OutboxMaxSize = n
		}
	}
	ri := rt.Influx
	if ri == nil {
		return
	}
	in := &Influx{Bucket: ri.Bucket, Org: ri.Org, Batch: DefaultInfluxBatch, Flush: DefaultInfluxFlush}
	t.Influx = in
	if ri.URL == "" {
		l.missing("telemetry.influx.url", "http://HOST:8086 or https://…")
	} else if u, err := url.Parse(ri.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.errorf("telemetry.influx.url", "bad URL %q: write http://HOST:PORT or https://HOST:PORT", ri.URL)
	} else {
		in.URL = u
	}
	if ri.Bucket == "" {
		l.missing("telemetry.influx.bucket", `for InfluxDB 1.8 "database/retention", e.g. "beacon/autogen"`)
	}
	in.Token = l.secret("telemetry.influx", "token", ri.Token, ri.TokenFile)
	if ri.Batch != nil {
		if in.Batch = *ri.Batch; in.Batch < 1 || in.Batch > 100000 {
			l.errorf("telemetry.influx.batch", "batch %d must be 1 to 100000 points", in.Batch)
		}
	}
	if ri.Flush != nil {
		if in.Flush = *ri.Flush; in.Flush < 100*time.Millisecond {
			l.errorf("telemetry.influx.flush", "flush %v is shorter than 100ms", in.Flush)
		}
	}
}

// parseSize reads a byte size: 512MiB, 2GiB, 1048576.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q: write it like 256MiB or 2GiB", s)
	}
	return n * mult, nil
}

func (l *loader) validateAPI(ra *rawAPI, a *API) {
	a.Listen, a.TokensFile = DefaultAPIListen, ra.TokensFile
	if ra.Listen != "" {
		a.Listen = ra.Listen
		host, port, err := net.SplitHostPort(ra.Listen)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 0 || n > 65535 {
			l.errorf("api.listen", "bad listen address %q: write HOST:PORT, such as 127.0.0.1:8080", ra.Listen)
		} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
			l.errorf("api.listen", "listen host %q must be an IP address or localhost", host)
		}
	}
	if t := ra.TLS; t != nil {
		a.CertFile, a.KeyFile = l.src.abs(t.CertFile), l.src.abs(t.KeyFile)
		if t.CertFile == "" {
			l.missing("api.tls.cert_file", "")
		}
		if t.KeyFile == "" {
			l.missing("api.tls.key_file", "")
		}
	}
}
