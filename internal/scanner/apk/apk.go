// Package apk finds the Alpine packages installed in an image from apk's
// database, lib/apk/db/installed.
//
// The one idea: each package's origin (o:) is its source package — the name
// Alpine's security database is keyed by — so it is reported as SourceName.
package apk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
	"github.com/stockade-dev/stockade/internal/scanner/purl"
)

// InstalledFile is apk's database of installed packages.
const InstalledFile = "lib/apk/db/installed"

// maxLine bounds one line of the database.
const maxLine = 1 << 20

// Analyzer reads apk databases. The zero value is ready to use.
type Analyzer struct{}

// New returns the apk analyzer.
func New() Analyzer { return Analyzer{} }

// Name implements layer.Analyzer.
func (Analyzer) Name() string { return "apk" }

// Version implements layer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Match implements layer.Analyzer.
func (Analyzer) Match(p string, _ fs.FileMode, _ int64) bool { return p == InstalledFile }

// Analyze implements layer.Analyzer.
func (Analyzer) Analyze(ctx context.Context, in layer.File) ([]catalog.Component, error) {
	return Parse(ctx, in)
}

// entry holds the fields of one package the catalog needs.
type entry struct {
	start                                int
	name, version, origin, arch, license string
	seen                                 bool
}

// Parse reads an apk installed database. Entries without a name or version
// are skipped and reported in a *layer.Warning naming the line.
func Parse(ctx context.Context, in layer.File) ([]catalog.Component, error) {
	sc := bufio.NewScanner(in.Reader())
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	comps := []catalog.Component{}
	var warns []string
	var e entry
	flush := func() {
		if !e.seen {
			return
		}
		switch {
		case e.name == "":
			warns = append(warns, fmt.Sprintf("entry at line %d: no package name (P:)", e.start))
		case e.version == "":
			warns = append(warns, fmt.Sprintf("entry at line %d: package %s has no version (V:)", e.start, e.name))
		case strings.ContainsAny(e.name+e.version, " \t/"):
			warns = append(warns, fmt.Sprintf("entry at line %d: malformed name %q or version %q", e.start, e.name, e.version))
		default:
			comps = append(comps, e.component(in.Path))
		}
		e = entry{}
	}
	line := 0
	for sc.Scan() {
		line++
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		s := sc.Text()
		if strings.TrimSpace(s) == "" {
			flush()
			continue
		}
		if !e.seen {
			e = entry{start: line, seen: true}
		}
		if len(s) < 2 || s[1] != ':' {
			warns = append(warns, fmt.Sprintf("line %d: not a \"K:value\" line", line))
			continue
		}
		v := s[2:]
		switch s[0] {
		case 'P':
			e.name = v
		case 'V':
			e.version = v
		case 'o':
			e.origin = v
		case 'A':
			e.arch = v
		case 'L':
			e.license = v
		}
	}
	if err := sc.Err(); err != nil {
		if !errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("read %s: line %d: %w", in.Path, line+1, err)
		}
		warns = append(warns, fmt.Sprintf("line %d: longer than %d bytes; rest of the file skipped", line+1, maxLine))
	} else {
		flush()
	}
	if len(warns) > 0 {
		return comps, &layer.Warning{Msgs: warns}
	}
	return comps, nil
}

func (e entry) component(path string) catalog.Component {
	src := e.origin
	if src == "" {
		src = e.name
	}
	return catalog.Component{
		Name:          e.name,
		Version:       e.version,
		Ecosystem:     catalog.Alpine,
		SourceName:    src,
		SourceVersion: e.version,
		Path:          path,
		PURL:          purl.APK("alpine", e.name, e.version, e.arch),
		License:       e.license,
	}
}
