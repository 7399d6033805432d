package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The schedules file: the facility manager's edits, kept beside the center
// file (or in the demo's state directory) so that the installer's file stays
// the single source of wiring. It may hold only the sections a manager
// edits — rules, calendar and quiet_hours — and each section it has
// replaces the center file's section of that name as a whole. Anything else
// (devices, connections, profiles) is an unknown key there, so a manager
// cannot change wiring. It is validated with the center exactly as if it
// were part of it, and diagnostics point into the schedules file.

// SchedulesFile is the name of the schedules file beside a center file.
const SchedulesFile = "schedules.yaml"

// scheduleSections are the top-level keys a schedules file may hold.
var scheduleSections = []string{"rules", "calendar", "quiet_hours"}

// rawSchedules is the shape of a schedules file.
type rawSchedules struct {
	Rules      []rawRule      `yaml:"rules"`
	Calendar   []rawCalEntry  `yaml:"calendar"`
	QuietHours *rawQuietHours `yaml:"quiet_hours"`
}

// SchedulesEnv names the environment variable that moves the schedules
// file out of the config's folder: under the systemd unit the config is
// read-only (/etc/beacon) and managers' edits live in the state directory
// (deploy/beacon.service sets it to /var/lib/beacon/schedules.yaml).
const SchedulesEnv = "BEACON_SCHEDULES"

// SchedulesPath returns where the schedules file of the center file at
// centerFile lives: $BEACON_SCHEDULES when set, else beside it.
func SchedulesPath(centerFile string) string {
	if p := os.Getenv(SchedulesEnv); p != "" {
		return p
	}
	return filepath.Join(filepath.Dir(centerFile), SchedulesFile)
}

// overlay is a schedules file to merge: its name (for diagnostics) and
// content.
type overlay struct {
	file string
	data []byte
}

// readOverlay reads the schedules file at path; a missing file is no
// overlay.
func readOverlay(path string) (*overlay, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read schedules file: %w", err)
	}
	return &overlay{file: path, data: data}, nil
}

// LoadFSWithSchedules is LoadFS with the schedules file at schedulesPath
// on disk (which may not exist yet); Config.SchedulesFile is set to it.
func LoadFSWithSchedules(fsys fs.FS, name, schedulesPath string) (*Config, error) {
	ov, err := readOverlay(schedulesPath)
	if err != nil {
		return nil, err
	}
	src := fsSource(fsys)
	src.schedules = schedulesPath
	return load(name, src, ov)
}

// WithSchedules validates data, the content of a schedules file, against
// the center cfg was loaded from — re-reading the center file and its
// profiles — and returns the config as it would be with it, or an *Error
// whose diagnostics point into cfg.SchedulesFile. Nothing is written.
func (cfg *Config) WithSchedules(data []byte) (*Config, error) {
	if cfg.src.read == nil {
		return nil, errors.New("this config was not loaded from a file; it cannot take a schedules file")
	}
	src := cfg.src
	src.schedules = cfg.SchedulesFile
	return load(cfg.File, src, &overlay{file: cfg.SchedulesFile, data: data})
}

// applyOverlay replaces raw's schedule sections with those of the
// schedules file, moving their recorded positions to it.
func (l *loader) applyOverlay(raw *rawFile, ov *overlay) bool {
	at, keyAt := map[string]Pos{}, map[string]Pos{}
	sub := &loader{src: l.src, file: ov.file, at: at, keyAt: keyAt}
	var rs rawSchedules
	if !sub.parse(ov.file, ov.data, &rs) {
		l.diags = append(l.diags, sub.diags...)
		return false
	}
	l.diags = append(l.diags, sub.diags...)
	for _, section := range scheduleSections {
		if _, ok := keyAt[section]; !ok {
			continue
		}
		within := func(p string) bool {
			return p == section || strings.HasPrefix(p, section+".") || strings.HasPrefix(p, section+"[")
		}
		for _, m := range []map[string]Pos{l.at, l.keyAt} {
			for k := range m {
				if within(k) {
					delete(m, k)
				}
			}
		}
		for k, v := range at {
			if within(k) {
				l.at[k] = v
			}
		}
		for k, v := range keyAt {
			if within(k) {
				l.keyAt[k] = v
			}
		}
		for k := range sub.suggested {
			if within(k) {
				l.suggested[k] = true
			}
		}
		switch section {
		case "rules":
			raw.Rules = rs.Rules
		case "calendar":
			raw.Calendar = rs.Calendar
		case "quiet_hours":
			raw.QuietHours = rs.QuietHours
		}
	}
	return true
}
