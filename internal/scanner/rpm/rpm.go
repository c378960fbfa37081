// Package rpm finds the packages installed in an image from rpm's database,
// in any of its three formats: SQLite (rpmdb.sqlite, rpm 4.16+: RHEL 9,
// Fedora 33+), Berkeley DB (Packages: RHEL 7/8, CentOS, Amazon Linux 2) and
// NDB (Packages.db: SUSE).
//
// The one idea: the database is read with github.com/knqyf263/go-rpmdb, a
// pure-Go reader of all three formats (SQLite through modernc.org/sqlite, no
// cgo). It opens files by path, so the analyzer asks the layer walker for a
// copy in the walker's private temporary directory.
//
// Locations: var/lib/rpm and usr/lib/sysimage/rpm (Fedora 36+, SUSE), where
// var/lib/rpm is often a symlink to the latter; the walker does not follow
// directory symlinks, so both real locations are matched instead.
package rpm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
	_ "modernc.org/sqlite" // database/sql driver "sqlite" for rpmdb.sqlite

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
	"github.com/stockade-dev/stockade/internal/scanner/purl"
)

// Analyzer reads rpm databases. The zero value is ready to use.
type Analyzer struct{}

// New returns the rpm analyzer.
func New() Analyzer { return Analyzer{} }

// Name implements layer.Analyzer.
func (Analyzer) Name() string { return "rpm" }

// Version implements layer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Match implements layer.Analyzer.
func (Analyzer) Match(p string, _ fs.FileMode, _ int64) bool {
	switch path.Dir(p) {
	case "var/lib/rpm", "usr/lib/sysimage/rpm":
	default:
		return false
	}
	switch path.Base(p) {
	case "Packages", "rpmdb.sqlite", "Packages.db":
		return true
	}
	return false
}

// Analyze implements layer.Analyzer.
func (Analyzer) Analyze(ctx context.Context, in layer.File) ([]catalog.Component, error) {
	if in.LocalPath == nil {
		return nil, fmt.Errorf("read rpm database %s: no local copy available", in.Path)
	}
	local, err := in.LocalPath()
	if err != nil {
		return nil, fmt.Errorf("read rpm database %s: %w", in.Path, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ReadFile(ctx, local, in.Path)
}

// ReadFile reads the database at local (a file on disk) and reports its
// packages with Path set to imagePath.
func ReadFile(ctx context.Context, local, imagePath string) (comps []catalog.Component, err error) {
	if err := checkSQLite(ctx, local); err != nil {
		return nil, fmt.Errorf("read rpm database %s: %w", imagePath, err)
	}
	db, err := rpmdb.Open(local)
	if err != nil {
		return nil, fmt.Errorf("open rpm database %s: %w", imagePath, err)
	}
	defer func() {
		// The SQLite reader closes its handle itself once read.
		if cerr := db.Close(); cerr != nil && err == nil && !strings.Contains(cerr.Error(), "database is closed") {
			err = fmt.Errorf("close rpm database %s: %w", imagePath, cerr)
		}
	}()
	pkgs, err := db.ListPackages()
	if err != nil {
		return nil, fmt.Errorf("read rpm database %s: %w", imagePath, err)
	}
	comps = make([]catalog.Component, 0, len(pkgs))
	var warns []string
	for i, p := range pkgs {
		if p.Name == "gpg-pubkey" {
			continue // imported signing keys, not software
		}
		c, err := component(p, imagePath)
		if err != nil {
			warns = append(warns, fmt.Sprintf("package %d: %v", i+1, err))
			continue
		}
		comps = append(comps, c)
	}
	if len(warns) > 0 {
		return comps, &layer.Warning{Msgs: warns}
	}
	return comps, nil
}

func component(p *rpmdb.PackageInfo, imagePath string) (catalog.Component, error) {
	if p.Name == "" || p.Version == "" {
		return catalog.Component{}, errors.New("no name or version")
	}
	vr := p.Version
	if p.Release != "" {
		vr += "-" + p.Release
	}
	epoch := ""
	if p.Epoch != nil && *p.Epoch > 0 {
		epoch = strconv.Itoa(*p.Epoch)
	}
	version := vr
	if epoch != "" {
		version = epoch + ":" + vr
	}
	srcName, srcVersion := p.Name, version
	if n, v, ok := splitSourceRPM(p.SourceRpm); ok {
		srcName, srcVersion = n, v
		if epoch != "" {
			srcVersion = epoch + ":" + v
		}
	}
	return catalog.Component{
		Name:          p.Name,
		Version:       version,
		Ecosystem:     catalog.RedHat,
		SourceName:    srcName,
		SourceVersion: srcVersion,
		Path:          imagePath,
		PURL:          purl.RPM("redhat", p.Name, vr, p.Arch, epoch),
		License:       p.License,
	}, nil
}

// checkSQLite queries an SQLite database once before the reader library
// does: the library leaves a goroutine blocked forever when its query fails,
// so a corrupt database must be turned away here. Other formats pass.
func checkSQLite(ctx context.Context, local string) (err error) {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	magic := make([]byte, len(sqliteMagic))
	_, rerr := io.ReadFull(f, magic)
	if cerr := f.Close(); cerr != nil {
		return cerr
	}
	if rerr != nil || string(magic) != sqliteMagic {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+local+"?mode=ro")
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM Packages").Scan(&n); err != nil {
		return fmt.Errorf("query packages: %w", err)
	}
	return nil
}

const sqliteMagic = "SQLite format 3\x00"

// splitSourceRPM parses "name-version-release.src.rpm" (also .nosrc.rpm)
// into the source name and "version-release".
func splitSourceRPM(s string) (name, versionRelease string, ok bool) {
	base, found := strings.CutSuffix(s, ".src.rpm")
	if !found {
		if base, found = strings.CutSuffix(s, ".nosrc.rpm"); !found {
			return "", "", false
		}
	}
	r := strings.LastIndexByte(base, '-')
	if r <= 0 {
		return "", "", false
	}
	v := strings.LastIndexByte(base[:r], '-')
	if v <= 0 {
		return "", "", false
	}
	return base[:v], base[v+1:], true
}
