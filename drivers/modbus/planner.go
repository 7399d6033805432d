package modbus

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/beacon-edge/beacon/gateway/config"
)

// PlannedRead is one read request of a plan: Count registers (or bits) of
// Table from Start, at Unit, covering Points.
type PlannedRead struct {
	Unit   byte
	Table  config.Table
	Start  int
	Count  int
	Points []*config.Point
}

// Request returns the Modbus request that performs r.
func (r PlannedRead) Request() *Request {
	return &Request{Function: readFunction(r.Table), Address: uint16(r.Start), Quantity: uint16(min(r.Count, 0xFFFF))}
}

func (r PlannedRead) String() string {
	return fmt.Sprintf("unit %d: %d %s at %d", r.Unit, r.Count, tableName(r.Table), r.Start)
}

func readFunction(t config.Table) FunctionCode {
	switch t {
	case config.Coil:
		return FuncReadCoils
	case config.Discrete:
		return FuncReadDiscreteInputs
	case config.Input:
		return FuncReadInputRegisters
	}
	return FuncReadHoldingRegisters
}

func tableName(t config.Table) string {
	switch t {
	case config.Coil:
		return "coils"
	case config.Discrete:
		return "discrete inputs"
	case config.Input:
		return "input registers"
	}
	return "holding registers"
}

// tableOrder is the order in which a plan reads the tables of a unit.
var tableOrder = map[config.Table]int{config.Coil: 0, config.Discrete: 1, config.Holding: 2, config.Input: 3}

// BitsPerGapRegister is how many unused bits the planner bridges per
// register of MaxGap in a coil or discrete-input table: 16 bits cost the
// same two bytes on the wire as one register.
const BitsPerGapRegister = 16

// Plan coalesces the points of one unit into the fewest read requests: per
// table, points sorted by address are added to the current request while
// the unused registers between them are at most maxGap (maxGap ×
// BitsPerGapRegister bits in a bit table) and the request stays within the
// protocol limits (MaxReadRegisters registers, MaxReadBits bits). Filling
// each request greedily from the lowest address gives the fewest requests
// for these constraints. Points for which isolated reports true (a device
// refused a read that bridged them) are read alone, and no request bridges
// across them. Requests come in table
// order coil, discrete, holding, input, then by address.
func Plan(unit byte, points []*config.Point, maxGap int, isolated func(*config.Point) bool) []PlannedRead {
	sorted := slices.Clone(points)
	slices.SortStableFunc(sorted, func(a, b *config.Point) int {
		return cmp.Or(
			cmp.Compare(tableOrder[a.Table], tableOrder[b.Table]),
			cmp.Compare(a.Address, b.Address),
			cmp.Compare(b.Registers(), a.Registers()),
		)
	})
	var plan []PlannedRead
	var cur *PlannedRead
	curEnd := 0
	for _, p := range sorted {
		limit, gap := MaxReadRegisters, maxGap
		if p.Table.IsBits() {
			limit, gap = MaxReadBits, maxGap*BitsPerGapRegister
		}
		end := p.Address + p.Registers()
		if isolated != nil && isolated(p) {
			// Nothing bridges across a point the device refused in a
			// coalesced read: the refused addresses are near it.
			if cur != nil {
				plan = append(plan, *cur)
				cur = nil
			}
			plan = append(plan, PlannedRead{Unit: unit, Table: p.Table, Start: p.Address, Count: p.Registers(), Points: []*config.Point{p}})
			continue
		}
		if cur != nil && cur.Table == p.Table && p.Address-curEnd <= gap && max(curEnd, end)-cur.Start <= limit {
			cur.Points = append(cur.Points, p)
			curEnd = max(curEnd, end)
			cur.Count = curEnd - cur.Start
			continue
		}
		if cur != nil {
			plan = append(plan, *cur)
		}
		cur = &PlannedRead{Unit: unit, Table: p.Table, Start: p.Address, Count: p.Registers(), Points: []*config.Point{p}}
		curEnd = end
	}
	if cur != nil {
		plan = append(plan, *cur)
	}
	slices.SortStableFunc(plan, func(a, b PlannedRead) int {
		return cmp.Or(cmp.Compare(tableOrder[a.Table], tableOrder[b.Table]), cmp.Compare(a.Start, b.Start))
	})
	return plan
}
