package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFaultControl(t *testing.T) {
	c, _, _, _ := startDemo(t)
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	call := func(method, path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp.StatusCode, body
	}
	tests := []struct {
		name, method, path string
		status             int
		want               string // a substring of the JSON body
	}{
		{"no faults at first", "GET", "/faults", 200, `{}`},
		{"inject partly dark", "POST", "/faults?device=sign&fault=partly-dark", 200, `"sign":["partly-dark"]`},
		{"and a motor jam", "POST", "/faults?device=flag&fault=motor-jam&on=true", 200, `"flag":["motor-jam"]`},
		{"clear partly dark", "POST", "/faults?device=sign&fault=partly-dark&on=false", 200, `{"flag":["motor-jam"]}`},
		{"unknown fault", "POST", "/faults?device=sign&fault=melted", 400, `unknown fault \"melted\"`},
		{"unknown device", "POST", "/faults?device=moon&fault=offline", 400, `no simulated device \"moon\"`},
		{"bad on", "POST", "/faults?device=sign&fault=offline&on=maybe", 400, `on=\"maybe\" is not true or false`},
		{"a point's value", "GET", "/value?device=flag&point=position", 200, `"value":"0"`},
		{"an unknown point", "GET", "/value?device=flag&point=colour", 404, `device flag has no point \"colour\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(tt.method, tt.path)
			b, _ := json.Marshal(body)
			if status != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, status, b, tt.status, tt.want)
			}
		})
	}
}
