// Package npm finds Node.js packages: the package.json of every package
// installed under node_modules, and the packages an application's lock files
// (package-lock.json, npm-shrinkwrap.json, yarn.lock) pin.
//
// The one idea: node_modules is what is installed, so every
// node_modules/<name>/package.json is a component; lock files describe what
// an install of the application would contain, and are read as extra sources
// for images that ship a lock file next to (or instead of) node_modules.
// Lock files inside node_modules belong to published packages' development
// and are ignored, as is the application's own package.json.
package npm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/purl"
)

// Size limits of the files read whole: a package.json carries at most a
// readme; lock files of large monorepos reach tens of megabytes.
const (
	MaxPackageJSON = 4 << 20
	MaxLockFile    = 64 << 20
)

// Package is what a package.json says about a package.
type Package struct {
	Name    string
	Version string
	License string
}

type packageJSON struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	License  json.RawMessage `json:"license"`
	Licenses json.RawMessage `json:"licenses"`
}

// ParsePackageJSON reads a package.json. A package without a name or version
// (a private workspace root) comes back with ok false and no error.
func ParsePackageJSON(b []byte) (pkg Package, ok bool, err error) {
	var pj packageJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return Package{}, false, err
	}
	if !validName(pj.Name) || !validVersion(pj.Version) {
		return Package{}, false, nil
	}
	return Package{Name: pj.Name, Version: pj.Version, License: license(pj.License, pj.Licenses)}, true, nil
}

// license reads the SPDX expression of "license" ("MIT"), its legacy object
// form ({"type": "MIT"}), or the legacy "licenses" list, joined with OR.
func license(single, list json.RawMessage) string {
	if s := licenseValue(single); s != "" {
		return s
	}
	var many []json.RawMessage
	if json.Unmarshal(list, &many) != nil {
		return ""
	}
	var names []string
	for _, l := range many {
		if s := licenseValue(l); s != "" {
			names = append(names, s)
		}
	}
	return strings.Join(names, " OR ")
}

func licenseValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var obj struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return strings.TrimSpace(obj.Type)
	}
	return ""
}

func validName(name string) bool {
	return name != "" && len(name) <= 214 && !strings.ContainsAny(name, " \t\r\n")
}

// validVersion accepts what npm installs from a registry: a semantic
// version, possibly with a leading "v" or "=". Git URLs, file: and link:
// specifications name no version a vulnerability record could list.
func validVersion(v string) bool {
	v = strings.TrimLeft(v, "v=")
	return v != "" && v[0] >= '0' && v[0] <= '9' && !strings.ContainsAny(v, " \t\r\n/:")
}

func component(name, version, license, path string) catalog.Component {
	return catalog.Component{
		Name:      name,
		Version:   version,
		Ecosystem: catalog.Npm,
		Path:      path,
		PURL:      PURL(name, version),
		License:   license,
	}
}

type lockFile struct {
	LockfileVersion int                    `json:"lockfileVersion"`
	Packages        map[string]lockPackage `json:"packages"`
	Dependencies    map[string]lockV1Entry `json:"dependencies"`
}

type lockPackage struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	Dev      bool            `json:"dev"`
	Link     bool            `json:"link"`
	License  json.RawMessage `json:"license"`
	Licenses json.RawMessage `json:"licenses"`
}

type lockV1Entry struct {
	Version      string                 `json:"version"`
	Dev          bool                   `json:"dev"`
	Dependencies map[string]lockV1Entry `json:"dependencies"`
}

// ParsePackageLock reads a package-lock.json or npm-shrinkwrap.json found at
// path: the "packages" map of lockfileVersion 2 and 3, or else the nested
// "dependencies" of version 1. Development dependencies, links to workspace
// packages and the project itself are left out: they are not what a
// production install puts in an image.
func ParsePackageLock(b []byte, path string) ([]catalog.Component, error) {
	var lf lockFile
	if err := json.Unmarshal(b, &lf); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var comps []catalog.Component
	if len(lf.Packages) > 0 {
		for key, p := range lf.Packages {
			i := strings.LastIndex(key, "node_modules/")
			if i < 0 || p.Dev || p.Link {
				continue // the project, a workspace package, or a link to one
			}
			name := key[i+len("node_modules/"):]
			if p.Name != "" {
				name = p.Name // installed under an alias
			}
			if validName(name) && validVersion(p.Version) {
				comps = append(comps, component(name, p.Version, license(p.License, p.Licenses), path))
			}
		}
		return sortDedupe(comps), nil
	}
	type item struct {
		name string
		dep  lockV1Entry
	}
	stack := make([]item, 0, len(lf.Dependencies))
	for name, d := range lf.Dependencies {
		stack = append(stack, item{name, d})
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.dep.Dev {
			continue
		}
		name, version := it.name, it.dep.Version
		// An alias records the real package in its version: "npm:lodash@4.17.21".
		if spec, ok := strings.CutPrefix(version, "npm:"); ok {
			if j := strings.LastIndex(spec, "@"); j > 0 {
				name, version = spec[:j], spec[j+1:]
			}
		}
		if validName(name) && validVersion(version) {
			comps = append(comps, component(name, version, "", path))
		}
		for n, d := range it.dep.Dependencies {
			stack = append(stack, item{n, d})
		}
	}
	return sortDedupe(comps), nil
}

// ParseYarnLock reads a yarn.lock found at path: the v1 format ("name@range":
// blocks with an indented `version "1.2.3"`) and, as far as the same lines
// go, the YAML-shaped format of Yarn 2 and later (`version: 1.2.3`).
// Workspace, link, portal and file entries are left out. Each malformed
// block is skipped and reported in warnings by its line number.
func ParseYarnLock(b []byte, path string) (comps []catalog.Component, warnings []string) {
	var (
		names   []string // packages the current block resolves
		header  int      // line of the current block's header
		version string
	)
	flush := func() {
		if len(names) > 0 {
			if !validVersion(version) {
				if !strings.HasPrefix(version, "0.0.0-use.local") {
					warnings = append(warnings, fmt.Sprintf("line %d: entry %s has no usable version %q", header, names[0], version))
				}
			} else {
				for _, n := range names {
					comps = append(comps, component(n, version, "", path))
				}
			}
		}
		names, version = nil, ""
	}
	for i, line := range bytes.Split(b, []byte("\n")) {
		l := strings.TrimRight(string(line), "\r \t")
		if l == "" || strings.HasPrefix(strings.TrimLeft(l, " "), "#") {
			continue
		}
		if l[0] != ' ' {
			flush()
			header = i + 1
			if !strings.HasSuffix(l, ":") {
				warnings = append(warnings, fmt.Sprintf("line %d: not a block header: %.80q", header, l))
				continue
			}
			if h := strings.Trim(strings.TrimSuffix(l, ":"), `"`); h != "__metadata" {
				names = specNames(h)
			}
			continue
		}
		if len(names) == 0 {
			continue
		}
		field := strings.TrimLeft(l, " ")
		// Only the block's own "version", not a dependency named "version".
		if indent := len(l) - len(field); indent != 2 {
			continue
		}
		if v, ok := strings.CutPrefix(field, "version"); ok && (strings.HasPrefix(v, " ") || strings.HasPrefix(v, ":")) {
			v = strings.TrimPrefix(v, ":")
			version = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	flush()
	return sortDedupe(comps), warnings
}

// specNames returns the distinct package names a block header resolves:
// `"@babel/core@^7.0.0", "@babel/core@^7.1.0"`, `lodash@npm:^4.17.21`,
// `"string-width-cjs@npm:string-width@^4.2.0"` (an alias of string-width).
func specNames(header string) []string {
	var names []string
	for _, spec := range strings.Split(header, ",") {
		spec = strings.Trim(strings.TrimSpace(spec), `"'`)
		name, ok := specName(spec)
		if !ok || !validName(name) {
			continue
		}
		if len(names) == 0 || names[len(names)-1] != name {
			names = append(names, name)
		}
	}
	return names
}

func specName(spec string) (string, bool) {
	if spec == "" {
		return "", false
	}
	i := strings.Index(spec[1:], "@") + 1
	if i <= 0 {
		return spec, true
	}
	name, rng := spec[:i], spec[i+1:]
	for _, proto := range []string{"workspace:", "link:", "portal:", "file:"} {
		if strings.HasPrefix(rng, proto) {
			return "", false
		}
	}
	if rest, ok := strings.CutPrefix(rng, "npm:"); ok {
		if j := strings.LastIndex(rest, "@"); j > 0 {
			return rest[:j], true
		}
		return name, true
	}
	if rest, ok := strings.CutPrefix(rng, "patch:"); ok {
		if j := strings.Index(rest[min(1, len(rest)):], "@") + 1; j > 0 {
			return rest[:j], true
		}
	}
	return name, true
}

func sortDedupe(comps []catalog.Component) []catalog.Component {
	sort.Slice(comps, func(i, j int) bool {
		if comps[i].Name != comps[j].Name {
			return comps[i].Name < comps[j].Name
		}
		return comps[i].Version < comps[j].Version
	})
	out := comps[:0]
	for i, c := range comps {
		if i > 0 && c.Name == comps[i-1].Name && c.Version == comps[i-1].Version {
			continue
		}
		out = append(out, c)
	}
	return out
}

// PURL is the package URL of an npm package (see purl.NPM), with the
// scope's "@" encoded: pkg:npm/%40babel/core@7.22.5, pkg:npm/lodash@4.17.21.
func PURL(name, version string) string { return purl.NPM(name, version) }
