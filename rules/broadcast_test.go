package rules

import (
	"strings"
	"testing"
	"time"
)

func TestPlanBroadcasts(t *testing.T) {
	c := Center{Location: time.UTC}
	quietHours := QuietHours{Start: mustExpr(t, "22:00"), End: mustExpr(t, "07:00")}
	quiet := func(t time.Time) bool { return quietHours.Contains(t, c, Calendar{}) }
	at := func(hhmm string) time.Time {
		tm, _ := time.Parse("15:04", hhmm)
		return time.Date(2026, 12, 1, tm.Hour(), tm.Minute(), 0, 0, time.UTC)
	}
	req := func(id, hhmm string, minutes int, emergency bool) BroadcastRequest {
		return BroadcastRequest{ID: id, At: at(hhmm), Emergency: emergency, Grace: 10 * time.Minute,
			Broadcast: Broadcast{Device: "pa", Clip: id, Length: time.Duration(minutes) * time.Minute}}
	}
	tests := []struct {
		name string
		reqs []BroadcastRequest
		want []string // "id status start-end"
	}{
		{"plays alone", []BroadcastRequest{req("news", "07:30", 3, false)},
			[]string{"news played 07:30-07:33"}},
		{"quiet hours refuse scheduled", []BroadcastRequest{req("late", "22:30", 3, false)},
			[]string{"late refused -"}},
		{"emergency allowed in quiet hours", []BroadcastRequest{req("fire", "23:00", 2, true)},
			[]string{"fire played 23:00-23:02"}},
		{"overlapping scheduled queue", []BroadcastRequest{req("a", "08:00", 5, false), req("b", "08:02", 3, false)},
			[]string{"a played 08:00-08:05", "b played 08:05-08:08"}},
		{"emergency pre-empts: interrupted", []BroadcastRequest{req("news", "08:00", 10, false), req("flood", "08:04", 2, true)},
			[]string{"news interrupted 08:00-08:04", "flood played 08:04-08:06"}},
		{"queued past grace is missed", []BroadcastRequest{req("long", "09:00", 30, false), req("short", "09:01", 1, false)},
			[]string{"long played 09:00-09:30", "short missed -"}},
		{"queued into quiet hours is refused", []BroadcastRequest{req("long", "21:50", 20, false), req("next", "21:55", 1, false)},
			[]string{"long played 21:50-22:10", "next refused -"}},
		{"emergency queues behind emergency, before scheduled", []BroadcastRequest{
			req("e1", "10:00", 2, true), req("s", "10:00", 1, false), req("e2", "10:01", 1, true)},
			[]string{"e1 played 10:00-10:02", "e2 played 10:02-10:03", "s played 10:03-10:04"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range PlanBroadcasts(tt.reqs, quiet) {
				span := "-"
				if !r.Start.IsZero() {
					span = r.Start.Format("15:04") + "-" + r.End.Format("15:04")
				}
				got = append(got, r.Request.ID+" "+r.Status.String()+" "+span)
			}
			if strings.Join(got, "; ") != strings.Join(tt.want, "; ") {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestBroadcastQueueFinishedEarly(t *testing.T) {
	q := NewBroadcastQueue(nil)
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	q.Submit(t0, BroadcastRequest{ID: "a", At: t0, Broadcast: Broadcast{Clip: "a", Length: 5 * time.Minute}})
	q.Submit(t0, BroadcastRequest{ID: "b", At: t0, Broadcast: Broadcast{Clip: "b", Length: 5 * time.Minute}})
	recs := q.Finished(t0.Add(time.Minute))
	if len(recs) != 1 || recs[0].Request.ID != "a" || !recs[0].End.Equal(t0.Add(time.Minute)) {
		t.Fatalf("finished: %+v", recs)
	}
	if r, start, ok := q.Playing(); !ok || r.ID != "b" || !start.Equal(t0.Add(time.Minute)) {
		t.Errorf("playing %v from %s, want b from 08:01", r.ID, start)
	}
}
