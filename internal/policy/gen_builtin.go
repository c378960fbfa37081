//go:build ignore

// gen_builtin writes builtin.json, the built-in policies in ACS export form,
// from the YAML files in builtin/ (the source of truth, one policy a file).
// The binaries embed the JSON because decoding it takes a fraction of the
// time YAML does at every start. Run `go generate ./internal/policy`;
// TestBuiltinEmbedded fails when the JSON is stale.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/stockade-dev/stockade/internal/policy"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen_builtin:", err)
		os.Exit(1)
	}
}

func run() error {
	files, err := filepath.Glob(filepath.Join("builtin", "*.yaml"))
	if err != nil {
		return err
	}
	var all []*policy.Policy
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		ps, err := policy.Parse(filepath.Base(f), data)
		if err != nil {
			return err
		}
		all = append(all, ps...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	out, err := policy.Export(all)
	if err != nil {
		return err
	}
	tmp := "builtin.json.tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil { //nolint:gosec // a source file of the repository
		return err
	}
	return os.Rename(tmp, "builtin.json")
}
