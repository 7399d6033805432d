package rules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/clock"
)

func mustCron(t testing.TB, s string) *CronSpec {
	t.Helper()
	c, err := ParseCronSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newsJob(t testing.TB, spec string, grace time.Duration) Job {
	return Job{Name: "news", Cron: mustCron(t, spec), Grace: grace, Broadcast: &Broadcast{Device: "pa", Clip: "news"}}
}

// TestJobInstantsDST: a job in the skipped hour runs once at the change; a
// job in the repeated hour runs once, at its first occurrence.
func TestJobInstantsDST(t *testing.T) {
	ny, berlin := mustZone(t, "America/New_York"), mustZone(t, "Europe/Berlin")
	tests := []struct {
		name   string
		loc    *time.Location
		spec   string
		from   time.Time // exclusive, covers one local day
		wantAt []string  // RFC 3339 UTC
	}{
		{"NY 02:30 on spring-forward day runs at 03:00 EDT", ny, "30 2 * * *", time.Date(2026, 3, 8, 0, 0, 0, 0, ny),
			[]string{"2026-03-08T07:00:00Z"}},
		{"NY every 15 min in the skipped hour collapses to one run", ny, "*/15 2 * * *", time.Date(2026, 3, 8, 0, 0, 0, 0, ny),
			[]string{"2026-03-08T07:00:00Z"}},
		{"NY 01:30 on fall-back day runs once (EDT)", ny, "30 1 * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, ny),
			[]string{"2026-11-01T05:30:00Z"}},
		{"Berlin 02:30 on spring-forward day runs at 03:00 CEST", berlin, "30 2 * * *", time.Date(2026, 3, 29, 0, 0, 0, 0, berlin),
			[]string{"2026-03-29T01:00:00Z"}},
		{"Berlin 02:30 on fall-back day runs once (CEST)", berlin, "30 2 * * *", time.Date(2026, 10, 25, 0, 0, 0, 0, berlin),
			[]string{"2026-10-25T00:30:00Z"}},
		{"Berlin hourly on fall-back day: 24 runs, not 25", berlin, "0 * * * *", time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), nil},
		{"weekdays only: Saturday none", time.UTC, "30 7 * * 1-5", time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Center{Location: tt.loc}
			from := tt.from.Add(-time.Nanosecond)
			to := DateOf(tt.from).AddDays(1).Midnight(tt.loc).Add(-time.Nanosecond)
			occ := Occurrences([]Job{newsJob(t, tt.spec, time.Minute)}, c, Calendar{}, from, to)
			if tt.wantAt == nil { // hourly
				if len(occ) != 24 {
					t.Fatalf("%d runs, want 24: %v", len(occ), occ)
				}
				return
			}
			var got []string
			for _, o := range occ {
				got = append(got, o.At.UTC().Format(time.RFC3339))
			}
			if strings.Join(got, " ") != strings.Join(tt.wantAt, " ") {
				t.Errorf("instants %v, want %v", got, tt.wantAt)
			}
		})
	}
}

func TestJobAtSunEventInPolarNight(t *testing.T) {
	c := Center{mustZone(t, "Arctic/Longyearbyen"), 78.22, 15.65}
	at := mustExpr(t, "sunrise")
	j := Job{Name: "flag-up", At: &at, Flag: &FlagAction{"flag", FlagRaised}}
	d := Date{2026, 12, 15}
	occ, why := j.instantsOn(d, c, Calendar{}, SunTimes(c, d))
	if len(occ) != 0 || why != "no sunrise: none (sun always below)" {
		t.Errorf("polar night: %v %q, want no instant and a stated reason", occ, why)
	}
}

// runnerAt builds a runner on the job state in dir, as a (re)started gateway would.
func runnerAt(t *testing.T, dir string, jobs []Job) *JobRunner {
	t.Helper()
	r, err := NewJobRunner(context.Background(), jobs, Center{Location: time.UTC}, Calendar{}, FileStore{Path: filepath.Join(dir, "jobs.json")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type tick struct {
	at      string // 15:04:05 on 2026-12-01 (a Tuesday), UTC
	restart bool   // build a fresh runner from disk before this tick
	trusted bool
	want    string // decisions "job@15:04 outcome", space separated
}

func TestJobRunnerRestartsAndCatchUp(t *testing.T) {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		grace time.Duration
		ticks []tick
	}{
		{"runs once on time", 5 * time.Minute, []tick{
			{at: "07:29:00", trusted: true, want: ""},
			{at: "07:30:00", trusted: true, want: "news@07:30 run"},
			{at: "07:30:30", trusted: true, want: ""},
		}},
		{"restart after the run never runs it twice", 5 * time.Minute, []tick{
			{at: "07:30:05", trusted: true, want: "news@07:30 run"},
			{at: "07:31:00", restart: true, trusted: true, want: ""},
			{at: "07:34:00", restart: true, trusted: true, want: ""},
		}},
		{"down over the instant, back within grace: late run", 5 * time.Minute, []tick{
			{at: "07:00:00", trusted: true, want: ""},
			{at: "07:34:59", restart: true, trusted: true, want: "news@07:30 run"},
		}},
		{"down past grace: missed, then next day runs", 5 * time.Minute, []tick{
			{at: "07:00:00", trusted: true, want: ""},
			{at: "07:36:00", restart: true, trusted: true, want: "news@07:30 missed"},
			{at: "07:40:00", restart: true, trusted: true, want: ""},
		}},
		{"untrusted clock fires nothing, then missed once trusted", 5 * time.Minute, []tick{
			{at: "07:00:00", trusted: true, want: ""},
			{at: "07:30:00", trusted: false, want: ""},
			{at: "07:45:00", trusted: true, want: "news@07:30 missed"},
		}},
		{"untrusted through the instant, trusted within grace: runs", 5 * time.Minute, []tick{
			{at: "07:00:00", trusted: true, want: ""},
			{at: "07:31:00", trusted: false, want: ""},
			{at: "07:32:00", trusted: true, want: "news@07:30 run"},
		}},
		{"fresh install just after the instant within grace runs", 5 * time.Minute, []tick{
			{at: "07:32:00", trusted: true, want: "news@07:30 run"},
		}},
		{"fresh install long after the instant records nothing", 5 * time.Minute, []tick{
			{at: "09:00:00", trusted: true, want: ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			jobs := []Job{newsJob(t, "30 7 * * 1-5", tt.grace)}
			r := runnerAt(t, dir, jobs)
			fake := clock.NewFake(day)
			for _, tk := range tt.ticks {
				at, _ := time.Parse("15:04:05", tk.at)
				fake.Set(day.Add(time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute + time.Duration(at.Second())*time.Second))
				if tk.restart {
					r = runnerAt(t, dir, jobs)
				}
				ds, err := r.Due(context.Background(), fake.Now(), tk.trusted)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, d := range ds {
					got = append(got, d.Job+"@"+d.Scheduled.Format("15:04")+" "+d.Outcome.String())
				}
				if g := strings.Join(got, " "); g != tk.want {
					t.Errorf("at %s: decisions %q, want %q", tk.at, g, tk.want)
				}
			}
		})
	}
}

// TestJobRunnerClockSetBack: the clock stepped back over a handled instant
// does not run it again.
func TestJobRunnerClockSetBack(t *testing.T) {
	dir := t.TempDir()
	jobs := []Job{newsJob(t, "30 7 * * *", 5*time.Minute)}
	r := runnerAt(t, dir, jobs)
	at := time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)
	if ds, _ := r.Due(context.Background(), at, true); len(ds) != 1 || ds[0].Outcome != OutcomeRun {
		t.Fatalf("first run: %v", ds)
	}
	r = runnerAt(t, dir, jobs)
	if ds, _ := r.Due(context.Background(), at.Add(-2*time.Minute), true); len(ds) != 0 {
		t.Errorf("clock set back 2 min: %v, want nothing", ds)
	}
	if ds, _ := r.Due(context.Background(), at.Add(time.Minute), true); len(ds) != 0 {
		t.Errorf("clock forward again past the instant: %v, want nothing", ds)
	}
}

func TestFileStoreAtomicAndErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := FileStore{Path: filepath.Join(dir, "jobs.json")}
	recs, err := st.Load(ctx)
	if err != nil || len(recs) != 0 {
		t.Fatalf("missing file: %v %v", recs, err)
	}
	want := map[string]JobRecord{"news": {Handled: time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)}}
	if err := st.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(ctx)
	if err != nil || !got["news"].Handled.Equal(want["news"].Handled) {
		t.Fatalf("round trip: %v %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d files, want only jobs.json (no temporaries left)", len(entries))
	}
	if err := os.WriteFile(st.Path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx); err == nil || !strings.Contains(err.Error(), "decode job state") {
		t.Errorf("corrupt file: %v", err)
	}
	bad := FileStore{Path: filepath.Join(dir, "missing", "jobs.json")}
	if err := bad.Save(ctx, want); err == nil || !strings.Contains(err.Error(), "save job state") {
		t.Errorf("missing folder: %v", err)
	}
	r, _ := NewJobRunner(ctx, []Job{newsJob(t, "30 7 * * *", time.Hour)}, Center{}, Calendar{}, bad)
	if ds, err := r.Due(ctx, time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC), true); err == nil || len(ds) != 0 {
		t.Errorf("unsaveable state must run nothing: %v %v", ds, err)
	}
}

func TestParseCronSpecRejectsEvery(t *testing.T) {
	if _, err := ParseCronSpec("@every 5m"); err == nil {
		t.Error("@every accepted")
	}
}
