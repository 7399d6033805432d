package gateway

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/drivers/memory"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/internal/testenv"
)

func TestApplySchedule(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "center.yaml")
	center := testCenter + "rules:\n  - name: dark-by-day\n    between: [\"06:00\", \"18:00\"]\n    set: {sign.power: false}\n"
	if err := os.WriteFile(path, []byte(center), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	clk := clock.NewScaled(time.Date(2026, 6, 1, 12, 0, 0, 0, loc), 1)
	mem := memory.New(clk)
	mem.Add(power, drivers.Bool(true))
	mem.Add(current, drivers.Number(0))
	g, err := New(cfg, Options{
		Clock: clk, StateDir: dir, SweepInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Drivers: map[config.Protocol]DriverFactory{
			config.ModbusTCP: func(*config.Connection, []*config.Device, *slog.Logger) (drivers.Driver, error) { return mem, nil },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	powerIs := func(want bool) func() bool {
		return func() bool { v, _ := mem.Value(power); return drivers.Equal(v, drivers.Bool(want), 0) }
	}
	testenv.WaitFor(t, 5*time.Second, "the day rule darkens the sign", powerIs(false))

	tests := []struct {
		name      string
		schedules string
		wantPower bool
		wantSlot  priority.Slot
		wantRule  string
	}{
		{"a window moved to the night hands the point back to its safe value",
			"rules:\n  - name: dark-by-night\n    between: [\"20:00\", \"22:00\"]\n    set: {sign.power: false}\n", true, priority.Default, SafeAuthor},
		{"a new window takes the point again",
			"rules:\n  - name: dark-at-noon\n    between: [\"11:00\", \"13:00\"]\n    set: {sign.power: false}\n", false, priority.Schedule, "rule:dark-at-noon"},
		{"no rules at all", "rules: []\n", true, priority.Default, SafeAuthor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, err := cfg.WithSchedules([]byte(tt.schedules))
			if err != nil {
				t.Fatal(err)
			}
			actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer acancel()
			if err := g.ApplySchedule(actx, next); err != nil {
				t.Fatal(err)
			}
			testenv.WaitFor(t, 5*time.Second, "the device follows the new schedule", powerIs(tt.wantPower))
			cmd, slot, _ := g.Priorities().Effective(power, clk.Now())
			if slot != tt.wantSlot || cmd.Author != tt.wantRule {
				t.Errorf("effective slot %s author %q; want %s %q", slot, cmd.Author, tt.wantSlot, tt.wantRule)
			}
		})
	}

	t.Run("wiring changes are refused", func(t *testing.T) {
		other := loadTestCenter(t)
		other.Devices = other.Devices[:1]
		if err := g.ApplySchedule(context.Background(), other); !errors.Is(err, ErrWiringChanged) {
			t.Errorf("err = %v, want ErrWiringChanged", err)
		}
	})
}
