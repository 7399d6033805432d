package modbus

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// benchServer is Beacon's server on loopback with unit 1, for benchmarks.
func benchServer(b *testing.B) string {
	s := NewServer(ServerConfig{})
	b.Cleanup(func() { _ = s.Close() })
	bank := NewBank(testBank)
	for i := range 10 {
		_ = bank.SetRegisters(HoldingRegisters, uint16(i), uint16(100+i))
	}
	s.AddUnit(1, bank)
	addr, err := s.ListenTCP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return addr.String()
}

// reportLatency reports requests/s and the p50/p99 latency of the samples.
func reportLatency(b *testing.B, lat []time.Duration) {
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)]) / 1e3 }
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkFC03TCP reads 10 holding registers over loopback TCP from
// Beacon's server with Beacon's client, one request at a time.
func BenchmarkFC03TCP(b *testing.B) {
	c, err := NewClient("tcp://"+benchServer(b), ClientConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.ReadHoldingRegisters(ctx, 1, 0, 10); err != nil { // connect outside the timing
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		regs, err := c.ReadHoldingRegisters(ctx, 1, 0, 10)
		lat = append(lat, time.Since(start))
		if err != nil || regs[9] != 109 {
			b.Fatalf("read: %v, %v", regs, err)
		}
	}
	reportLatency(b, lat)
}

// BenchmarkFC03TCPRaw is the same exchange as BenchmarkFC03TCP by a minimal
// loop of hand-written bytes on a net.Conn against the same server: the
// limit of this machine's loopback and of the server.
func BenchmarkFC03TCPRaw(b *testing.B) {
	conn, err := net.Dial("tcp", benchServer(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := []byte{0, 0, 0, 0, 0, 6, 1, 0x03, 0, 0, 0, 10}
	resp := make([]byte, 7+2+20)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		binary.BigEndian.PutUint16(req, uint16(i))
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(conn, resp); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		if binary.BigEndian.Uint16(resp) != uint16(i) || resp[8] != 20 || resp[28] != 109 {
			b.Fatalf("response % X", resp)
		}
	}
	reportLatency(b, lat)
}

// BenchmarkFC03TCPPipelined has 8 goroutines share one connection with 8
// requests in flight, matched by transaction id.
func BenchmarkFC03TCPPipelined(b *testing.B) {
	c, err := NewClient("tcp://"+benchServer(b), ClientConfig{MaxInFlight: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ReadHoldingRegisters(context.Background(), 1, 0, 10); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(4) // 4 × GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if regs, err := c.ReadHoldingRegisters(context.Background(), 1, 0, 10); err != nil || regs[9] != 109 {
				b.Errorf("read: %v, %v", regs, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
