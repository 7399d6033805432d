package config

import (
	"fmt"
	"slices"
	"time"

	"github.com/beacon-edge/beacon/drivers"
)

var (
	kinds  = []string{KindSign, KindFlagpole, KindOccupancy, KindPA, KindGeneric}
	tables = []string{string(Coil), string(Discrete), string(Holding), string(Input)}
	types  = []string{"bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string"}
	orders = []string{string(ABCD), string(CDAB), string(BADC), string(DCBA)}
)

// requiredPoints are the points each device kind needs to do its job, and
// whether each must be writable.
var requiredPoints = map[string][]struct {
	name     string
	writable bool
	kind     drivers.Kind
}{
	KindSign:      {{"power", true, drivers.KindBool}, {"current", false, drivers.KindNumber}},
	KindFlagpole:  {{"command", true, drivers.KindNumber}, {"position", false, drivers.KindNumber}},
	KindOccupancy: {{"occupied", false, drivers.KindBool}},
}

// checkEnum reports a value outside its allowed set, suggesting the nearest.
func (l *loader) checkEnum(path, what string, val *string, allowed []string) bool {
	if val == nil || slices.Contains(allowed, *val) {
		return true
	}
	msg := fmt.Sprintf("unknown %s %q", what, *val)
	if hint := closest(*val, allowed); hint != "" {
		msg += fmt.Sprintf("; did you mean %q?", hint)
	} else {
		msg += fmt.Sprintf("; use one of %v", allowed)
	}
	l.errorf(path, "%s", msg)
	return false
}

// validateProfile checks the field values of a profile's points, where
// they are written; completeness is checked per device after merging.
func (l *loader) validateProfile(p *rawProfile) {
	path := "profiles." + p.Name
	l.checkName(path, p.Name)
	if p.Kind != "" {
		l.checkEnum(path+".kind", "device kind", &p.Kind, kinds)
	}
	for i := range p.Points {
		l.checkPointFields(path+".points."+p.Points[i].Name, &p.Points[i])
	}
}

// checkPointFields checks the values a point entry gives, on their own.
func (l *loader) checkPointFields(path string, rp *rawPoint) {
	l.checkName(path, rp.Name)
	l.checkEnum(path+".table", "table", rp.Table, tables)
	l.checkEnum(path+".type", "type", rp.Type, types)
	l.checkEnum(path+".order", "byte order", rp.Order, orders)
	l.checkEnum(path+".access", "access", rp.Access, []string{string(Read), string(Write)})
	if rp.Address != nil && (*rp.Address < 0 || *rp.Address > maxModbusAddress) {
		l.errorf(path+".address", "address %d is outside 0 to %d", *rp.Address, maxModbusAddress)
	}
	if rp.Bit != nil && (*rp.Bit < 0 || *rp.Bit > 15) {
		l.errorf(path+".bit", "bit %d is outside 0 to 15", *rp.Bit)
	}
	if rp.Count != nil && *rp.Count < 1 {
		l.errorf(path+".count", "count %d must be at least 1 register", *rp.Count)
	}
	if rp.Scale != nil && *rp.Scale == 0 {
		l.errorf(path+".scale", "scale 0 would make every value 0")
	}
	if rp.Poll != nil && *rp.Poll < minPoll {
		l.errorf(path+".poll", "poll %v is shorter than the %v minimum", *rp.Poll, minPoll)
	}
}

// mergePoint lays a device's override over a profile point: every field
// the override writes wins.
func mergePoint(base, over *rawPoint) rawPoint {
	m := *base
	if over.Table != nil {
		m.Table = over.Table
	}
	if over.Address != nil {
		m.Address = over.Address
	}
	if over.Bit != nil {
		m.Bit = over.Bit
	}
	if over.Type != nil {
		m.Type = over.Type
	}
	if over.Order != nil {
		m.Order = over.Order
	}
	if over.Count != nil {
		m.Count = over.Count
	}
	if over.Scale != nil {
		m.Scale = over.Scale
	}
	if over.Offset != nil {
		m.Offset = over.Offset
	}
	if over.Unit != nil {
		m.Unit = over.Unit
	}
	if over.Access != nil {
		m.Access = over.Access
	}
	if over.Poll != nil {
		m.Poll = over.Poll
	}
	if over.Safe.Set {
		m.Safe = over.Safe
	}
	if over.Field != nil {
		m.Field = over.Field
	}
	if over.Command != nil {
		m.Command = over.Command
	}
	if over.Remote != nil {
		m.Remote = over.Remote
	}
	return m
}

func (l *loader) validateDevice(cfg *Config, rd *rawDevice, profiles map[string]*rawProfile) *Device {
	path := "devices." + rd.Name
	if !l.checkName(path, rd.Name) {
		return nil
	}
	d := &Device{Name: rd.Name, Kind: rd.Kind, Description: rd.Description, Profile: rd.Profile,
		Topic: rd.Topic, CommandTopic: rd.CommandTopic, AvailabilityTopic: rd.AvailabilityTopic}
	var prof *rawProfile
	brokenProfile := false
	if rd.Profile != "" {
		if prof = profiles[rd.Profile]; prof == nil {
			l.unknownRef(path+".profile", "profile", rd.Profile, keys(profiles))
			brokenProfile = true
		}
	}
	if d.Kind == "" && prof != nil {
		d.Kind = prof.Kind
	}
	kindOK := false
	if d.Kind == "" {
		l.missing(path+".kind", "sign, flagpole, occupancy, pa or generic")
	} else {
		kindOK = l.checkEnum(path+".kind", "device kind", &d.Kind, kinds)
	}
	if rd.Connection == "" {
		l.missing(path+".connection", "the name of a connection")
	} else if d.Connection = cfg.Connection(rd.Connection); d.Connection == nil {
		names := make([]string, len(cfg.Connections))
		for i, c := range cfg.Connections {
			names[i] = c.Name
		}
		l.unknownRef(path+".connection", "connection", rd.Connection, names)
	}
	l.validateAddressing(path, rd, d)
	poll := DefaultPoll
	if rd.Poll != nil {
		poll = *rd.Poll
		if poll < minPoll {
			l.errorf(path+".poll", "poll %v is shorter than the %v minimum", poll, minPoll)
		}
	}

	// Merge the profile's points with the device's own, in profile order
	// then the device's additions; srcPath tells where each came from.
	type entry struct {
		raw     rawPoint
		srcPath string // where the point was defined
		ovPath  string // where the device overrides it, if it does
	}
	var entries []entry
	if prof != nil {
		for _, pp := range prof.Points {
			entries = append(entries, entry{raw: pp, srcPath: "profiles." + prof.Name + ".points." + pp.Name})
		}
	}
	for i := range rd.Points {
		op := &rd.Points[i]
		opath := path + ".points." + op.Name
		l.checkPointFields(opath, op)
		idx := slices.IndexFunc(entries, func(e entry) bool { return e.raw.Name == op.Name })
		if idx >= 0 {
			entries[idx].raw = mergePoint(&entries[idx].raw, op)
			entries[idx].ovPath = opath
			continue
		}
		entries = append(entries, entry{raw: *op, srcPath: opath})
	}
	failed := map[string]bool{} // points already reported as wrong
	for _, e := range entries {
		fieldPath := func(field string) string {
			if e.ovPath != "" {
				if _, ok := l.keyAt[e.ovPath+"."+field]; ok {
					return e.ovPath + "." + field
				}
			}
			return e.srcPath + "." + field
		}
		if p := l.resolvePoint(d, e.raw, poll, fieldPath, e.srcPath); p != nil {
			d.Points = append(d.Points, p)
		} else {
			failed[e.raw.Name] = true
		}
	}
	if brokenProfile {
		// Its points are unknown: checking them, or rules that use them,
		// would only repeat the error.
		l.unresolved[d.Name] = true
		return d
	}
	if len(d.Points) == 0 && len(failed) == 0 && d.Connection != nil {
		l.errorf(path, "device has no points: give a profile or a points section")
	}
	l.checkOverlaps(d, func(p *Point) string {
		for _, e := range entries {
			if e.raw.Name == p.Name {
				if e.ovPath != "" {
					return e.ovPath
				}
				return e.srcPath
			}
		}
		return path
	})
	if kindOK {
		l.validateKindSettings(path, rd, d, failed)
	}
	return d
}

// validateAddressing checks that a device is addressed the way its
// connection's protocol needs.
func (l *loader) validateAddressing(path string, rd *rawDevice, d *Device) {
	if d.Connection == nil || !d.Connection.Protocol.IsModbus() && !d.Connection.Protocol.IsMQTT() {
		return // the connection's own error says why
	}
	proto := d.Connection.Protocol
	if proto.IsModbus() {
		maxUnit := 247 // Modbus over Serial Line V1.02 §2.2: 1–247 are slaves, 0 broadcast
		if proto == ModbusTCP {
			maxUnit = 255 // MBAP unit identifier, §4.4.1: 0 or 255 for a device itself
		}
		switch {
		case rd.Unit == nil:
			l.missing(path+".unit", "the Modbus unit (slave) id")
		case *rd.Unit < 0 || *rd.Unit > maxUnit || (proto != ModbusTCP && *rd.Unit == 0):
			l.errorf(path+".unit", "unit %d is outside %d to %d for a %s connection", *rd.Unit, map[bool]int{true: 0, false: 1}[proto == ModbusTCP], maxUnit, proto)
		default:
			d.Unit = *rd.Unit
		}
		for _, f := range []struct{ name, val string }{{"topic", rd.Topic}, {"command_topic", rd.CommandTopic}, {"availability_topic", rd.AvailabilityTopic}} {
			if f.val != "" {
				l.errorf(path+"."+f.name, "%s applies only to devices on an MQTT connection", f.name)
			}
		}
		return
	}
	if rd.Unit != nil {
		l.errorf(path+".unit", "unit applies only to devices on a Modbus connection")
	}
	if rd.Topic == "" {
		l.missing(path+".topic", "the MQTT topic the device publishes its state on")
	}
}

func (l *loader) unknownRef(path, what, name string, known []string) {
	msg := fmt.Sprintf("unknown %s %q", what, name)
	if hint := closest(name, known); hint != "" {
		msg += fmt.Sprintf("; did you mean %q?", hint)
	}
	l.errorf(path, "%s", msg)
}

func (l *loader) unknownRefKey(path, what, name string, known []string) {
	msg := fmt.Sprintf("unknown %s %q", what, name)
	if hint := closest(name, known); hint != "" {
		msg += fmt.Sprintf("; did you mean %q?", hint)
	}
	l.errorKey(path, "%s", msg)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// resolvePoint applies defaults to a merged point and checks it as a whole.
func (l *loader) resolvePoint(d *Device, rp rawPoint, devicePoll time.Duration, fieldPath func(string) string, path string) *Point {
	p := &Point{Device: d.Name, Name: rp.Name, Bit: -1, Order: ABCD, Scale: 1, Access: Read, Poll: devicePoll}
	if rp.Table != nil {
		p.Table = Table(*rp.Table)
	}
	if rp.Address != nil {
		p.Address = *rp.Address
	}
	if rp.Bit != nil {
		p.Bit = *rp.Bit
	}
	if rp.Order != nil {
		p.Order = Order(*rp.Order)
	}
	if rp.Count != nil {
		p.Count = *rp.Count
	}
	if rp.Scale != nil {
		p.Scale = *rp.Scale
	}
	if rp.Offset != nil {
		p.Offset = *rp.Offset
	}
	if rp.Unit != nil {
		p.Unit = *rp.Unit
	}
	if rp.Access != nil {
		p.Access = Access(*rp.Access)
	}
	if rp.Poll != nil {
		p.Poll = *rp.Poll
	}
	if rp.Field != nil {
		p.Field = *rp.Field
	}
	switch {
	case rp.Type != nil:
		p.Type = Type(*rp.Type)
	case p.Table.IsBits() || p.Bit >= 0:
		p.Type = TypeBool
	case p.Table != "":
		p.Type = TypeUint16
	default:
		p.Type = TypeFloat64 // MQTT JSON numbers
	}
	proto := Protocol("")
	if d.Connection != nil {
		proto = d.Connection.Protocol
	}
	ok := true
	switch {
	case proto.IsModbus():
		if !l.checkModbusPoint(p, rp, fieldPath, path) {
			return nil
		}
	case proto.IsMQTT():
		if rp.Field == nil || *rp.Field == "" {
			l.missing(path+".field", "the JSON field of the device's messages that holds this point")
			ok = false
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"table", rp.Table != nil}, {"address", rp.Address != nil}, {"bit", rp.Bit != nil}, {"order", rp.Order != nil}, {"count", rp.Count != nil}} {
			if f.set {
				l.errorf(fieldPath(f.name), "%s applies only to points on a Modbus connection", f.name)
				ok = false
			}
		}
	}
	if !l.resolvePointMQTT(p, rp, proto, fieldPath) {
		ok = false
	}
	if rp.Safe.Set {
		if !p.Writable() {
			l.errorf(fieldPath("safe"), "a safe value needs a writable point (access: write)")
			ok = false
		} else if v, err := parseLiteral(rp.Safe, p.Type.ValueKind()); err != nil {
			l.errorf(fieldPath("safe"), "%v for a %s point", err, p.Type)
			ok = false
		} else {
			p.Safe = v
		}
	}
	if !ok {
		return nil
	}
	return p
}

func (l *loader) checkModbusPoint(p *Point, rp rawPoint, fieldPath func(string) string, path string) bool {
	ok := true
	if rp.Field != nil {
		l.errorf(fieldPath("field"), "field applies only to points on an MQTT connection")
		ok = false
	}
	if rp.Table == nil {
		l.missing(path+".table", "coil, discrete, holding or input")
		return false
	}
	if rp.Address == nil {
		l.missing(path+".address", "the register or coil number, 0 to 65535")
		return false
	}
	if !slices.Contains(tables, string(p.Table)) {
		return false
	}
	if p.Table.IsBits() && p.Type != TypeBool {
		l.errorf(fieldPath("type"), "a %s holds single bits; its type must be bool, not %s", p.Table, p.Type)
		ok = false
	}
	if p.Bit >= 0 && (p.Table.IsBits() || p.Type != TypeBool) {
		l.errorf(fieldPath("bit"), "bit selects a bool from a holding or input register")
		ok = false
	}
	if p.Type == TypeString && p.Count == 0 {
		l.missing(path+".count", "a string's length in registers")
		ok = false
	}
	if p.Type != TypeString && rp.Count != nil {
		l.errorf(fieldPath("count"), "count applies only to string points")
		ok = false
	}
	if (p.Table == Discrete || p.Table == Input) && p.Access == Write {
		l.errorf(fieldPath("access"), "%s %s are read-only in Modbus; a writable point needs a coil or holding register", p.Table, map[Table]string{Discrete: "inputs", Input: "registers"}[p.Table])
		ok = false
	}
	n := p.Registers()
	if n > maxRegistersPerRead {
		l.errorf(fieldPath("count"), "%d registers is more than one Modbus read allows (%d)", n, maxRegistersPerRead)
		ok = false
	}
	if last := p.Address + n - 1; p.Address <= maxModbusAddress && last > maxModbusAddress {
		l.errorf(fieldPath("address"), "registers %d to %d run past %d, the last Modbus address", p.Address, last, maxModbusAddress)
		ok = false
	}
	return ok
}

// checkOverlaps warns when two points of a device read the same registers
// as different types: usually a typo in an address.
func (l *loader) checkOverlaps(d *Device, pathOf func(*Point) string) {
	for i, a := range d.Points {
		if a.Table == "" {
			continue
		}
		for _, b := range d.Points[:i] {
			if a.Table != b.Table || a.Type == b.Type {
				continue
			}
			if a.Address <= b.Address+b.Registers()-1 && b.Address <= a.Address+a.Registers()-1 {
				l.warnf(pathOf(a)+".address", "%s %d–%d overlaps point %q (%s %d–%d) with a different type (%s, not %s)",
					a.Table, a.Address, a.Address+a.Registers()-1, b.Name, b.Table, b.Address, b.Address+b.Registers()-1, a.Type, b.Type)
			}
		}
	}
}

func (l *loader) validateKindSettings(path string, rd *rawDevice, d *Device, failed map[string]bool) {
	sections := map[string]bool{KindSign: rd.Sign != nil, KindFlagpole: rd.Flagpole != nil, KindOccupancy: rd.Occupancy != nil, KindPA: rd.PA != nil}
	for kind, given := range sections {
		if given && kind != d.Kind {
			l.errorKey(path+"."+kind, "settings for a %s on a device of kind %q", kind, d.Kind)
		}
	}
	if d.Connection != nil {
		for _, req := range requiredPoints[d.Kind] {
			p := d.Point(req.name)
			switch {
			case p == nil && failed[req.name]:
				// Its own error says what is wrong with it.
			case p == nil:
				l.errorf(path+".points", "a %s needs a point named %q", d.Kind, req.name)
			case req.writable && !p.Writable():
				l.errorf(path+".points."+req.name, "a %s's %q point must be writable (access: write)", d.Kind, req.name)
			case p.Type.ValueKind() != req.kind:
				l.errorf(path+".points."+req.name, "a %s's %q point must be a %s, not %s", d.Kind, req.name, req.kind, p.Type)
			}
		}
	}
	switch d.Kind {
	case KindSign:
		s := &SignSettings{LitFraction: DefaultLitFraction}
		d.Sign = s
		if rd.Sign == nil || rd.Sign.NominalCurrent == nil {
			l.missing(path+".sign.nominal_current", "the sign's commissioned current in A, measured when fully lit")
		} else if s.NominalCurrent = *rd.Sign.NominalCurrent; s.NominalCurrent <= 0 {
			l.errorf(path+".sign.nominal_current", "nominal current %v A must be more than 0", s.NominalCurrent)
		}
		if rd.Sign != nil && rd.Sign.LitFraction != nil {
			if s.LitFraction = *rd.Sign.LitFraction; s.LitFraction <= 0 || s.LitFraction > 1 {
				l.errorf(path+".sign.lit_fraction", "lit_fraction %v must be more than 0 and at most 1", s.LitFraction)
			}
		}
	case KindFlagpole:
		f := &FlagpoleSettings{TravelTimeout: DefaultTravelTimeout, WindResume: DefaultWindResume}
		d.Flagpole = f
		if r := rd.Flagpole; r != nil {
			if r.TravelTimeout != nil {
				if f.TravelTimeout = *r.TravelTimeout; f.TravelTimeout < time.Second {
					l.errorf(path+".flagpole.travel_timeout", "travel_timeout %v is shorter than 1s", f.TravelTimeout)
				}
			}
			if r.MaxWind != nil {
				if f.MaxWind = *r.MaxWind; f.MaxWind <= 0 {
					l.errorf(path+".flagpole.max_wind", "max_wind %v m/s must be more than 0", f.MaxWind)
				}
				if d.Point("wind_speed") == nil {
					l.errorf(path+".flagpole.max_wind", `max_wind needs a "wind_speed" point`)
				}
			}
			if r.WindResume != nil {
				f.WindResume = *r.WindResume
			}
			if r.ReplaceAfter != nil {
				f.ReplaceAfter = *r.ReplaceAfter
			}
		}
	case KindOccupancy:
		o := &OccupancySettings{Room: d.Name, HoldOff: DefaultHoldOff}
		d.Occupancy = o
		if r := rd.Occupancy; r != nil {
			if r.Room != "" {
				o.Room = r.Room
			}
			if r.HoldOff != nil {
				o.HoldOff = *r.HoldOff
			}
		}
	case KindPA:
		pa := &PASettings{WarmUp: DefaultWarmUp, Volume: 60}
		d.PA = pa
		if r := rd.PA; r != nil {
			if r.WarmUp != nil {
				pa.WarmUp = *r.WarmUp
			}
			pa.Zones, pa.Player = r.Zones, r.Player
			for i, z := range r.Zones {
				if z < 1 || z > 64 {
					l.errorf(fmt.Sprintf("%s.pa.zones[%d]", path, i), "zone %d must be 1 to 64", z)
				}
			}
			if r.Volume != nil {
				if pa.Volume = *r.Volume; pa.Volume < 0 || pa.Volume > 100 {
					l.errorf(path+".pa.volume", "volume %d must be 0 to 100", pa.Volume)
				}
			}
			if r.MaxClip != nil {
				pa.MaxClip = *r.MaxClip
			}
			for _, rc := range r.Clips {
				cpath := path + ".pa.clips." + rc.Name
				c := Clip{Name: rc.Name, File: rc.File}
				if rc.File != "" {
					c.File = l.src.abs(rc.File)
				}
				if rc.ID != nil {
					if c.ID = *rc.ID; c.ID < 1 || c.ID > 65535 {
						l.errorf(cpath+".id", "clip id %d must be 1 to 65535", c.ID)
					}
				}
				if rc.ID == nil && rc.File == "" {
					l.errorKey(cpath, "a clip needs an id (played by the PA device) or a file (played by the local player)")
				}
				if rc.Length == nil {
					l.missing(cpath+".length", "how long the clip plays, e.g. 45s")
				} else if c.Length = *rc.Length; c.Length <= 0 {
					l.errorf(cpath+".length", "length must be more than 0")
				}
				pa.Clips = append(pa.Clips, c)
			}
		}
		if d.Connection != nil && d.Point("power") == nil && d.CommandTopic == "" {
			l.errorf(path+".points", `a pa needs a "power" point (amplifier on Modbus) or a command_topic (an MQTT broadcast box)`)
		}
	}
}

// parseLiteral turns a config literal into a value of the given kind.
func parseLiteral(lit Literal, kind drivers.Kind) (drivers.Value, error) {
	if lit.Quoted && kind != drivers.KindString {
		return drivers.Value{}, fmt.Errorf("%q is quoted text, not a %s", lit.Text, kind)
	}
	return drivers.ParseValue(kind, lit.Text)
}
