package config

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a place in a config file. Line and Col are 1-based, as editors and
// compilers print them.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Diagnostic is one problem found in a config: where, which field, what.
type Diagnostic struct {
	Pos     Pos
	Path    string // dotted field path, e.g. devices.sign.points.current.scale
	Message string
	Warning bool
}

// String formats the diagnostic as FILE:LINE:COL: path: message, with
// "warning: " before the message of a warning.
func (d Diagnostic) String() string {
	msg := d.Message
	if d.Warning {
		msg = "warning: " + msg
	}
	if d.Path == "" {
		return fmt.Sprintf("%s: %s", d.Pos, msg)
	}
	return fmt.Sprintf("%s: %s: %s", d.Pos, d.Path, msg)
}

// Diagnostics is every problem found in one load, errors and warnings.
type Diagnostics []Diagnostic

// Errors returns the diagnostics that are not warnings.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(false) }

// Warnings returns the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(true) }

func (ds Diagnostics) filter(warning bool) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Warning == warning {
			out = append(out, d)
		}
	}
	return out
}

// sort orders diagnostics by file, line, column and message, and drops exact
// repeats (one bad value can be reached along two paths).
func (ds Diagnostics) sort() Diagnostics {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return ds[i].String() < ds[j].String()
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && d == ds[i-1] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// Error is returned by Load when a config has errors. It holds every
// diagnostic, warnings included, sorted by position.
type Error struct {
	Diagnostics Diagnostics
}

func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Diagnostics))
	for _, d := range e.Diagnostics {
		lines = append(lines, d.String())
	}
	return strings.Join(lines, "\n")
}

// closest returns the candidate nearest to word by edit distance, when it is
// near enough to be a likely typo ("did you mean"), or "". Ties go to the
// candidate of the closest length.
func closest(word string, candidates []string) string {
	best, bestDist, bestLen := "", 1<<30, 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		lenDiff := len(c) - len(word)
		if lenDiff < 0 {
			lenDiff = -lenDiff
		}
		if d < bestDist || d == bestDist && lenDiff < bestLen {
			best, bestDist, bestLen = c, d, lenDiff
		}
	}
	limit := 2
	if len(word) <= 4 {
		limit = 1
	}
	if bestDist <= limit && bestDist < len(word) {
		return best
	}
	return ""
}

// editDistance is the optimal-string-alignment distance between a and b, in
// runes: insertions, deletions, substitutions and swaps of two neighbours
// ("sing" for "sign") each cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
