package modbus

import (
	"context"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/pymodbustest"
)

// TestDriverAgainstPymodbus reads the typed points of a server nobody here
// wrote (pymodbus_peer.py: holding register i = i, input register i =
// 1000+i, coil i = i%3==0, discrete input i = i%2==0), then writes every
// type in every order to it and reads them back.
func TestDriverAgainstPymodbus(t *testing.T) {
	for _, tc := range []struct{ scheme, framer string }{{"tcp", "socket"}, {"rtutcp", "rtu"}} {
		t.Run(tc.scheme, func(t *testing.T) {
			addr := pymodbustest.Server(t, tc.framer)
			p := func(name string, table config.Table, address int, typ config.Type, order config.Order) *config.Point {
				return &config.Point{Name: name, Table: table, Address: address, Bit: -1, Type: typ, Order: order, Access: config.Read}
			}
			scaled := p("scaled", config.Input, 5, config.TypeInt16, config.ABCD)
			scaled.Scale, scaled.Offset = 0.5, 1
			bit2, bit0 := p("bit2", config.Holding, 20, config.TypeBool, config.ABCD), p("bit0", config.Holding, 20, config.TypeBool, config.ABCD)
			bit2.Bit, bit0.Bit = 2, 0
			held := device("peer", 1,
				p("u16", config.Holding, 10, config.TypeUint16, config.ABCD),
				p("u32_ABCD", config.Holding, 10, config.TypeUint32, config.ABCD),
				p("u32_CDAB", config.Holding, 10, config.TypeUint32, config.CDAB),
				p("u32_BADC", config.Holding, 10, config.TypeUint32, config.BADC),
				p("u32_DCBA", config.Holding, 10, config.TypeUint32, config.DCBA),
				p("u64", config.Holding, 0, config.TypeUint64, config.ABCD),
				scaled, bit2, bit0,
				p("coil3", config.Coil, 3, config.TypeBool, ""),
				p("coil4", config.Coil, 4, config.TypeBool, ""),
				p("di1", config.Discrete, 1, config.TypeBool, ""),
				p("di2", config.Discrete, 2, config.TypeBool, ""),
			)
			// Round trip: every type in every order, written then read.
			rw := &config.Device{Name: "rw", Unit: 2}
			cases := roundTripCases()
			for _, c := range cases {
				c.point.Device, c.point.Access = "rw", config.Write
				if c.point.Scale == 0 {
					c.point.Scale = 1
				}
				rw.Points = append(rw.Points, c.point)
			}
			drv, err := NewDriver(testConn(t, tc.scheme+"://"+addr), []*config.Device{held, rw}, DriverOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer drv.Close()

			got := readAll(t, drv, refs(held))
			want := map[string]drivers.Value{
				"u16":      drivers.Number(10),
				"u32_ABCD": drivers.Number(10<<16 | 11),
				"u32_CDAB": drivers.Number(11<<16 | 10),
				"u32_BADC": drivers.Number(0x0A000B00),
				"u32_DCBA": drivers.Number(0x0B000A00),
				"u64":      drivers.Number(0<<48 | 1<<32 | 2<<16 | 3),
				"scaled":   drivers.Number(1005*0.5 + 1),
				"bit2":     drivers.Bool(true), // 20 = 0b10100
				"bit0":     drivers.Bool(false),
				"coil3":    drivers.Bool(true),
				"coil4":    drivers.Bool(false),
				"di1":      drivers.Bool(false),
				"di2":      drivers.Bool(true),
			}
			for name, v := range want {
				if s := got[name]; s.Err != nil || !drivers.Equal(s.Value, v, 0) || s.Value.Kind() != v.Kind() {
					t.Errorf("%s = %#v (err %v), want %#v", name, s.Value, s.Err, v)
				}
			}

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for _, c := range cases {
				if err := drv.Write(ctx, c.point.Ref(), c.value); err != nil {
					t.Fatalf("write %s: %v", c.point.Name, err)
				}
			}
			back := readAll(t, drv, refs(rw))
			for _, c := range cases {
				if s := back[c.point.Name]; s.Err != nil || !drivers.Equal(s.Value, c.value, 1e-9) || s.Value.Kind() != c.value.Kind() {
					t.Errorf("%s: read back %#v (err %v), wrote %#v", c.point.Name, s.Value, s.Err, c.value)
				}
			}
		})
	}
}
