package priority_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/priority"
)

var (
	t0    = time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	power = drivers.PointRef{Device: "sign", Point: "power"}
	flag  = drivers.PointRef{Device: "flag", Point: "command"}
)

func TestSlotNames(t *testing.T) {
	want := []string{"safety", "manual", "emergency", "schedule", "default"}
	for i, name := range want {
		s := priority.Slot(i)
		if s.String() != name {
			t.Errorf("Slot(%d).String() = %q, want %q", i, s, name)
		}
		if got, err := priority.ParseSlot(name); err != nil || got != s {
			t.Errorf("ParseSlot(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := priority.ParseSlot("urgent"); err == nil {
		t.Error("ParseSlot(urgent) succeeded")
	}
	if got := priority.Slot(9).String(); got != "slot(9)" {
		t.Errorf("invalid slot prints %q", got)
	}
}

type set struct {
	slot    priority.Slot
	value   drivers.Value
	author  string
	expires time.Duration // after t0; 0 = never
}

func TestEffective(t *testing.T) {
	on, off := drivers.Bool(true), drivers.Bool(false)
	tests := []struct {
		name       string
		sets       []set
		relinquish []priority.Slot
		at         time.Duration // after t0
		want       drivers.Value
		wantSlot   priority.Slot
		wantAuthor string
		wantOK     bool
	}{
		{name: "nothing set", wantOK: false},
		{name: "schedule alone", sets: []set{{priority.Schedule, on, "rule:sign-night", 0}},
			want: on, wantSlot: priority.Schedule, wantAuthor: "rule:sign-night", wantOK: true},
		{name: "safety beats manual", sets: []set{
			{priority.Manual, on, "alice", 0},
			{priority.Safety, off, "wind-guard", 0},
		}, want: off, wantSlot: priority.Safety, wantAuthor: "wind-guard", wantOK: true},
		{name: "manual beats schedule and default", sets: []set{
			{priority.Default, on, "config", 0},
			{priority.Schedule, on, "rule:sign-night", 0},
			{priority.Manual, off, "alice", time.Hour},
		}, at: 59 * time.Minute, want: off, wantSlot: priority.Manual, wantAuthor: "alice", wantOK: true},
		{name: "expired override hands control back to schedule", sets: []set{
			{priority.Schedule, on, "rule:sign-night", 0},
			{priority.Manual, off, "alice", time.Hour},
		}, at: time.Hour, want: on, wantSlot: priority.Schedule, wantAuthor: "rule:sign-night", wantOK: true},
		{name: "relinquished safety hands back to manual", sets: []set{
			{priority.Manual, on, "alice", 0},
			{priority.Safety, off, "wind-guard", 0},
		}, relinquish: []priority.Slot{priority.Safety}, want: on, wantSlot: priority.Manual, wantAuthor: "alice", wantOK: true},
		{name: "only expired commands is no value", sets: []set{
			{priority.Manual, off, "alice", time.Minute},
		}, at: time.Hour, wantOK: false},
		{name: "default is the last resort", sets: []set{
			{priority.Default, on, "config", 0},
		}, want: on, wantSlot: priority.Default, wantAuthor: "config", wantOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := priority.NewTable()
			for _, s := range tc.sets {
				cmd := priority.Command{Value: s.value, Author: s.author, Set: t0}
				if s.expires != 0 {
					cmd.Expires = t0.Add(s.expires)
				}
				if err := tab.Set(power, s.slot, cmd); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range tc.relinquish {
				if _, ok := tab.Relinquish(power, s); !ok {
					t.Fatalf("Relinquish(%s) found nothing", s)
				}
			}
			cmd, slot, ok := tab.Effective(power, t0.Add(tc.at))
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v (got %+v at %s)", ok, tc.wantOK, cmd, slot)
			}
			if !ok {
				return
			}
			if !drivers.Equal(cmd.Value, tc.want, 0) || slot != tc.wantSlot || cmd.Author != tc.wantAuthor {
				t.Errorf("Effective = %#v at %s by %q, want %#v at %s by %q",
					cmd.Value, slot, cmd.Author, tc.want, tc.wantSlot, tc.wantAuthor)
			}
		})
	}
}

func TestSetRejects(t *testing.T) {
	tests := []struct {
		name string
		slot priority.Slot
		cmd  priority.Command
		want error
	}{
		{name: "invalid slot", slot: 5, cmd: priority.Command{Value: drivers.Bool(true)}, want: priority.ErrInvalidSlot},
		{name: "no value", slot: priority.Manual, cmd: priority.Command{Author: "alice"}, want: priority.ErrNoValue},
		{name: "expires before set", slot: priority.Manual,
			cmd: priority.Command{Value: drivers.Bool(true), Set: t0, Expires: t0.Add(-time.Second)}, want: priority.ErrAlreadyEnded},
		{name: "expires at set", slot: priority.Manual,
			cmd: priority.Command{Value: drivers.Bool(true), Set: t0, Expires: t0}, want: priority.ErrAlreadyEnded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := priority.NewTable()
			if err := tab.Set(power, tc.slot, tc.cmd); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if _, _, ok := tab.Effective(power, t0); ok {
				t.Error("a rejected command took effect")
			}
		})
	}
}

func TestExpireReportsOnce(t *testing.T) {
	tab := priority.NewTable()
	var zero priority.Table // the zero value is usable too
	for _, tb := range []*priority.Table{tab, &zero} {
		must(t, tb.Set(power, priority.Schedule, priority.Command{Value: drivers.Bool(true), Author: "rule:night", Set: t0}))
		must(t, tb.Set(power, priority.Manual, priority.Command{Value: drivers.Bool(false), Author: "alice", Set: t0, Expires: t0.Add(time.Hour)}))
		must(t, tb.Set(power, priority.Emergency, priority.Command{Value: drivers.Bool(true), Author: "pa", Set: t0, Expires: t0.Add(2 * time.Hour)}))
		must(t, tb.Set(flag, priority.Safety, priority.Command{Value: drivers.String("lower"), Author: "wind", Set: t0, Expires: t0.Add(30 * time.Minute)}))

		if next, ok := tb.NextExpiry(power, t0); !ok || !next.Equal(t0.Add(time.Hour)) {
			t.Errorf("NextExpiry = %v, %v, want t0+1h", next, ok)
		}
		if got := tb.Expire(power, t0.Add(59*time.Minute)); len(got) != 0 {
			t.Errorf("Expire before expiry = %+v", got)
		}
		got := tb.Expire(power, t0.Add(time.Hour))
		if len(got) != 1 || got[0].Slot != priority.Manual || got[0].Command.Author != "alice" || got[0].Ref != power {
			t.Fatalf("Expire = %+v, want alice's manual override", got)
		}
		if again := tb.Expire(power, t0.Add(time.Hour)); len(again) != 0 {
			t.Errorf("second Expire = %+v, want nothing", again)
		}
		if next, ok := tb.NextExpiry(power, t0.Add(time.Hour)); !ok || !next.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("NextExpiry = %v, %v, want t0+2h", next, ok)
		}
		all := tb.ExpireAll(t0.Add(3 * time.Hour))
		if fmt.Sprint(describe(all)) != "[flag.command/safety sign.power/emergency]" {
			t.Errorf("ExpireAll = %v", describe(all))
		}
		if _, ok := tb.NextExpiry(power, t0.Add(3*time.Hour)); ok {
			t.Error("NextExpiry found one after all expired")
		}
		if refs := tb.Refs(); len(refs) != 2 || refs[0] != flag || refs[1] != power {
			t.Errorf("Refs = %v", refs)
		}
	}
}

func describe(es []priority.Expired) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Ref.String()+"/"+e.Slot.String())
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSlotsListing(t *testing.T) {
	tab := priority.NewTable()
	must(t, tab.Set(power, priority.Schedule, priority.Command{Value: drivers.Bool(true), Author: "rule:night", Set: t0}))
	must(t, tab.Set(power, priority.Manual, priority.Command{Value: drivers.Bool(false), Author: "alice", Set: t0, Expires: t0.Add(time.Hour)}))
	tests := []struct {
		name string
		at   time.Duration
		want string
	}{
		{name: "override active", at: time.Minute, want: "safety:- manual:false/alice emergency:- schedule:true/rule:night default:-"},
		{name: "override expired shows empty", at: time.Hour, want: "safety:- manual:- emergency:- schedule:true/rule:night default:-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			for i, s := range tab.Slots(power, t0.Add(tc.at)) {
				if i > 0 {
					got += " "
				}
				if s.Empty {
					got += s.Slot.String() + ":-"
				} else {
					got += s.Slot.String() + ":" + s.Command.Value.String() + "/" + s.Command.Author
				}
			}
			if got != tc.want {
				t.Errorf("Slots =\n %s\nwant\n %s", got, tc.want)
			}
		})
	}
	if n := len(tab.Slots(flag, t0)); n != priority.NumSlots {
		t.Errorf("unknown point lists %d slots, want %d", n, priority.NumSlots)
	}
	if _, ok := tab.Relinquish(flag, priority.Manual); ok {
		t.Error("Relinquish on an unknown point found something")
	}
	if c, ok := tab.Relinquish(power, priority.Manual); !ok || c.Author != "alice" {
		t.Errorf("Relinquish = %+v, %v", c, ok)
	}
}

func TestConcurrentUse(t *testing.T) {
	tab := priority.NewTable()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot := priority.Slot(w % priority.NumSlots)
			for i := range 200 {
				now := t0.Add(time.Duration(i) * time.Second)
				_ = tab.Set(power, slot, priority.Command{Value: drivers.Number(float64(i)), Set: now, Expires: now.Add(time.Second)})
				tab.Effective(power, now)
				tab.Slots(power, now)
				tab.Expire(power, now)
				tab.NextExpiry(power, now)
				if i%20 == 0 {
					tab.Relinquish(power, slot)
					tab.ExpireAll(now)
				}
			}
		}()
	}
	wg.Wait()
}
