package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/beacon-edge/beacon/gateway/api"
	"github.com/beacon-edge/beacon/gateway/config"
)

func init() {
	commands["token"] = command{summary: "add, list or remove API tokens (viewer, manager, installer)", run: runToken}
}

const tokenUsage = `Usage: beacon token add NAME --role viewer|manager|installer -c FILE [--state-dir DIR]
       beacon token list -c FILE [--state-dir DIR]
       beacon token remove NAME -c FILE [--state-dir DIR]

Tokens for the web page and HTTP API. They are kept hashed (SHA-256) in
api.tokens_file, or "tokens" in the state directory; add prints the new
token once. A running gateway sees changes at once. Instead of -c, --tokens
FILE names the tokens file directly.`

func runToken(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stdout, tokenUsage)
		if len(args) == 0 {
			return usagef("missing add, list or remove")
		}
		return nil
	}
	verb, rest := args[0], args[1:]
	var name string
	if (verb == "add" || verb == "remove") && len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		name, rest = rest[0], rest[1:]
	}
	fs := newFlagSet("token "+verb, stderr)
	file := fs.String("c", "", "center config `FILE`")
	stateDir := fs.String("state-dir", "", "state `DIR` (default $BEACON_STATE_DIR, $STATE_DIRECTORY, or .beacon beside the config)")
	tokensFile := fs.String("tokens", "", "tokens `FILE` (instead of -c)")
	role := fs.String("role", "", "viewer, manager or installer (add)")
	if err := parseFlags(fs, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, tokenUsage)
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	path := *tokensFile
	switch {
	case path != "" && *file != "":
		return usagef("give -c or --tokens, not both")
	case path == "" && *file == "":
		return usagef("missing -c FILE (or --tokens FILE)")
	case path == "":
		cfg, err := config.Load(*file)
		if err != nil {
			return err
		}
		path = tokensPath(cfg, resolveStateDir(*stateDir, cfg.File))
	}
	tokens := api.OpenTokens(path)
	switch verb {
	case "add":
		if name == "" {
			return usagef("missing NAME: beacon token add NAME --role R")
		}
		r, err := api.ParseRole(*role)
		if err != nil {
			return usagef("--role: %v", err)
		}
		tok, err := tokens.Add(name, r, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", tok)
		fmt.Fprintf(stderr, "token %s (%s) added to %s; it is shown only now\n", name, r, path)
	case "list":
		list, err := tokens.List()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
		for _, t := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Role, t.Created.Local().Format(time.DateTime))
		}
		tw.Flush()
	case "remove":
		if name == "" {
			return usagef("missing NAME: beacon token remove NAME")
		}
		if err := tokens.Remove(name); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "token %s removed\n", name)
	default:
		return usagef("unknown token command %q: use add, list or remove", verb)
	}
	return nil
}
