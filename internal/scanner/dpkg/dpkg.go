// Package dpkg finds the Debian packages installed in an image from dpkg's
// database: var/lib/dpkg/status, or the one-file-per-package
// var/lib/dpkg/status.d/ that distroless images carry instead.
//
// The one idea: only packages dpkg considers installed count ("install ok
// installed"; distroless entries, which have no Status field, are installed by
// construction), and each carries the source package it was built from,
// because Debian's security feeds are keyed by source package.
package dpkg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
	"github.com/stockade-dev/stockade/internal/scanner/purl"
)

// Paths of the dpkg database.
const (
	StatusFile = "var/lib/dpkg/status"
	StatusDir  = "var/lib/dpkg/status.d"
)

// maxLine bounds one line of the database; real ones (long descriptions
// included) stay far below.
const maxLine = 1 << 20

// Analyzer reads dpkg databases. The zero value is ready to use.
type Analyzer struct{}

// New returns the dpkg analyzer.
func New() Analyzer { return Analyzer{} }

// Name implements layer.Analyzer.
func (Analyzer) Name() string { return "dpkg" }

// Version implements layer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Match implements layer.Analyzer: the status file and the files of status.d
// except their *.md5sums companions.
func (Analyzer) Match(p string, _ fs.FileMode, _ int64) bool {
	if p == StatusFile {
		return true
	}
	dir, base := path.Split(p)
	return dir == StatusDir+"/" && base != "" && base[0] != '.' && !strings.HasSuffix(base, ".md5sums")
}

// Analyze implements layer.Analyzer.
func (Analyzer) Analyze(ctx context.Context, in layer.File) ([]catalog.Component, error) {
	return Parse(ctx, in)
}

// Parse reads a dpkg status file (or a status.d entry) and returns the
// installed packages. Malformed entries are skipped and reported in a
// *layer.Warning naming the line.
func Parse(ctx context.Context, in layer.File) ([]catalog.Component, error) {
	sc := bufio.NewScanner(in.Reader())
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	comps := []catalog.Component{}
	var warns []string
	p := paragraph{}
	lineNo, start := 0, 0
	field := ""
	flush := func() {
		if len(p) == 0 {
			return
		}
		c, ok, err := p.component(in.Path)
		switch {
		case err != nil:
			warns = append(warns, fmt.Sprintf("entry at line %d: %v", start, err))
		case ok:
			comps = append(comps, c)
		}
		p = paragraph{}
		field = ""
	}
	for sc.Scan() {
		lineNo++
		if lineNo%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if len(p) == 0 && field == "" {
			start = lineNo
		}
		if line[0] == ' ' || line[0] == '\t' {
			if field == "" {
				warns = append(warns, fmt.Sprintf("line %d: continuation line without a field", lineNo))
			}
			continue // multi-line values (Description, Conffiles) are not needed
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			warns = append(warns, fmt.Sprintf("line %d: not a \"Field: value\" line", lineNo))
			field = "?"
			continue
		}
		field = name
		if _, dup := p[name]; dup {
			warns = append(warns, fmt.Sprintf("line %d: field %s repeated", lineNo, name))
		}
		p[name] = strings.TrimSpace(value)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			warns = append(warns, fmt.Sprintf("line %d: longer than %d bytes; rest of the file skipped", lineNo+1, maxLine))
		} else {
			return nil, fmt.Errorf("read %s: line %d: %w", in.Path, lineNo+1, err)
		}
	} else {
		flush()
	}
	if len(warns) > 0 {
		return comps, &layer.Warning{Msgs: warns}
	}
	return comps, nil
}

// paragraph is one package stanza: field name → first-line value. Field
// names are case-sensitive as dpkg writes them.
type paragraph map[string]string

// component returns the package when it is installed; ok is false for
// packages dpkg lists but has removed (config-files, not-installed, …).
func (p paragraph) component(file string) (c catalog.Component, ok bool, err error) {
	name, version := p["Package"], p["Version"]
	if name == "" {
		return c, false, errors.New("no Package field")
	}
	if status, has := p["Status"]; has {
		words := strings.Fields(status)
		if len(words) != 3 {
			return c, false, fmt.Errorf("package %s: malformed Status %q", name, status)
		}
		if words[2] != "installed" {
			return c, false, nil
		}
	}
	if version == "" {
		return c, false, fmt.Errorf("package %s: no Version field", name)
	}
	if strings.ContainsAny(version, " \t") || !validName(name) {
		return c, false, fmt.Errorf("package %q: malformed name or version %q", name, version)
	}
	srcName, srcVersion := name, version
	if src := p["Source"]; src != "" {
		n, v, hasV := strings.Cut(src, "(")
		srcName = strings.TrimSpace(n)
		if hasV {
			v, closed := strings.CutSuffix(strings.TrimSpace(v), ")")
			v = strings.TrimSpace(v)
			if !closed || v == "" || !validName(srcName) {
				return c, false, fmt.Errorf("package %s: malformed Source %q", name, src)
			}
			srcVersion = v
		}
	}
	return catalog.Component{
		Name:          name,
		Version:       version,
		Ecosystem:     catalog.Debian,
		SourceName:    srcName,
		SourceVersion: srcVersion,
		Path:          file,
		PURL:          purl.Deb("debian", name, version, p["Architecture"]),
	}, true, nil
}

// validName accepts Debian package names (lower-case letters, digits, + - .),
// leniently: the first character is not checked.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '+' && r != '-' && r != '.' {
			return false
		}
	}
	return true
}
