package modbus

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/beacon-edge/beacon/gateway/config"
)

// pt is a test point: "h10" is holding register 10 (uint16), "h10:f32" a
// float32 there, "h10:s5" a 5-register string, "c3" coil 3, "d7" discrete
// input 7, "i0" input register 0.
func pt(spec string) *config.Point {
	tables := map[byte]config.Table{'c': config.Coil, 'd': config.Discrete, 'h': config.Holding, 'i': config.Input}
	p := &config.Point{Name: spec, Table: tables[spec[0]], Bit: -1, Type: config.TypeUint16, Order: config.ABCD, Scale: 1}
	addr, typ, _ := strings.Cut(spec[1:], ":")
	if _, err := fmt.Sscan(addr, &p.Address); err != nil {
		panic(spec)
	}
	switch {
	case p.Table.IsBits():
		p.Type = config.TypeBool
	case typ == "f32":
		p.Type = config.TypeFloat32
	case typ == "u64":
		p.Type = config.TypeUint64
	case strings.HasPrefix(typ, "s"):
		p.Type = config.TypeString
		fmt.Sscan(typ[1:], &p.Count)
	case strings.HasPrefix(typ, "b"):
		p.Type = config.TypeBool
		fmt.Sscan(typ[1:], &p.Bit)
	}
	return p
}

func pts(specs ...string) []*config.Point {
	var out []*config.Point
	for _, s := range specs {
		out = append(out, pt(s))
	}
	return out
}

// planString renders a plan as "holding 0+10 [h0 h9]; coils 3+1 [c3]".
func planString(plan []PlannedRead) string {
	var parts []string
	for _, r := range plan {
		var names []string
		for _, p := range r.Points {
			names = append(names, p.Name)
		}
		parts = append(parts, fmt.Sprintf("%s %d+%d [%s]", r.Table, r.Start, r.Count, strings.Join(names, " ")))
	}
	return strings.Join(parts, "; ")
}

func TestPlan(t *testing.T) {
	var many []string
	for a := 0; a < 130; a++ {
		many = append(many, fmt.Sprintf("h%d", a))
	}
	var bits []string
	for a := 0; a < 2001; a += 1000 {
		bits = append(bits, fmt.Sprintf("c%d", a))
	}
	tests := []struct {
		name     string
		points   []*config.Point
		maxGap   int
		isolated []string
		want     string
	}{
		{"one point", pts("h5"), 8, nil, "holding 5+1 [h5]"},
		{"adjacent points coalesce", pts("h0", "h1", "h2:f32"), 8, nil, "holding 0+4 [h0 h1 h2:f32]"},
		{"unsorted input", pts("h2:f32", "h0", "h1"), 8, nil, "holding 0+4 [h0 h1 h2:f32]"},
		{"gap of exactly maxGap is bridged", pts("h0", "h9"), 8, nil, "holding 0+10 [h0 h9]"},
		{"gap beyond maxGap splits", pts("h0", "h10"), 8, nil, "holding 0+1 [h0]; holding 10+1 [h10]"},
		{"maxGap 0 merges only adjacent", pts("h0", "h1", "h3"), 0, nil, "holding 0+2 [h0 h1]; holding 3+1 [h3]"},
		{"tables never mix", pts("h0", "i0", "i1", "c0", "d0"), 8, nil,
			"coil 0+1 [c0]; discrete 0+1 [d0]; holding 0+1 [h0]; input 0+2 [i0 i1]"},
		{"overlapping points share registers", pts("h4:b0", "h4:b3", "h4", "h3:f32"), 8, nil, "holding 3+2 [h3:f32 h4:b0 h4:b3 h4]"},
		{"125-register limit", pts(many...), 8, nil, "holding 0+125 [" + strings.Join(many[:125], " ") + "]; holding 125+5 [" + strings.Join(many[125:], " ") + "]"},
		{"multi-register value never straddles the limit", pts("h0", "h122:u64"), 125, nil, "holding 0+1 [h0]; holding 122+4 [h122:u64]"},
		{"multi-register value at the limit", pts("h0", "h121:u64"), 125, nil, "holding 0+125 [h0 h121:u64]"},
		{"bits bridge 16 per gap register", pts("c0", "c128", "c300"), 8, nil, "coil 0+129 [c0 c128]; coil 300+1 [c300]"},
		{"2000-bit limit", pts(bits...), 125, nil, "coil 0+1001 [c0 c1000]; coil 2000+1 [c2000]"},
		{"string", pts("h0:s5", "h5"), 8, nil, "holding 0+6 [h0:s5 h5]"},
		{"isolated points read alone", pts("h0", "h2", "h4", "h6"), 8, []string{"h2", "h4"},
			"holding 0+1 [h0]; holding 2+1 [h2]; holding 4+1 [h4]; holding 6+1 [h6]"},
		{"isolated points do not stop others merging", pts("h0", "h1", "h5", "h20", "h21"), 8, []string{"h5"},
			"holding 0+2 [h0 h1]; holding 5+1 [h5]; holding 20+2 [h20 h21]"},
		{"no points", nil, 8, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := Plan(3, tc.points, tc.maxGap, func(p *config.Point) bool { return slices.Contains(tc.isolated, p.Name) })
			if got := planString(plan); got != tc.want {
				t.Fatalf("plan:\n got %s\nwant %s", got, tc.want)
			}
			covered := 0
			for _, r := range plan {
				covered += len(r.Points)
				if r.Unit != 3 {
					t.Errorf("%v: unit %d, want 3", r, r.Unit)
				}
				if err := r.Request().Validate(); err != nil {
					t.Errorf("%v: %v", r, err)
				}
			}
			if covered != len(tc.points) {
				t.Errorf("plan covers %d points, want %d", covered, len(tc.points))
			}
		})
	}
}
