package kinds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/drivers"
	"github.com/beacon-edge/beacon/gateway/config"
	"github.com/beacon-edge/beacon/gateway/priority"
	"github.com/beacon-edge/beacon/internal/clock"
)

// Broadcast is one announcement to play.
type Broadcast struct {
	Clip      string // a clip of the PA's config, or
	Text      string // text spoken by espeak-ng through the local player
	Zones     []int  // empty: every zone of the PA
	Volume    int    // 0–100
	Emergency bool
	Source    string // the rule or user that asked for it
}

// What names the broadcast for logs and records.
func (b Broadcast) What() string {
	if b.Clip != "" {
		return "clip " + b.Clip
	}
	t := b.Text
	if len([]rune(t)) > 40 {
		t = string([]rune(t)[:40]) + "…"
	}
	return fmt.Sprintf("text %q", t)
}

// BroadcastResult is how a broadcast ended.
type BroadcastResult string

// The broadcast results.
const (
	Played      BroadcastResult = "played"
	Interrupted BroadcastResult = "interrupted" // pre-empted or stopped
	Failed      BroadcastResult = "failed"
)

// BroadcastRecord is the account of one broadcast (DESIGN.md: what, when,
// how long, outcome).
type BroadcastRecord struct {
	Broadcast
	Device string
	Start  time.Time
	End    time.Time
	Result BroadcastResult
	Reason string // why it failed or was interrupted
}

// Duration is how long the broadcast held the PA.
func (r BroadcastRecord) Duration() time.Duration { return r.End.Sub(r.Start) }

// Timing of a broadcast's steps.
const (
	paConfirmTimeout = 5 * time.Second  // a relay or register must read back within this
	paPlayingTimeout = 5 * time.Second  // the device must report playing within this
	paClipMargin     = 10 * time.Second // beyond a clip's length before giving up
)

// PA plays broadcasts on one loudspeaker system: amplifier power on,
// warm-up, zones, volume, play, wait for the end, zones and power off.
// Play is called by one goroutine at a time (the broadcast queue); an
// emergency pre-empts by cancelling the running broadcast's context.
type PA struct {
	dev      *config.Device
	points   Points
	commands Commands
	clk      clock.Clock
	log      *slog.Logger
	// CheckEvery is how often progress is checked (default 200ms).
	CheckEvery time.Duration
	// Speak turns text into a WAV file for the local player; nil means
	// espeak-ng when it is installed.
	Speak func(ctx context.Context, text, wavPath string) error

	mu      sync.Mutex
	current *BroadcastRecord
}

// NewPA returns the player of a PA device.
func NewPA(dev *config.Device, pts Points, cmds Commands, clk clock.Clock, logger *slog.Logger) *PA {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &PA{dev: dev, points: pts, commands: cmds, clk: clk, log: logger.With("device", dev.Name), CheckEvery: 200 * time.Millisecond}
}

// Device returns the PA's device name.
func (p *PA) Device() string { return p.dev.Name }

// Playing returns the broadcast in progress, if any.
func (p *PA) Playing() (BroadcastRecord, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current == nil {
		return BroadcastRecord{}, false
	}
	return *p.current, true
}

func (p *PA) ref(point string) drivers.PointRef {
	return drivers.PointRef{Device: p.dev.Name, Point: point}
}

func (p *PA) has(point string) bool { return p.dev.Point(point) != nil }

// Play runs one broadcast to its end and returns its record. When ctx ends
// first, the broadcast is stopped and recorded as interrupted, with
// context.Cause(ctx) as the reason.
func (p *PA) Play(ctx context.Context, b Broadcast) BroadcastRecord {
	rec := BroadcastRecord{Broadcast: b, Device: p.dev.Name, Start: p.clk.Now()}
	if len(rec.Zones) == 0 {
		rec.Zones = p.dev.PA.Zones
	}
	p.mu.Lock()
	p.current = &rec
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.current = nil
		p.mu.Unlock()
	}()
	slot := priority.Schedule
	if b.Emergency {
		slot = priority.Emergency
	}
	author := "broadcast:" + b.Source
	p.log.Info("broadcast starting", "what", rec.What(), "zones", rec.Zones, "volume", b.Volume, "emergency", b.Emergency, "source", b.Source)
	err := p.play(ctx, &rec, slot, author)
	// Whatever happened, silence the PA: clip stopped, zones and power
	// released to their safe values. A cancelled ctx must not stop that.
	p.finish(slot, author)
	rec.End = p.clk.Now()
	switch {
	case err == nil:
		rec.Result = Played
	case ctx.Err() != nil:
		rec.Result, rec.Reason = Interrupted, context.Cause(ctx).Error()
	default:
		rec.Result, rec.Reason = Failed, err.Error()
	}
	p.log.Info("broadcast ended", "what", rec.What(), "result", rec.Result, "reason", rec.Reason, "took", rec.Duration().Round(time.Millisecond))
	return rec
}

func (p *PA) play(ctx context.Context, rec *BroadcastRecord, slot priority.Slot, author string) error {
	var clip *config.Clip
	if rec.Clip != "" {
		if clip = p.dev.PA.Clip(rec.Clip); clip == nil {
			return fmt.Errorf("%s has no clip %q", p.dev.Name, rec.Clip)
		}
	}
	local := p.dev.PA.Player != "" && (clip == nil || clip.File != "")
	if clip == nil && !local {
		return fmt.Errorf("%s cannot speak text: it needs a local player (pa.player)", p.dev.Name)
	}
	if clip != nil && !local && (clip.ID == 0 || !p.has("clip")) {
		return fmt.Errorf("%s cannot play clip %q: it has no clip id or no \"clip\" point", p.dev.Name, clip.Name)
	}
	if p.has("power") {
		if err := p.set(ctx, "power", slot, drivers.Bool(true), author); err != nil {
			return fmt.Errorf("amplifier power on: %w", err)
		}
		if err := p.wait(ctx, p.dev.PA.WarmUp); err != nil {
			return err
		}
	}
	for i := 1; p.has(fmt.Sprintf("zone%d", i)); i++ {
		on := false
		for _, z := range rec.Zones {
			on = on || z == i
		}
		if err := p.set(ctx, fmt.Sprintf("zone%d", i), slot, drivers.Bool(on), author); err != nil {
			return fmt.Errorf("zone %d: %w", i, err)
		}
	}
	if p.has("volume") {
		if err := p.set(ctx, "volume", slot, drivers.Number(float64(rec.Volume)), author); err != nil {
			return fmt.Errorf("volume: %w", err)
		}
	}
	if local {
		return p.playLocal(ctx, rec, clip)
	}
	return p.playOnDevice(ctx, clip, slot, author)
}

// playOnDevice starts the clip by its id and waits for the device's
// "playing" to rise and fall (or for the clip's length, without one).
func (p *PA) playOnDevice(ctx context.Context, clip *config.Clip, slot priority.Slot, author string) error {
	if err := p.set(ctx, "clip", slot, drivers.Number(float64(clip.ID)), author); err != nil {
		return fmt.Errorf("start clip %q: %w", clip.Name, err)
	}
	if !p.has("playing") {
		return p.wait(ctx, clip.Length)
	}
	playing := func() bool { v, ok := goodBool(p.points.Get(p.ref("playing"))); return ok && v }
	if err := p.until(ctx, paPlayingTimeout, playing); err != nil {
		return fmt.Errorf("clip %q: the PA did not start playing: %w", clip.Name, err)
	}
	limit := clip.Length + paClipMargin
	if p.dev.PA.MaxClip > 0 && p.dev.PA.MaxClip < limit {
		limit = p.dev.PA.MaxClip
	}
	if err := p.until(ctx, limit, func() bool { return !playing() }); err != nil {
		return fmt.Errorf("clip %q: still playing after %v: %w", clip.Name, limit, err)
	}
	return nil
}

// playLocal plays a clip file or spoken text with the site's player
// command, e.g. "aplay -D hw:1"; the file is its last argument.
func (p *PA) playLocal(ctx context.Context, rec *BroadcastRecord, clip *config.Clip) error {
	file := ""
	if clip != nil {
		file = clip.File
	} else {
		dir, err := os.MkdirTemp("", "beacon-tts-")
		if err != nil {
			return fmt.Errorf("speak text: %w", err)
		}
		defer os.RemoveAll(dir)
		file = filepath.Join(dir, "speech.wav")
		speak := p.Speak
		if speak == nil {
			speak = espeak
		}
		if err := speak(ctx, rec.Text, file); err != nil {
			return fmt.Errorf("speak text: %w", err)
		}
	}
	args := strings.Fields(p.dev.PA.Player)
	cmd := exec.CommandContext(ctx, args[0], append(args[1:], file)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("player %q: %w: %s", p.dev.PA.Player, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ErrNoSpeech is returned when text must be spoken and espeak-ng is not
// installed.
var ErrNoSpeech = errors.New("espeak-ng is not installed")

func espeak(ctx context.Context, text, wav string) error {
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		return ErrNoSpeech
	}
	voice := "en"
	for _, r := range text {
		if r >= 0x4e00 && r <= 0x9fff {
			voice = "cmn" // Mandarin for Chinese text
			break
		}
	}
	out, err := exec.CommandContext(ctx, bin, "-v", voice, "-w", wav, text).CombinedOutput()
	if err != nil {
		return fmt.Errorf("espeak-ng: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// finish stops the clip, opens the zone relays and hands power and volume
// back to their defaults (the amplifier's safe value: off).
func (p *PA) finish(slot priority.Slot, author string) {
	if p.has("clip") {
		if err := p.commands.Command(p.ref("clip"), slot, drivers.Number(0), author); err != nil {
			p.log.Error("stop clip", "err", err)
		}
	}
	for _, pt := range p.dev.Points {
		switch {
		case strings.HasPrefix(pt.Name, "zone") && pt.Writable():
			// Zone relays open again: the next announcement, whatever
			// starts it, chooses its own zones.
			if err := p.commands.Command(pt.Ref(), slot, drivers.Bool(false), author); err != nil {
				p.log.Error("open zone relay", "point", pt.Name, "err", err)
			}
		case pt.Writable() && pt.Name != "clip":
			p.commands.Release(pt.Ref(), slot)
		}
	}
}

// set commands a point and waits until the device reads it back.
func (p *PA) set(ctx context.Context, point string, slot priority.Slot, v drivers.Value, author string) error {
	ref := p.ref(point)
	if err := p.commands.Command(ref, slot, v, author); err != nil {
		return err
	}
	return p.until(ctx, paConfirmTimeout, func() bool {
		pt, ok := p.points.Get(ref)
		return ok && drivers.Equal(pt.Value, v, 0.5)
	})
}

// errTimeout is wrapped when a condition did not come true in time.
var errTimeout = errors.New("timed out")

// until checks cond every CheckEvery until it holds, ctx ends or timeout
// passes.
func (p *PA) until(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := p.clk.Now().Add(timeout)
	for !cond() {
		if !p.clk.Now().Before(deadline) {
			return fmt.Errorf("%w after %v", errTimeout, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.clk.After(p.CheckEvery):
		}
	}
	return nil
}

func (p *PA) wait(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.clk.After(d):
		return nil
	}
}
