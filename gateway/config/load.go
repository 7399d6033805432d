// Package config reads a center's YAML config into the validated model the
// gateway runs on. Loading is done like a compiler: defaults, then a strict
// decode that reports unknown keys, duplicates and wrong types, then
// validation of values and references; every problem is collected with its
// file, line and column and reported at once, sorted by line. Secrets are
// only ever referenced (a *_file path or ${ENV}) and never printed.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ProfileDir is the folder, beside a center file, whose *.yaml files are
// device profiles available to it.
const ProfileDir = "profiles"

// source abstracts where files come from: the disk, or an embedded FS for
// the demo.
type source struct {
	read func(name string) ([]byte, error)
	glob func(pattern string) ([]string, error)
	join func(elem ...string) string
	dir  func(name string) string
	// abs resolves a relative secret file path against the config's folder.
	abs func(name string) string
	// schedules is the path of the schedules file (overlay.go), on disk.
	schedules string
}

// Load reads the center file at path, with the profiles in the profiles/
// folder beside it, and validates it. On problems it returns an *Error
// listing all of them; warnings of a valid config are in Config.Warnings.
//
// The schedules file beside it (SchedulesPath), when there is one, replaces
// the center file's rules, calendar and quiet hours (overlay.go).
func Load(path string) (*Config, error) {
	ov, err := readOverlay(SchedulesPath(path))
	if err != nil {
		return nil, err
	}
	return load(path, source{
		read: os.ReadFile,
		glob: filepath.Glob,
		join: filepath.Join,
		dir:  filepath.Dir,
		abs: func(name string) string {
			if filepath.IsAbs(name) {
				return name
			}
			return filepath.Join(filepath.Dir(path), name)
		},
		schedules: SchedulesPath(path),
	}, ov)
}

// LoadFS is Load from a file system, such as the demo's embedded files.
// It reads no schedules file; LoadFSWithSchedules does.
func LoadFS(fsys fs.FS, name string) (*Config, error) {
	return load(name, fsSource(fsys), nil)
}

func fsSource(fsys fs.FS) source {
	return source{
		read: func(n string) ([]byte, error) { return fs.ReadFile(fsys, n) },
		glob: func(p string) ([]string, error) { return fs.Glob(fsys, p) },
		join: path.Join,
		dir:  path.Dir,
		abs:  func(n string) string { return n },
	}
}

// Check is Load for `beacon check`: it returns the config (nil when it has
// errors) and every diagnostic, errors and warnings, sorted by position. err
// is set only when the file cannot be read at all.
func Check(path string) (*Config, Diagnostics, error) {
	cfg, err := Load(path)
	var cerr *Error
	switch {
	case errors.As(err, &cerr):
		return nil, cerr.Diagnostics, nil
	case err != nil:
		return nil, nil, err
	}
	return cfg, cfg.Warnings, nil
}

func load(file string, src source, ov *overlay) (*Config, error) {
	data, err := src.read(file)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	l := &loader{
		src:        src,
		file:       file,
		at:         map[string]Pos{},
		keyAt:      map[string]Pos{},
		unresolved: map[string]bool{},
	}
	var raw rawFile
	if !l.parse(file, data, &raw) {
		return nil, &Error{Diagnostics: l.diags}
	}
	if ov != nil && !l.applyOverlay(&raw, ov) {
		l.diags = l.diags.sort()
		return nil, &Error{Diagnostics: l.diags}
	}
	l.loadProfileFiles(&raw)
	cfg := l.validate(&raw)
	cfg.src, cfg.SchedulesFile = src, src.schedules
	l.diags = l.diags.sort()
	if len(l.diags.Errors()) > 0 {
		return nil, &Error{Diagnostics: l.diags}
	}
	cfg.Warnings = l.diags
	return cfg, nil
}

// loader carries one Load: the diagnostics so far and where every field was.
type loader struct {
	src       source
	file      string
	diags     Diagnostics
	at        map[string]Pos
	keyAt     map[string]Pos
	suggested map[string]bool
	// unresolved names devices whose points are unknown because their
	// profile is; references to their points are not checked.
	unresolved map[string]bool
	// profileFiles maps a profile's name to the file it came from.
	profileFiles map[string]string
}

// parse decodes one YAML file into out. It reports a syntax error with its
// line and returns false when the file could not be parsed at all.
func (l *loader) parse(file string, data []byte, out any) bool {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		l.diags = append(l.diags, syntaxDiagnostic(file, data, err))
		return false
	}
	if len(root.Content) == 0 {
		l.diags = append(l.diags, Diagnostic{Pos: Pos{File: file, Line: 1, Col: 1}, Message: "the file is empty"})
		return false
	}
	if l.suggested == nil {
		l.suggested = map[string]bool{}
	}
	d := newDecoder(file, &l.diags, l.at, l.keyAt, l.suggested)
	d.decode(&root, reflect.ValueOf(out).Elem(), "", false)
	return true
}

// syntaxDiagnostic turns a yaml.v3 error ("yaml: line 7: did not find
// expected key") into a positioned diagnostic. yaml.v3 reports parser
// errors at the line where the enclosing block began, not where the problem
// is, so the line is found again: it is the first line at which the file,
// cut just after it, no longer parses.
func syntaxDiagnostic(file string, data []byte, err error) Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if _, after, ok := strings.Cut(rest, ":"); ok {
			msg = strings.TrimSpace(after)
		}
	}
	lines := strings.SplitAfter(string(data), "\n")
	parses := func(n int) bool {
		var node yaml.Node
		return yaml.Unmarshal([]byte(strings.Join(lines[:n], "")), &node) == nil
	}
	// Binary search for the shortest failing prefix; parses(0) is true and
	// parses(len(lines)) is false.
	lo, hi := 0, len(lines)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if parses(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if hi >= 1 && hi <= len(lines) && strings.Contains(lines[hi-1], "${") && strings.Contains(lines[hi-1], "{") {
		// A ${ENV} reference inside a { … } mapping reads as YAML's own
		// braces unless it is quoted.
		msg += `; quote a ${ENV} reference inside { … }: password: "${MQTT_PASSWORD}"`
	}
	return Diagnostic{Pos: Pos{File: file, Line: hi, Col: 1}, Message: "YAML syntax: " + msg}
}

// loadProfileFiles adds the profiles of the profiles/ folder beside the
// center file. A profile defined twice is an error naming both places.
func (l *loader) loadProfileFiles(raw *rawFile) {
	l.profileFiles = map[string]string{}
	for _, p := range raw.Profiles {
		l.profileFiles[p.Name] = l.file
	}
	files, _ := l.src.glob(l.src.join(l.src.dir(l.file), ProfileDir, "*.yaml"))
	sort.Strings(files)
	for _, f := range files {
		data, err := l.src.read(f)
		if err != nil {
			l.diags = append(l.diags, Diagnostic{Pos: Pos{File: f, Line: 1, Col: 1}, Message: "cannot read profile: " + err.Error()})
			continue
		}
		name := strings.TrimSuffix(path.Base(filepath.ToSlash(f)), ".yaml")
		// Decode under a scratch path first: the profile's name is known
		// only after decoding, and positions must be keyed by it.
		at, keyAt := map[string]Pos{}, map[string]Pos{}
		sub := &loader{src: l.src, file: f, at: at, keyAt: keyAt}
		var pf rawProfileFile
		if !sub.parse(f, data, &pf) {
			l.diags = append(l.diags, sub.diags...)
			continue
		}
		if pf.Name != "" {
			name = pf.Name
		}
		prefix := "profiles." + name
		for k, v := range at {
			l.at[joinPath(prefix, k)] = v
		}
		for k, v := range keyAt {
			l.keyAt[joinPath(prefix, k)] = v
		}
		// Rewrite the sub-loader's paths to the same prefix.
		for _, d := range sub.diags {
			if d.Path != "" {
				d.Path = joinPath(prefix, d.Path)
			}
			l.diags = append(l.diags, d)
		}
		if first, dup := l.profileFiles[name]; dup {
			l.diags = append(l.diags, Diagnostic{Pos: Pos{File: f, Line: 1, Col: 1}, Path: prefix,
				Message: fmt.Sprintf("profile %q is also defined in %s", name, first)})
			continue
		}
		l.profileFiles[name] = f
		l.keyAt[prefix] = Pos{File: f, Line: 1, Col: 1}
		raw.Profiles = append(raw.Profiles, rawProfile{Name: name, Description: pf.Description, Kind: pf.Kind, Points: pf.Points})
	}
}
