package county

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Each alert starts once, repeats every Repeat while it lasts, and clears
// once.
func TestAlertLifecycle(t *testing.T) {
	a := NewAlerter(&Service{cfg: Config{County: testCounty}}, AlertRules{DarkAfter: 15 * time.Minute, OfflineAfter: 10 * time.Minute, Repeat: time.Hour})
	t0 := time.Date(2026, 5, 5, 1, 0, 0, 0, time.UTC)
	dark := func(since time.Time) CenterStatus {
		return CenterStatus{Center: "c01", State: StateDark, LastHeartbeat: t0.Add(24 * time.Hour), Signs: []SignStatus{{Device: "sign", State: StateDark, Since: since}}}
	}
	offline := func(last time.Time) CenterStatus {
		return CenterStatus{Center: "c04", State: StateOffline, LastHeartbeat: last}
	}
	lit := CenterStatus{Center: "c01", State: StateLit, LastHeartbeat: t0.Add(24 * time.Hour), Signs: []SignStatus{{Device: "sign", State: StateLit}}}
	steps := []struct {
		name    string
		at      time.Duration
		centers []CenterStatus
		want    []string // event:key
	}{
		{"dark 10 min, offline 5 min: nothing yet", 0, []CenterStatus{dark(t0.Add(-10 * time.Minute)), offline(t0.Add(-5 * time.Minute))}, nil},
		{"dark 16 min: starts", 6 * time.Minute, []CenterStatus{dark(t0.Add(-10 * time.Minute)), offline(t0.Add(-5 * time.Minute))}, []string{"start:sign_dark/c01/sign", "start:gateway_offline/c04"}},
		{"still both, 30 min later: no repeat yet", 36 * time.Minute, []CenterStatus{dark(t0.Add(-10 * time.Minute)), offline(t0.Add(-5 * time.Minute))}, nil},
		{"an hour after start: repeats", 66 * time.Minute, []CenterStatus{dark(t0.Add(-10 * time.Minute)), offline(t0.Add(-5 * time.Minute))}, []string{"repeat:sign_dark/c01/sign", "repeat:gateway_offline/c04"}},
		{"sign lit again: clears once", 70 * time.Minute, []CenterStatus{lit, offline(t0.Add(-5 * time.Minute))}, []string{"clear:sign_dark/c01/sign"}},
		{"still lit: no second clear", 80 * time.Minute, []CenterStatus{lit, offline(t0.Add(-5 * time.Minute))}, nil},
		{"gateway back: clears", 90 * time.Minute, []CenterStatus{lit, offline(t0.Add(90 * time.Minute))}, []string{"clear:gateway_offline/c04"}},
		{"dark again: a new alert starts", 120 * time.Minute, []CenterStatus{dark(t0.Add(100 * time.Minute)), offline(t0.Add(120 * time.Minute))}, []string{"start:sign_dark/c01/sign"}},
	}
	for _, st := range steps {
		evs := a.Evaluate(&Status{Now: t0.Add(st.at), Centers: st.centers})
		var got []string
		for _, e := range evs {
			got = append(got, e.Event+":"+e.Alert.Key)
		}
		// Evaluate sorts by key: gateway_offline before sign_dark.
		want := map[string]bool{}
		for _, w := range st.want {
			want[w] = true
		}
		ok := len(got) == len(want)
		for _, g := range got {
			ok = ok && want[g]
		}
		if !ok {
			t.Errorf("%s: events %v, want %v", st.name, got, st.want)
		}
	}
	active, _, _ := a.Active()
	if len(active) != 1 || active[0].Key != "sign_dark/c01/sign" || active[0].Repeats != 0 {
		t.Errorf("active = %+v, want the new sign_dark alert", active)
	}
}

// Over the seeded county at 02:00 of night 4 the webhook gets the two dark
// signs and the two offline gateways, once, and /api/alerts lists them.
func TestAlertsWebhookAndEndpoint(t *testing.T) {
	target, _ := seededCounty(t)
	s := newTestService(t, target)
	posts := make(chan []Event, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var evs []Event
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &evs); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook body %s: %v", body, err)
		}
		posts <- evs
	}))
	defer hook.Close()
	a := NewAlerter(s, AlertRules{DarkAfter: 30 * time.Minute, OfflineAfter: 60 * time.Minute, Repeat: time.Hour, Webhook: hook.URL})
	if _, err := a.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs := <-posts
	want := map[string]time.Time{
		"gateway_offline/c04": at(2, 16, 59), "gateway_offline/c06": at(4, 0, 29),
		"sign_dark/c01/sign": at(4, 0, 59), "sign_dark/c02/sign": at(4, 21, 59),
	}
	if len(evs) != len(want) {
		t.Fatalf("webhook got %d events, want %d: %+v", len(evs), len(want), evs)
	}
	for _, e := range evs {
		since, ok := want[e.Alert.Key]
		if !ok || e.Event != EventStart || !e.Alert.Since.Equal(since) || e.Alert.County != testCounty {
			t.Errorf("event %s %s since %v; want start since %v", e.Event, e.Alert.Key, e.Alert.Since, since)
		}
	}
	// A second check at the same time sends nothing.
	if evs, err := a.Check(t.Context()); err != nil || len(evs) != 0 {
		t.Errorf("second check: %d events, %v", len(evs), err)
	}
	srv := httptest.NewServer(NewDashboard(s, DashboardOptions{Alerts: a}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply alertsReply
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		t.Fatal(err)
	}
	if len(reply.Alerts) != 4 || reply.Alerts[0].Key != "gateway_offline/c04" || !reply.Evaluated.Equal(simNow) {
		t.Errorf("/api/alerts = %+v", reply)
	}
}
