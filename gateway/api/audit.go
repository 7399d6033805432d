package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/internal/fsutil"
)

// AuditEntry is one line of the audit log: who did what, to what, the
// value before and after, when, and how it ended.
type AuditEntry struct {
	Time   time.Time `json:"time"`
	User   string    `json:"user"`           // token name, or a rule ("rule:NAME") for device writes
	Role   string    `json:"role,omitempty"` // empty for device writes
	Action string    `json:"action"`         // see the Action constants
	Target string    `json:"target"`         // device.point, a device, or "schedules"
	Before string    `json:"before,omitempty"`
	After  string    `json:"after,omitempty"`
	Result string    `json:"result"` // "ok", or what failed
}

// Audit actions.
const (
	ActionOverride       = "override"       // a manager's value with an expiry, Manual slot
	ActionOverrideClear  = "override-clear" // the Manual slot emptied
	ActionPointWrite     = "point-write"    // an installer's raw write, Manual slot
	ActionSchedules      = "schedules"      // schedules edited and applied
	ActionBroadcast      = "broadcast"      // an ad-hoc broadcast queued
	ActionEmergency      = "emergency"      // an emergency broadcast queued
	ActionBroadcastStop  = "broadcast-stop" // the broadcast playing stopped
	ActionDeviceWrite    = "device-write"   // the reconciler wrote a device (any author)
	maxAuditMemory       = 1000             // entries kept in memory for the page
	defaultAuditMaxBytes = 4 << 20          // the file is cut to half when it grows past this
)

// AuditLog keeps the audit log: in memory for the page, and appended to a
// JSON-lines file that is cut to its newer half when it outgrows its bound
// (rewritten atomically). Safe for concurrent use.
type AuditLog struct {
	path     string // "" : memory only
	maxBytes int64

	mu      sync.Mutex
	entries []AuditEntry
	size    int64
}

// OpenAuditLog opens (or starts) the audit log file at path, keeping the
// newest entries in memory; maxBytes ≤ 0 means 4 MiB. path "" keeps the log
// in memory only.
func OpenAuditLog(path string, maxBytes int64) (*AuditLog, error) {
	if maxBytes <= 0 {
		maxBytes = defaultAuditMaxBytes
	}
	a := &AuditLog{path: path, maxBytes: maxBytes}
	if path == "" {
		return a, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return a, nil
	case err != nil:
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	a.size = int64(len(data))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e AuditEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			a.entries = append(a.entries, e)
		}
	}
	if len(a.entries) > maxAuditMemory {
		a.entries = a.entries[len(a.entries)-maxAuditMemory:]
	}
	return a, nil
}

// Append records e.
func (a *AuditLog) Append(e AuditEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	line = append(line, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	if len(a.entries) > maxAuditMemory {
		a.entries = a.entries[len(a.entries)-maxAuditMemory:]
	}
	if a.path == "" {
		return nil
	}
	if a.size+int64(len(line)) > a.maxBytes {
		return a.compactLocked(line)
	}
	f, err := os.OpenFile(a.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	a.size += int64(len(line))
	return nil
}

// compactLocked rewrites the file with its newer half and line.
func (a *AuditLog) compactLocked(line []byte) error {
	data, err := os.ReadFile(a.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("audit: %w", err)
	}
	if cut := len(data) / 2; cut > 0 {
		if i := bytes.IndexByte(data[cut:], '\n'); i >= 0 {
			data = data[cut+i+1:]
		} else {
			data = nil
		}
	}
	data = append(data, line...)
	if err := fsutil.WriteFileAtomic(a.path, data, 0o600); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	a.size = int64(len(data))
	return nil
}

// Recent returns up to n entries, newest first.
func (a *AuditLog) Recent(n int) []AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n <= 0 || n > len(a.entries) {
		n = len(a.entries)
	}
	out := make([]AuditEntry, 0, n)
	for i := len(a.entries) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, a.entries[i])
	}
	return out
}

// Since returns the entries at or after t, oldest first.
func (a *AuditLog) Since(t time.Time) []AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []AuditEntry
	for _, e := range a.entries {
		if !e.Time.Before(t) {
			out = append(out, e)
		}
	}
	return out
}
