package npm

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// Analyzer reports npm packages. The zero value is ready to use.
type Analyzer struct{}

// New returns the npm analyzer.
func New() Analyzer { return Analyzer{} }

// Name implements layer.Analyzer.
func (Analyzer) Name() string { return "npm" }

// Version implements layer.Analyzer.
func (Analyzer) Version() int { return 1 }

type kind int

const (
	none kind = iota
	installed
	packageLock
	yarnLock
)

// classify says what a path is to the analyzer: node_modules/<name>/package.json
// or node_modules/@scope/<name>/package.json (not the package.json files of
// test fixtures deeper inside a package), or a lock file outside node_modules.
func classify(p string) kind {
	base := path.Base(p)
	segs := strings.Split(p, "/")
	n := len(segs)
	switch base {
	case "package.json":
		if n >= 3 && segs[n-3] == "node_modules" && pkgDir(segs[n-2]) {
			return installed
		}
		if n >= 4 && segs[n-4] == "node_modules" && strings.HasPrefix(segs[n-3], "@") && pkgDir(segs[n-2]) {
			return installed
		}
	case "package-lock.json", "npm-shrinkwrap.json", "yarn.lock":
		for _, s := range segs[:n-1] {
			if s == "node_modules" {
				return none
			}
		}
		if base == "yarn.lock" {
			return yarnLock
		}
		return packageLock
	}
	return none
}

// pkgDir rejects node_modules/.bin, node_modules/.cache and friends.
func pkgDir(s string) bool {
	return s != "" && !strings.HasPrefix(s, ".") && !strings.HasPrefix(s, "@")
}

// Match wants installed packages' package.json and lock files, regular and
// within the size limits.
func (Analyzer) Match(p string, mode fs.FileMode, size int64) bool {
	if !mode.IsRegular() || size <= 0 {
		return false
	}
	switch classify(p) {
	case installed:
		return size <= MaxPackageJSON
	case packageLock, yarnLock:
		return size <= MaxLockFile
	}
	return false
}

// Analyze implements layer.Analyzer.
func (Analyzer) Analyze(ctx context.Context, in layer.File) ([]catalog.Component, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch classify(in.Path) {
	case installed:
		b, err := in.ReadAll(MaxPackageJSON)
		if err != nil {
			return nil, err
		}
		pkg, ok, err := ParsePackageJSON(b)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", in.Path, err)
		}
		if !ok {
			return nil, nil
		}
		return []catalog.Component{component(pkg.Name, pkg.Version, pkg.License, in.Path)}, nil
	case packageLock:
		b, err := in.ReadAll(MaxLockFile)
		if err != nil {
			return nil, err
		}
		return ParsePackageLock(b, in.Path)
	case yarnLock:
		b, err := in.ReadAll(MaxLockFile)
		if err != nil {
			return nil, err
		}
		comps, warnings := ParseYarnLock(b, in.Path)
		if len(warnings) > 0 {
			return comps, &layer.Warning{Msgs: warnings}
		}
		return comps, nil
	}
	return nil, fmt.Errorf("analyze %s: not an installed package.json or a lock file", in.Path)
}
