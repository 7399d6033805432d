package county

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Kinds of alert.
const (
	AlertSignDark       = "sign_dark"       // a sign dark inside its required window for more than DarkAfter
	AlertGatewayOffline = "gateway_offline" // no heartbeat for more than OfflineAfter
)

// Events in an alert's life.
const (
	EventStart  = "start"
	EventRepeat = "repeat"
	EventClear  = "clear"
)

// AlertRules configure an Alerter.
type AlertRules struct {
	DarkAfter    time.Duration // N (default 15 min)
	OfflineAfter time.Duration // M (default 10 min)
	Repeat       time.Duration // how often an active alert is sent again (default 1 h)
	Webhook      string        // POST events here (optional)
	Client       *http.Client  // for the webhook (default: 10 s timeout)
}

// Alert is one active condition.
type Alert struct {
	Key      string    `json:"key"` // kind/center[/sign]: stable while the condition lasts
	Kind     string    `json:"kind"`
	County   string    `json:"county"`
	Center   string    `json:"center"`
	Sign     string    `json:"sign,omitempty"`
	Since    time.Time `json:"since"`   // when the condition began (dark since, last heartbeat)
	Started  time.Time `json:"started"` // when this service raised it
	LastSent time.Time `json:"last_sent"`
	Repeats  int       `json:"repeats"`
	Message  string    `json:"message"`
}

// Event is an alert starting, repeating or clearing; the webhook gets a
// JSON array of them.
type Event struct {
	Event string    `json:"event"`
	Time  time.Time `json:"time"`
	Alert Alert     `json:"alert"`
}

// Alerter turns the county's status into alerts. Its state (which alerts
// are active, when each was last sent) lives in memory only: see
// docs/COUNTY.md for what a restart does.
type Alerter struct {
	svc   *Service
	rules AlertRules

	mu      sync.Mutex
	active  map[string]*Alert
	last    time.Time // last evaluation
	lastErr string
}

// NewAlerter returns an Alerter over svc's status.
func NewAlerter(svc *Service, rules AlertRules) *Alerter {
	if rules.DarkAfter <= 0 {
		rules.DarkAfter = 15 * time.Minute
	}
	if rules.OfflineAfter <= 0 {
		rules.OfflineAfter = 10 * time.Minute
	}
	if rules.Repeat <= 0 {
		rules.Repeat = time.Hour
	}
	if rules.Client == nil {
		rules.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Alerter{svc: svc, rules: rules, active: map[string]*Alert{}}
}

// conditions lists the alerts the status calls for now.
func (a *Alerter) conditions(st *Status) map[string]Alert {
	out := map[string]Alert{}
	county := a.svc.cfg.County
	for _, c := range st.Centers {
		if !c.LastHeartbeat.IsZero() && st.Now.Sub(c.LastHeartbeat) > a.rules.OfflineAfter {
			k := AlertGatewayOffline + "/" + c.Center
			out[k] = Alert{Key: k, Kind: AlertGatewayOffline, County: county, Center: c.Center, Since: c.LastHeartbeat,
				Message: fmt.Sprintf("gateway of %s offline since %s", c.Center, c.LastHeartbeat.UTC().Format(time.RFC3339))}
		}
		for _, s := range c.Signs {
			if s.State != StateDark || s.Since.IsZero() || st.Now.Sub(s.Since) <= a.rules.DarkAfter {
				continue
			}
			k := AlertSignDark + "/" + c.Center + "/" + s.Device
			out[k] = Alert{Key: k, Kind: AlertSignDark, County: county, Center: c.Center, Sign: s.Device, Since: s.Since,
				Message: fmt.Sprintf("sign %s of %s dark inside its required window since %s", s.Device, c.Center, s.Since.UTC().Format(time.RFC3339))}
		}
	}
	return out
}

// Evaluate compares the status with the active alerts and returns the
// events: start for a new condition, repeat for one last sent Repeat ago
// or more, clear (once) for one that ended.
func (a *Alerter) Evaluate(st *Status) []Event {
	now := st.Now
	conds := a.conditions(st)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last = now
	var evs []Event
	for k, c := range conds {
		cur := a.active[k]
		switch {
		case cur == nil:
			c.Started, c.LastSent = now, now
			a.active[k] = &c
			evs = append(evs, Event{EventStart, now, c})
		case now.Sub(cur.LastSent) >= a.rules.Repeat:
			cur.LastSent = now
			cur.Repeats++
			cur.Since, cur.Message = c.Since, c.Message
			evs = append(evs, Event{EventRepeat, now, *cur})
		}
	}
	for k, cur := range a.active {
		if _, ok := conds[k]; !ok {
			delete(a.active, k)
			evs = append(evs, Event{EventClear, now, *cur})
		}
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].Alert.Key < evs[j].Alert.Key })
	return evs
}

// Active returns the active alerts, by key, and when they were last
// evaluated.
func (a *Alerter) Active() ([]Alert, time.Time, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Alert, 0, len(a.active))
	for _, al := range a.active {
		out = append(out, *al)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, a.last, a.lastErr
}

// Check reads the status, evaluates and sends the events to the webhook.
func (a *Alerter) Check(ctx context.Context) ([]Event, error) {
	st, err := a.svc.Status(ctx, 1)
	if err != nil {
		a.mu.Lock()
		a.lastErr = err.Error()
		a.mu.Unlock()
		return nil, fmt.Errorf("alerts: %w", err)
	}
	evs := a.Evaluate(st)
	a.mu.Lock()
	a.lastErr = ""
	a.mu.Unlock()
	if len(evs) > 0 && a.rules.Webhook != "" {
		if err := a.post(ctx, evs); err != nil {
			return evs, err
		}
	}
	return evs, nil
}

func (a *Alerter) post(ctx context.Context, evs []Event) error {
	body, err := json.Marshal(evs)
	if err != nil {
		return fmt.Errorf("alert webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.rules.Webhook, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alert webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.rules.Client.Do(req)
	if err != nil {
		return fmt.Errorf("alert webhook: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("alert webhook: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Run checks every interval on the service's clock until ctx ends; a
// failed check or webhook is logged and retried at the next interval.
func (a *Alerter) Run(ctx context.Context, every time.Duration) error {
	clk := a.svc.cfg.Clock
	for {
		evs, err := a.Check(ctx)
		if err != nil && ctx.Err() == nil {
			a.svc.log.Warn("alert check failed", "err", err)
		}
		for _, e := range evs {
			a.svc.log.Info("alert", "event", e.Event, "kind", e.Alert.Kind, "center", e.Alert.Center, "sign", e.Alert.Sign, "since", e.Alert.Since)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-clk.After(every):
		}
	}
}
