package api

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/beacon-edge/beacon/gateway/config"
)

// FuzzSchedulesDocument feeds arbitrary bodies of PUT /api/schedules
// through the path the API takes — strict JSON, the YAML it would save,
// validation against the center — which must answer with a config or an
// error, never panic or hang.
func FuzzSchedulesDocument(f *testing.F) {
	base, err := config.Load(filepath.Join("..", "..", "configs", "demo-center.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	demo, err := json.Marshal(SchedulesOf(base))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(demo), `{}`, `{"rules":null}`,
		`{"rules":[{"name":"x","at":"25:00","set":{"sign.power":true}}]}`,
		`{"rules":[{"name":"w","between":["sunset","sunrise"],"set":{"sign.power":"on"}}],"calendar":[{"date":"2026-02-30","tags":["x"]}]}`,
		`{"quiet_hours":{"between":["21:30"]}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var doc Schedules
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&doc) != nil {
			return
		}
		data, err := doc.YAML()
		if err != nil {
			return
		}
		next, err := base.WithSchedules(data)
		if err == nil && next == nil {
			t.Fatal("no config and no error")
		}
	})
}
