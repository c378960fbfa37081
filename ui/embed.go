// Package ui holds the dashboard: a TypeScript and React application in
// this directory that Vite builds into dist/, embedded here so that
// Central serves it from its own binary (see internal/central/uiserve).
//
// dist/ holds only .keep until the dashboard is built (`make ui`); the
// binary still compiles, and Central then serves a page saying how to
// build the dashboard.
package ui

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built dashboard, the contents of dist/.
func Dist() (fs.FS, error) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, fmt.Errorf("open embedded dashboard: %w", err)
	}
	return sub, nil
}
