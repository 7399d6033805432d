package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder turns a YAML node tree into the raw config structs, strictly:
// unknown keys, duplicate keys and wrong types are all reported, with their
// positions, and decoding goes on past each one so that a single run shows
// every problem. It records where every field was written so that the
// validator can point at it too.
//
// Struct tags: `yaml:"name"` names a key; option ",key" on a string field of
// an element type makes a YAML mapping decode into a slice, each entry's key
// landing in that field (devices, points, connections, profiles);
// ",secret" keeps a value out of every message.
type decoder struct {
	file  string
	diags *Diagnostics
	// at maps a field path to the position of its value node; keyAt to the
	// position of its key (for "unknown key" and "missing field").
	at    map[string]Pos
	keyAt map[string]Pos
	// suggested holds the paths offered as "did you mean": a missing
	// required field there is the same typo and is not reported again.
	suggested map[string]bool
}

// nodeDecoder is implemented by field types that read their own node.
type nodeDecoder interface {
	decodeYAML(d *decoder, n *yaml.Node, path string)
}

func newDecoder(file string, diags *Diagnostics, at, keyAt map[string]Pos, suggested map[string]bool) *decoder {
	return &decoder{file: file, diags: diags, at: at, keyAt: keyAt, suggested: suggested}
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	*d.diags = append(*d.diags, Diagnostic{Pos: d.pos(n), Path: path, Message: fmt.Sprintf(format, args...)})
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// decode fills v (a pointer) from n.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, secret bool) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.at[path] = d.pos(n)
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		nd.decodeYAML(d, n, path)
		return
	}
	if v.Type() == reflect.TypeFor[time.Duration]() {
		d.decodeDuration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		// Decode into a fresh value and keep it only if it decoded
		// cleanly, so that validation never sees a half-read zero.
		fresh := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			fresh.Elem().Set(v.Elem())
		}
		before := len(d.diags.Errors())
		d.decode(n, fresh.Elem(), path, secret)
		if len(d.diags.Errors()) == before || v.Type().Elem().Kind() == reflect.Struct {
			v.Set(fresh)
		}
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string", secret); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		s, ok := d.scalar(n, path, "true or false", secret)
		if !ok {
			return
		}
		b, err := strconv.ParseBool(s)
		if err != nil || n.Tag != "!!bool" {
			d.errorf(n, path, "expected true or false, got %s", quoteValue(n, secret))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		s, ok := d.scalar(n, path, "an integer", secret)
		if !ok {
			return
		}
		i, err := strconv.ParseInt(s, 0, 64)
		if err != nil || n.Tag != "!!int" {
			d.errorf(n, path, "expected an integer, got %s", quoteValue(n, secret))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		s, ok := d.scalar(n, path, "a number", secret)
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || (n.Tag != "!!int" && n.Tag != "!!float") {
			d.errorf(n, path, "expected a number, got %s", quoteValue(n, secret))
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("config: no decoder for %s at %s", v.Type(), path))
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// scalar returns the text of a scalar node, or reports that want was
// expected instead of a mapping or a list.
func (d *decoder) scalar(n *yaml.Node, path, want string, secret bool) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected %s, got %s", want, kindName(n))
		return "", false
	}
	if isNull(n) {
		d.errorf(n, path, "expected %s, got nothing", want)
		return "", false
	}
	return n.Value, true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a scalar"
}

// quoteValue shows a scalar in a message, or hides it when it is a secret.
func quoteValue(n *yaml.Node, secret bool) string {
	if secret {
		return "a value (not shown: secret)"
	}
	return strconv.Quote(n.Value)
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a duration", false)
	if !ok {
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(n, path, "bad duration %q: write it like 500ms, 30s, 15m or 1h30m", s)
		return
	}
	if dur < 0 {
		d.errorf(n, path, "duration %q is negative", s)
		return
	}
	v.SetInt(int64(dur))
}

type fieldInfo struct {
	index  int
	name   string
	secret bool
}

func structFields(t reflect.Type) (fields []fieldInfo, keyField int) {
	keyField = -1
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "key") {
			keyField = i
			continue
		}
		fields = append(fields, fieldInfo{index: i, name: name, secret: slices.Contains(strings.Split(opts, ","), "secret")})
	}
	return fields, keyField
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		if isNull(n) {
			return
		}
		d.errorf(n, path, "expected a mapping of fields, got %s", kindName(n))
		return
	}
	fields, _ := structFields(v.Type())
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		fpath := joinPath(path, key)
		idx := slices.Index(names, key)
		if idx < 0 {
			msg := fmt.Sprintf("unknown field %q", key)
			if hint := closest(key, names); hint != "" && !seen[hint] {
				msg += fmt.Sprintf("; did you mean %q?", hint)
				d.suggested[joinPath(path, hint)] = true
			}
			d.errorf(k, fpath, "%s", msg)
			continue
		}
		if seen[key] {
			d.errorf(k, fpath, "field %q is given twice", key)
			continue
		}
		seen[key] = true
		d.keyAt[fpath] = d.pos(k)
		f := fields[idx]
		d.decode(val, v.Field(f.index), fpath, f.secret)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	elem := v.Type().Elem()
	keyField := -1
	if elem.Kind() == reflect.Struct {
		_, keyField = structFields(elem)
	}
	switch {
	case isNull(n):
		return
	case keyField >= 0 && n.Kind == yaml.MappingNode:
		seen := map[string]Pos{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			fpath := joinPath(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				d.errorf(k, fpath, "duplicate name %q (first defined at line %d)", k.Value, first.Line)
				continue
			}
			seen[k.Value] = d.pos(k)
			d.keyAt[fpath] = d.pos(k)
			e := reflect.New(elem).Elem()
			e.Field(keyField).SetString(k.Value)
			d.decode(val, e, fpath, false)
			v.Set(reflect.Append(v, e))
		}
	case keyField >= 0:
		d.errorf(n, path, "expected a mapping of names to entries, got %s", kindName(n))
	case n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			e := reflect.New(elem).Elem()
			ipath := fmt.Sprintf("%s[%d]", path, i)
			d.keyAt[ipath] = d.pos(item)
			d.decode(item, e, ipath, false)
			v.Set(reflect.Append(v, e))
		}
	default:
		d.errorf(n, path, "expected a list, got %s", kindName(n))
	}
}

// Literal is a scalar kept as written, for values whose type depends on
// something else (a point's safe value depends on the point's type). It is
// turned into a drivers.Value during validation.
type Literal struct {
	Text   string
	Quoted bool // written in quotes: a string even if it looks like a number
	Pos    Pos
	Set    bool
}

func (l *Literal) decodeYAML(d *decoder, n *yaml.Node, path string) {
	s, ok := d.scalar(n, path, "a single value", false)
	if !ok {
		return
	}
	*l = Literal{Text: s, Quoted: n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0, Pos: d.pos(n), Set: true}
}

// Assignment is one "device.point: value" entry of a rule's set or
// otherwise mapping.
type Assignment struct {
	Target string
	Value  Literal
	KeyPos Pos
	Path   string
}

// Assignments keeps the order in which a rule's values were written.
type Assignments []Assignment

func (as *Assignments) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping of device.point to value, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fpath := joinPath(path, k.Value)
		if seen[k.Value] {
			d.errorf(k, fpath, "%q is set twice", k.Value)
			continue
		}
		seen[k.Value] = true
		a := Assignment{Target: k.Value, KeyPos: d.pos(k), Path: fpath}
		d.keyAt[fpath] = d.pos(k)
		d.at[fpath] = d.pos(val)
		a.Value.decodeYAML(d, val, fpath)
		*as = append(*as, a)
	}
}
