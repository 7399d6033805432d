package telemetry

import (
	"testing"
	"time"
)

func TestSimulatedPointsAreTagged(t *testing.T) {
	p := Point{Measurement: "sign", Source: Source{County: "xinhui", Center: "dongshan", Device: "sign", Simulated: true},
		Fields: []Field{{"lit", true}}, Time: time.Unix(0, 1)}
	line, err := p.Line()
	if err != nil {
		t.Fatal(err)
	}
	if want := "sign,center=dongshan,county=xinhui,device=sign,simulated=true lit=true 1"; line != want {
		t.Errorf("line = %q, want %q", line, want)
	}
}
