package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary text to the loader: whatever the file holds,
// Load must return a config or diagnostics, never panic or hang.
func FuzzLoad(f *testing.F) {
	f.Add(base)
	if demo, err := os.ReadFile(filepath.Join("..", "..", "configs", "demo-center.yaml")); err == nil {
		f.Add(string(demo))
	}
	f.Add("center: [")
	f.Add("devices: {a: {points: {p: {safe: *x}}}}")
	f.Add("rules:\n  - between: [a]\n    set: {x: 1}\n")
	dir := f.TempDir()
	path := filepath.Join(dir, "center.yaml")
	f.Fuzz(func(t *testing.T, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags, err := Check(path)
		if err != nil {
			t.Fatalf("Check returned a read error for a readable file: %v", err)
		}
		if cfg == nil && len(diags.Errors()) == 0 {
			t.Fatal("no config and no error")
		}
		for _, d := range diags {
			if d.Pos.Line < 1 || d.Pos.Col < 1 || d.Message == "" {
				t.Fatalf("diagnostic without a position or message: %+v", d)
			}
		}
	})
}
