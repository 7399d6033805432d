package modbus

import (
	"fmt"
	"sync"
)

// Table names one of the four Modbus data tables (Modbus V1.1b3 §4.3).
type Table byte

// The data tables.
const (
	Coils            Table = iota + 1 // read/write bits
	DiscreteInputs                    // read-only bits
	HoldingRegisters                  // read/write 16-bit registers
	InputRegisters                    // read-only 16-bit registers
)

func (t Table) String() string {
	switch t {
	case Coils:
		return "coils"
	case DiscreteInputs:
		return "discrete inputs"
	case HoldingRegisters:
		return "holding registers"
	case InputRegisters:
		return "input registers"
	}
	return fmt.Sprintf("table %d", byte(t))
}

// Range is a span of addresses of one table: Start, Start+1, …,
// Start+Count-1. Count 0 means the table is absent.
type Range struct {
	Start uint16
	Count int
}

// BankConfig sets which addresses of each table a Bank holds; requests
// outside them are answered with IllegalDataAddress.
type BankConfig struct {
	Coils, DiscreteInputs, HoldingRegisters, InputRegisters Range
}

// FullBank holds every address 0..65535 of every table (about 400 KB).
var FullBank = BankConfig{
	Coils:            Range{0, 0x10000},
	DiscreteInputs:   Range{0, 0x10000},
	HoldingRegisters: Range{0, 0x10000},
	InputRegisters:   Range{0, 0x10000},
}

// Bank is the data of one unit: its coils, discrete inputs, holding and
// input registers. It is safe for concurrent use; a multi-item read or
// write is atomic.
type Bank struct {
	mu       sync.RWMutex
	coils    table[bool]
	discrete table[bool]
	holding  table[uint16]
	input    table[uint16]
}

type table[T bool | uint16] struct {
	start int
	vals  []T
}

func newTable[T bool | uint16](r Range) table[T] {
	n := min(max(r.Count, 0), 0x10000-int(r.Start))
	return table[T]{start: int(r.Start), vals: make([]T, n)}
}

// span returns the slice for addresses [addr, addr+n) or false.
func (t *table[T]) span(addr uint16, n int) ([]T, bool) {
	i := int(addr) - t.start
	if n < 1 || i < 0 || i+n > len(t.vals) {
		return nil, false
	}
	return t.vals[i : i+n], true
}

// NewBank returns a Bank of zeroes holding the configured ranges.
func NewBank(cfg BankConfig) *Bank {
	return &Bank{
		coils:    newTable[bool](cfg.Coils),
		discrete: newTable[bool](cfg.DiscreteInputs),
		holding:  newTable[uint16](cfg.HoldingRegisters),
		input:    newTable[uint16](cfg.InputRegisters),
	}
}

func addressError(t Table, addr uint16, n int) error {
	return fmt.Errorf("%d %s at %d: %w", n, t, addr, IllegalDataAddress)
}

func (b *Bank) bits(t Table) *table[bool] {
	if t == Coils {
		return &b.coils
	}
	return &b.discrete
}

func (b *Bank) regs(t Table) *table[uint16] {
	if t == HoldingRegisters {
		return &b.holding
	}
	return &b.input
}

// Bits returns n values of a bit table (Coils or DiscreteInputs) from addr.
// The error matches IllegalDataAddress when a value is outside the bank.
func (b *Bank) Bits(t Table, addr uint16, n int) ([]bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s, ok := b.bits(t).span(addr, n)
	if !ok {
		return nil, addressError(t, addr, n)
	}
	return append([]bool(nil), s...), nil
}

// SetBits sets values of a bit table from addr, all or none.
func (b *Bank) SetBits(t Table, addr uint16, values ...bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.bits(t).span(addr, len(values))
	if !ok {
		return addressError(t, addr, len(values))
	}
	copy(s, values)
	return nil
}

// Registers returns n values of a register table (HoldingRegisters or
// InputRegisters) from addr.
func (b *Bank) Registers(t Table, addr uint16, n int) ([]uint16, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s, ok := b.regs(t).span(addr, n)
	if !ok {
		return nil, addressError(t, addr, n)
	}
	return append([]uint16(nil), s...), nil
}

// SetRegisters sets values of a register table from addr, all or none.
func (b *Bank) SetRegisters(t Table, addr uint16, values ...uint16) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.regs(t).span(addr, len(values))
	if !ok {
		return addressError(t, addr, len(values))
	}
	copy(s, values)
	return nil
}

// readWrite performs FC23 atomically: write first, then read (§6.17).
func (b *Bank) readWrite(readAddr uint16, readN int, writeAddr uint16, values []uint16) ([]uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.holding.span(writeAddr, len(values))
	if !ok {
		return nil, addressError(HoldingRegisters, writeAddr, len(values))
	}
	if _, ok := b.holding.span(readAddr, readN); !ok {
		return nil, addressError(HoldingRegisters, readAddr, readN)
	}
	copy(w, values)
	r, _ := b.holding.span(readAddr, readN)
	return append([]uint16(nil), r...), nil
}
