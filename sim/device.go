package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/modbus"
	"github.com/beacon-edge/beacon/gateway/config"
)

// Fault is a failure the simulator can inject into a device.
type Fault string

// The injectable faults.
const (
	FaultOffline    Fault = "offline"     // the unit answers nothing
	FaultSlow       Fault = "slow"        // every answer takes 2 s
	FaultException  Fault = "exception"   // every request gets "server device failure"
	FaultPartlyDark Fault = "partly-dark" // sign: 60 % of its current
	FaultRelayStuck Fault = "relay-stuck" // sign: the relay keeps its state whatever the coil says
	FaultMotorJam   Fault = "motor-jam"   // flagpole: the flag does not move, the motor reports a fault
)

// Faults lists every fault, for help texts and validation.
var Faults = []Fault{FaultOffline, FaultSlow, FaultException, FaultPartlyDark, FaultRelayStuck, FaultMotorJam}

// SlowDelay is how long a slow device takes to answer.
const SlowDelay = 2 * time.Second

// flagSpeed is the flag's travel in % per second: about 30 s bottom to top.
const flagSpeed = 100.0 / 30

// device is one simulated piece of hardware.
type device struct {
	cfg    *config.Device
	bank   *modbus.Bank
	unit   *modbus.Unit
	faults map[Fault]bool

	// sign
	relayOn bool
	// flagpole
	position float64 // %
	windBase float64 // m/s
	// pa
	playingUntil time.Time
}

func newDevice(d *config.Device) (*device, error) {
	var cfg modbus.BankConfig
	for _, p := range d.Points {
		r := modbus.Range{Start: uint16(p.Address), Count: p.Registers()}
		var target *modbus.Range
		switch p.Table {
		case config.Coil:
			target = &cfg.Coils
		case config.Discrete:
			target = &cfg.DiscreteInputs
		case config.Holding:
			target = &cfg.HoldingRegisters
		case config.Input:
			target = &cfg.InputRegisters
		default:
			return nil, fmt.Errorf("point %s has no Modbus table", p.Name)
		}
		*target = union(*target, r)
	}
	dev := &device{cfg: d, bank: modbus.NewBank(cfg), faults: map[Fault]bool{}, windBase: 4}
	// Hardware starts in its power-on state: everything off, flag down.
	for _, p := range d.Points {
		if p.Table.IsBits() {
			continue
		}
		if _, err := dev.get(p); err != nil {
			return nil, err
		}
	}
	return dev, nil
}

// union widens a range to cover another; the bank answers "illegal data
// address" outside the union, as a real device does past its register map.
func union(a, b modbus.Range) modbus.Range {
	if a.Count == 0 {
		return b
	}
	start := min(a.Start, b.Start)
	end := max(int(a.Start)+a.Count, int(b.Start)+b.Count)
	return modbus.Range{Start: start, Count: end - int(start)}
}

func bitTable(t config.Table) modbus.Table {
	if t == config.Coil {
		return modbus.Coils
	}
	return modbus.DiscreteInputs
}

func regTable(t config.Table) modbus.Table {
	if t == config.Holding {
		return modbus.HoldingRegisters
	}
	return modbus.InputRegisters
}

// get reads a point's engineering value from the bank.
func (d *device) get(p *config.Point) (drivers.Value, error) {
	if p.Table.IsBits() {
		bits, err := d.bank.Bits(bitTable(p.Table), uint16(p.Address), 1)
		if err != nil {
			return drivers.Value{}, err
		}
		return drivers.Bool(bits[0]), nil
	}
	regs, err := d.bank.Registers(regTable(p.Table), uint16(p.Address), p.Registers())
	if err != nil {
		return drivers.Value{}, err
	}
	return modbus.DecodePoint(p, regs)
}

// set writes a point's engineering value into the bank.
func (d *device) set(p *config.Point, v drivers.Value) error {
	if p.Table.IsBits() {
		b, ok := v.AsBool()
		if !ok {
			return fmt.Errorf("%s.%s: %v is not a boolean", d.cfg.Name, p.Name, v)
		}
		return d.bank.SetBits(bitTable(p.Table), uint16(p.Address), b)
	}
	if p.Bit >= 0 {
		regs, err := d.bank.Registers(regTable(p.Table), uint16(p.Address), 1)
		if err != nil {
			return err
		}
		b, _ := v.AsBool()
		return d.bank.SetRegisters(regTable(p.Table), uint16(p.Address), modbus.SetBit(regs[0], p.Bit, b))
	}
	regs, err := modbus.EncodePoint(p, v)
	if err != nil {
		return fmt.Errorf("%s.%s: %w", d.cfg.Name, p.Name, err)
	}
	return d.bank.SetRegisters(regTable(p.Table), uint16(p.Address), regs...)
}

// value reads a named point, or reports it absent.
func (d *device) value(name string) (drivers.Value, bool) {
	p := d.cfg.Point(name)
	if p == nil {
		return drivers.Value{}, false
	}
	v, err := d.get(p)
	return v, err == nil
}

func (d *device) boolean(name string) bool {
	v, ok := d.value(name)
	b, _ := v.AsBool()
	return ok && b
}

func (d *device) number(name string) float64 {
	v, _ := d.value(name)
	f, _ := v.AsNumber()
	return f
}

// put sets a named point if the device has it; the simulator's own
// writes cannot fail for a point the bank was built for.
func (d *device) put(name string, v drivers.Value) {
	if p := d.cfg.Point(name); p != nil {
		_ = d.set(p, v)
	}
}

// applyFaults pushes the wire-level faults to the Modbus unit.
func (d *device) applyFaults() {
	if d.unit == nil {
		return
	}
	d.unit.SetOffline(d.faults[FaultOffline])
	delay := time.Duration(0)
	if d.faults[FaultSlow] {
		delay = SlowDelay
	}
	d.unit.SetDelay(delay)
	code := modbus.ExceptionCode(0)
	if d.faults[FaultException] {
		code = modbus.ServerDeviceFailure
	}
	d.unit.ForceException(code)
}

// advance moves the device's physics on by dt.
func (d *device) advance(now time.Time, dt time.Duration, c *Center) {
	switch d.cfg.Kind {
	case config.KindSign:
		d.advanceSign(c)
	case config.KindFlagpole:
		d.advanceFlag(now, dt, c)
	case config.KindPA:
		d.advancePA(now)
	case config.KindOccupancy:
		d.advanceRoom(now, c)
	}
}

func (d *device) advanceSign(c *Center) {
	if !d.faults[FaultRelayStuck] {
		d.relayOn = d.boolean("power")
	}
	amps := 0.0
	if d.relayOn {
		amps = d.cfg.Sign.NominalCurrent * c.noise(0.02)
		if d.faults[FaultPartlyDark] {
			amps *= 0.6
		}
	}
	d.put("current", drivers.Number(amps))
	d.put("fault", drivers.Bool(d.faults[FaultPartlyDark]))
}

// Flagpole controller command codes (configs/profiles/flagpole-controller.yaml).
const (
	cmdStop = iota
	cmdRaise
	cmdLower
	cmdToSetpoint
)

func (d *device) advanceFlag(now time.Time, dt time.Duration, c *Center) {
	cmd := int(math.Round(d.number("command")))
	target := d.position
	switch cmd {
	case cmdRaise:
		target = 100
	case cmdLower:
		target = 0
	case cmdToSetpoint:
		target = math.Max(0, math.Min(100, d.number("setpoint")))
	}
	moving := target != d.position
	jammed := d.faults[FaultMotorJam]
	if moving && !jammed {
		stepPct := flagSpeed * dt.Seconds()
		if math.Abs(target-d.position) <= stepPct {
			d.position = target
		} else if target > d.position {
			d.position += stepPct
		} else {
			d.position -= stepPct
		}
	}
	d.put("position", drivers.Number(d.position))
	d.put("top", drivers.Bool(d.position >= 99.95))
	d.put("bottom", drivers.Bool(d.position <= 0.05))
	d.put("motor_fault", drivers.Bool(jammed && moving))
	// Wind: a slow daily swell with gusts.
	hour := float64(now.Hour()) + float64(now.Minute())/60
	wind := d.windBase + 2*math.Sin(hour/24*2*math.Pi) + 3*c.rng.Float64()
	d.put("wind_speed", drivers.Number(math.Max(0, wind)))
}

// onWrite reacts to a client's write as the hardware does at once: a
// write to the PA's clip register starts that clip (or stops, for 0), even
// when it rewrites the same number.
func (d *device) onWrite(ev modbus.WriteEvent, now time.Time) {
	p := d.cfg.Point("clip")
	if d.cfg.Kind != config.KindPA || p == nil || ev.Table != regTable(p.Table) ||
		p.Address < int(ev.Address) || p.Address >= int(ev.Address)+ev.Count {
		return
	}
	clip := d.number("clip")
	d.playingUntil = time.Time{}
	if clip == 0 || !d.boolean("power") {
		return
	}
	length := 30 * time.Second
	for _, cl := range d.cfg.PA.Clips {
		if float64(cl.ID) == clip {
			length = cl.Length
		}
	}
	d.playingUntil = now.Add(length)
}

func (d *device) advancePA(now time.Time) {
	if !d.boolean("power") {
		d.playingUntil = time.Time{}
	}
	d.put("playing", drivers.Bool(now.Before(d.playingUntil)))
}

// roomHours are when a function room is in use on a typical day, local
// time: morning activities, an afternoon session, an evening meeting. Each
// room keeps its own hours, shifted by roomShift.
var roomHours = [][2]float64{{8.5, 11.5}, {14, 17}, {19, 21}}

// roomInUse reports whether the named room is in use at hour h (local,
// fractional): the shared pattern shifted by up to an hour per room, so
// that rooms do not fill and empty together.
func roomInUse(name string, h float64) bool {
	shift := 0.0
	for _, r := range name {
		shift += float64(r)
	}
	shift = math.Mod(shift, 5) * 0.25 // 0, 0.25, … 1 h
	return slices.ContainsFunc(roomHours, func(r [2]float64) bool { return h >= r[0]+shift && h < r[1]+shift })
}

func (d *device) advanceRoom(now time.Time, c *Center) {
	loc := c.cfg.Center.Location
	if loc == nil {
		loc = time.UTC
	}
	t := now.In(loc)
	h := float64(t.Hour()) + float64(t.Minute())/60
	inUse := roomInUse(d.cfg.Name, h)
	d.put("occupied", drivers.Bool(inUse))
	if inUse {
		d.put("count", drivers.Number(math.Round(12*c.noise(0.5))))
	} else {
		d.put("count", drivers.Number(0))
	}
}

// SetFault turns a fault of a device on or off.
func (c *Center) SetFault(device string, f Fault, on bool) error {
	if !slices.Contains(Faults, f) {
		names := make([]string, len(Faults))
		for i, x := range Faults {
			names[i] = string(x)
		}
		return fmt.Errorf("unknown fault %q: use one of %s", f, strings.Join(names, ", "))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, md := range c.mqttDevices {
		if md.cfg.Name == device {
			md.faults[f] = on
			c.log.Info("fault", "device", device, "fault", f, "on", on)
			return nil
		}
	}
	d, ok := c.devices[device]
	if !ok {
		return fmt.Errorf("no simulated device %q", device)
	}
	d.faults[f] = on
	d.applyFaults()
	c.log.Info("fault", "device", device, "fault", f, "on", on)
	return nil
}

// ActiveFaults lists the faults that are on, as device → faults.
func (c *Center) ActiveFaults() map[string][]Fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]Fault{}
	for name, d := range c.devices {
		for _, f := range Faults {
			if d.faults[f] {
				out[name] = append(out[name], f)
			}
		}
	}
	return out
}
