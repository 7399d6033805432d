package kinds

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/internal/clock"
	"github.com/beacon-edge/beacon/internal/testenv"
)

// TestTextBroadcastThroughTheLocalPlayer speaks a text with espeak-ng and
// plays it with the site's player command — here a script that keeps what
// it was given, standing in for aplay.
func TestTextBroadcastThroughTheLocalPlayer(t *testing.T) {
	testenv.LookPath(t, "espeak-ng")
	dir := t.TempDir()
	played := filepath.Join(dir, "played.wav")
	player := filepath.Join(dir, "player")
	script := "#!/bin/sh\ncp \"$1\" " + played + "\n"
	if err := os.WriteFile(player, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dev := &config.Device{Name: "pa", Kind: config.KindPA, PA: &config.PASettings{Player: player, Volume: 60}}
	b := newBoard()
	pa := NewPA(dev, b, b, clock.Real{}, nil)
	rec := pa.Play(context.Background(), Broadcast{Text: "明天上午九点在多功能厅开会。", Source: "manager"})
	if rec.Result != Played {
		t.Fatalf("broadcast %s: %s", rec.Result, rec.Reason)
	}
	wav, err := os.ReadFile(played)
	if err != nil {
		t.Fatalf("the player was not given the speech: %v", err)
	}
	// A WAV file of at least half a second of 22 kHz 16-bit speech.
	if !bytes.HasPrefix(wav, []byte("RIFF")) || !bytes.Contains(wav[:16], []byte("WAVE")) || len(wav) < 22050 {
		t.Fatalf("player got %d bytes starting %q, want spoken WAV audio", len(wav), wav[:min(len(wav), 16)])
	}
}

func TestBroadcastFailsClearly(t *testing.T) {
	b := newBoard()
	tests := []struct {
		name   string
		dev    *config.Device
		cast   Broadcast
		reason string
	}{
		{"text without a local player", &config.Device{Name: "pa", PA: &config.PASettings{}}, Broadcast{Text: "hello"},
			"cannot speak text: it needs a local player"},
		{"unknown clip", &config.Device{Name: "pa", PA: &config.PASettings{}}, Broadcast{Clip: "nope"},
			`pa has no clip "nope"`},
		{"player that fails", &config.Device{Name: "pa", PA: &config.PASettings{Player: "false",
			Clips: []config.Clip{{Name: "bell", File: "/dev/null", Length: time.Second}}}}, Broadcast{Clip: "bell"},
			`player "false": exit status 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := NewPA(tt.dev, b, b, clock.Real{}, nil).Play(context.Background(), tt.cast)
			if rec.Result != Failed || !strings.Contains(rec.Reason, tt.reason) {
				t.Errorf("result %s (%s), want failed with %q", rec.Result, rec.Reason, tt.reason)
			}
		})
	}
}
