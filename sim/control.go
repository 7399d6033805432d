package sim

import (
	"encoding/json"
	"fmt"
	"net/http"

	"strconv"
)

// Handler is the simulator's local fault-injection control:
//
//	GET  /faults                              active faults, as JSON {device: [fault…]}
//	POST /faults?device=sign&fault=partly-dark&on=true
//	GET  /value?device=sign&point=current     a point's value, as the hardware has it
//
// It is meant for loopback only; it has no authentication.
func (c *Center) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, c.ActiveFaults())
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		on := true
		if s := q.Get("on"); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("on=%q is not true or false", s)})
				return
			}
			on = b
		}
		if err := c.SetFault(q.Get("device"), Fault(q.Get("fault")), on); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, c.ActiveFaults())
	})
	mux.HandleFunc("GET /value", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		v, err := c.Value(q.Get("device"), q.Get("point"))
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"device": q.Get("device"), "point": q.Get("point"), "value": v.String()})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
