// Package configs holds the example center configs and device profiles, and
// embeds the demo center so that `beacon demo` needs no files.
package configs

import "embed"

// Demo is the demo center (DemoFile) with its profiles/ folder.
//
//go:embed demo-center.yaml profiles/*.yaml
var Demo embed.FS

// DemoFile is the demo center's file name within Demo.
const DemoFile = "demo-center.yaml"
