package modbus

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
)

// The demo center's poll cycle on one RS-485 line at 9600 baud, 11 bits per
// character (8E1): see docs/BENCHMARKS.md, "Modbus read planner (RTU)".
const (
	benchBaud        = 9600
	benchBitsPerChar = BitsPerChar11
)

// demoOnOneLine loads configs/demo-center.yaml and puts its Modbus devices
// sign, flag and pa on one RS-485 line as units 1, 2 and 3 (in the demo
// each has its own TCP connection and unit 1).
func demoOnOneLine(t testing.TB) (*config.Connection, []*config.Device, []drivers.PointRef) {
	t.Helper()
	cfg, err := config.Load(filepath.Join("..", "..", "configs", "demo-center.yaml"))
	if err != nil {
		t.Fatalf("load demo center: %v", err)
	}
	u, _ := url.Parse("rtu:///sim-rs485?baud=9600&parity=E")
	conn := &config.Connection{Name: "rs485", URL: u, Protocol: config.ModbusRTU, Timeout: time.Second, InFlight: 1,
		MaxGap: config.DefaultMaxGap, Serial: &config.Serial{Device: "/sim-rs485", Baud: benchBaud, DataBits: 8, Parity: "E", StopBits: 1}}
	var devs []*config.Device
	var refs []drivers.PointRef
	for i, name := range []string{"sign", "flag", "pa"} {
		d := cfg.Device(name)
		if d == nil {
			t.Fatalf("demo center has no device %s", name)
		}
		c := *d
		c.Unit, c.Connection = i+1, conn
		devs = append(devs, &c)
		for _, p := range c.Points {
			refs = append(refs, p.Ref())
		}
	}
	return conn, devs, refs
}

// wireTime is the wire-time limit of a plan: every request and its normal
// response, each followed by its t3.5 silence.
func wireTime(plan []PlannedRead) (d time.Duration, frames, bytes int) {
	for _, r := range plan {
		req := r.Request()
		d += RTUExchangeTime(req, benchBaud, benchBitsPerChar)
		frames += 2
		bytes += req.PDULen() + 3 + req.ResponsePDULen() + 3
	}
	return d, frames, bytes
}

// minRequests is a lower bound on the requests of any plan: one per unit
// and table used.
func minRequests(devs []*config.Device) int {
	seen := map[[2]any]bool{}
	for _, d := range devs {
		for _, p := range d.Points {
			seen[[2]any{d.Unit, p.Table}] = true
		}
	}
	return len(seen)
}

func TestDemoRTUPlanIsMinimal(t *testing.T) {
	conn, devs, refs := demoOnOneLine(t)
	drv, err := NewDriver(conn, devs, DriverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	plan, err := drv.Plan(refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != minRequests(devs) {
		t.Errorf("plan has %d requests, want the minimum %d: %v", len(plan), minRequests(devs), plan)
	}
	wire, frames, bytes := wireTime(plan)
	var naive []PlannedRead // one request per point
	for _, d := range devs {
		naive = append(naive, Plan(byte(d.Unit), d.Points, 0, func(*config.Point) bool { return true })...)
	}
	nWire, nFrames, nBytes := wireTime(naive)
	t.Logf("demo cycle, %d points: planned %d requests, %d frames, %d bytes, wire time %v; one request per point: %d requests, %d frames, %d bytes, wire time %v",
		len(refs), len(plan), frames, bytes, wire, len(naive), nFrames, nBytes, nWire)
}

// pacedLink delivers each write after the time its bytes take on a serial
// line (len × character time), as a UART at that baud rate would.
type pacedLink struct {
	net.Conn
	charTime time.Duration
}

func (l pacedLink) Write(p []byte) (int, error) {
	t := time.NewTimer(time.Duration(len(p)) * l.charTime)
	<-t.C
	return l.Conn.Write(p)
}

// BenchmarkRTUPollCycle measures one driver Read of every Modbus point of
// the demo center on a simulated 9600-baud RS-485 line: both directions
// are paced at the character time, Beacon's server keeps t3.5 before each
// answer and the client keeps t3.5 before each request. It reports the
// measured cycle, the wire-time limit of the plan and their ratio.
func BenchmarkRTUPollCycle(b *testing.B) {
	conn, devs, refs := demoOnOneLine(b)
	srv := NewServer(ServerConfig{})
	b.Cleanup(func() { _ = srv.Close() })
	for _, d := range devs {
		srv.AddUnit(byte(d.Unit), NewBank(BankConfig{Coils: Range{0, 100}, DiscreteInputs: Range{0, 100},
			HoldingRegisters: Range{0, 100}, InputRegisters: Range{0, 100}}))
	}
	char := CharTime(benchBaud, benchBitsPerChar)
	drv, err := NewDriver(conn, devs, DriverOptions{Client: ClientConfig{
		Dial: func(ctx context.Context) (Link, error) {
			a, s := net.Pipe()
			if err := srv.ServeRTU(pacedLink{s, char}, T35(benchBaud, benchBitsPerChar)); err != nil {
				return nil, err
			}
			return pacedLink{a, char}, nil
		},
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer drv.Close()
	plan, err := drv.Plan(refs)
	if err != nil {
		b.Fatal(err)
	}
	wire, frames, bytes := wireTime(plan)
	ctx := context.Background()
	if _, err := drv.Read(ctx, refs); err != nil { // connect outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		samples, err := drv.Read(ctx, refs)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range samples {
			if s.Err != nil {
				b.Fatalf("%s: %v", s.Ref, s.Err)
			}
		}
	}
	cycle := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(cycle.Microseconds())/1000, "ms/cycle")
	b.ReportMetric(float64(wire.Microseconds())/1000, "wire-ms/cycle")
	b.ReportMetric(float64(cycle)/float64(wire), "x-wire")
	b.ReportMetric(float64(len(plan)), "requests/cycle")
	b.ReportMetric(float64(frames), "frames/cycle")
	b.ReportMetric(float64(bytes), "bytes/cycle")
}
