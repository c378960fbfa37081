package java

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// Limits bound the work and memory one archive may cost. Nested archives
// stored without compression (Spring Boot's BOOT-INF/lib) are read in place
// through the parent; compressed ones are inflated into memory, which is what
// MaxNestedSize bounds.
type Limits struct {
	// MaxDepth is how many levels of archives inside archives are opened
	// below the file itself (a jar in a war is depth 1).
	MaxDepth int
	// MaxNestedSize is the largest compressed nested archive inflated into
	// memory.
	MaxNestedSize int64
	// MaxNestedTotal bounds the bytes of all nested archives opened for one
	// file together, which bounds the time a zip bomb can cost.
	MaxNestedTotal int64
	// MaxEntries is the most entries one archive's central directory may
	// list; archive/zip holds every entry in memory.
	MaxEntries uint64
	// MaxMetaSize is the largest pom.properties or MANIFEST.MF read.
	MaxMetaSize int64
}

// DefaultLimits fit the scanner's memory budget: at most MaxDepth inflated
// archives of MaxNestedSize are held at once.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:       2,
		MaxNestedSize:  32 << 20,
		MaxNestedTotal: 1 << 30,
		MaxEntries:     200_000,
		MaxMetaSize:    1 << 20,
	}
}

// Parse reads the Java archive (jar, war, ear) r of size bytes found at path,
// and the archives nested in it, and returns the Maven components they carry.
// warnings name nested archives and metadata files that were skipped or
// malformed; err is set only when the archive itself cannot be read.
func Parse(ctx context.Context, r io.ReaderAt, size int64, path string, lim Limits) (comps []catalog.Component, warnings []string, err error) {
	p := &parser{ctx: ctx, lim: lim}
	if err := p.archive(r, size, path, path, 0); err != nil {
		return nil, nil, err
	}
	return dedupe(p.comps), p.warnings, nil
}

type parser struct {
	ctx      context.Context
	lim      Limits
	nested   int64 // bytes of nested archives opened so far
	comps    []catalog.Component
	warnings []string
}

func (p *parser) warnf(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

// archive catalogs one archive. name is the archive's own file name (for the
// file-name fallback), at its location as components report it.
func (p *parser) archive(r io.ReaderAt, size int64, at, name string, depth int) error {
	if err := checkDirectory(r, size, p.lim.MaxEntries); err != nil {
		return fmt.Errorf("open archive %s: %w", at, err)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("open archive %s: %w", at, err)
	}

	var (
		poms     []catalog.Component
		manifest *zip.File
		nested   []*zip.File
	)
	for _, f := range zr.File {
		n := f.Name
		switch {
		case isPomProperties(n):
			c, ok, err := p.pom(f)
			if err != nil {
				p.warnf("%s: %v", at, err)
				continue
			}
			if ok {
				c.Path = at
				poms = append(poms, c)
			}
		case strings.EqualFold(n, "META-INF/MANIFEST.MF"):
			manifest = f
		case isArchiveName(n) && !f.FileInfo().IsDir():
			nested = append(nested, f)
		}
	}

	self, selfOK := fromFileName(name)
	found := false
	for _, c := range poms {
		if selfOK && artifactOf(c.Name) == self.artifact {
			found = true
		}
	}
	p.comps = append(p.comps, poms...)
	// A jar whose pom.properties all describe shaded dependencies still is a
	// component itself; the manifest or its file name says which.
	if len(poms) == 0 || (selfOK && !found) {
		if c, ok := p.identify(manifest, name, at); ok {
			p.comps = append(p.comps, c)
		}
	}

	for _, f := range nested {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		p.nestedArchive(r, size, f, at, depth)
	}
	return nil
}

func (p *parser) nestedArchive(parent io.ReaderAt, parentSize int64, f *zip.File, at string, depth int) {
	inner := at + "!/" + f.Name
	if depth+1 > p.lim.MaxDepth {
		p.warnf("%s: skipped, nested deeper than %d archives", inner, p.lim.MaxDepth)
		return
	}
	var (
		r    io.ReaderAt
		size int64
	)
	switch f.Method {
	case zip.Store:
		off, err := f.DataOffset()
		if err != nil {
			p.warnf("%s: %v", inner, err)
			return
		}
		size = int64(f.CompressedSize64)
		if off < 0 || size < 0 || off > parentSize || size > parentSize-off {
			p.warnf("%s: entry lies outside its parent archive", inner)
			return
		}
		if p.nested+size > p.lim.MaxNestedTotal {
			p.warnf("%s: skipped, nested archives exceed %d bytes in total", inner, p.lim.MaxNestedTotal)
			return
		}
		r = io.NewSectionReader(parent, off, size)
	default:
		if f.UncompressedSize64 > uint64(p.lim.MaxNestedSize) {
			p.warnf("%s: skipped, %d bytes exceeds the nested archive limit of %d", inner, f.UncompressedSize64, p.lim.MaxNestedSize)
			return
		}
		if p.nested+int64(f.UncompressedSize64) > p.lim.MaxNestedTotal {
			p.warnf("%s: skipped, nested archives exceed %d bytes in total", inner, p.lim.MaxNestedTotal)
			return
		}
		b, err := readEntry(f, p.lim.MaxNestedSize)
		if err != nil {
			p.warnf("%s: %v", inner, err)
			return
		}
		r, size = bytes.NewReader(b), int64(len(b))
	}
	p.nested += size
	if err := p.archive(r, size, inner, path.Base(f.Name), depth+1); err != nil {
		if p.ctx.Err() != nil {
			return
		}
		p.warnf("%v", err)
	}
}

// readEntry inflates an entry, trusting neither its declared size nor its
// compression ratio.
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("inflates to more than %d bytes", limit)
	}
	return b, nil
}

func (p *parser) pom(f *zip.File) (catalog.Component, bool, error) {
	b, err := readEntry(f, p.lim.MaxMetaSize)
	if err != nil {
		return catalog.Component{}, false, fmt.Errorf("read %s: %w", f.Name, err)
	}
	props := ParseProperties(b)
	// META-INF/maven/<groupId>/<artifactId>/pom.properties
	dirs := strings.Split(f.Name, "/")
	g, a, v := props["groupId"], props["artifactId"], props["version"]
	if g == "" && len(dirs) == 5 {
		g = dirs[2]
	}
	if a == "" && len(dirs) == 5 {
		a = dirs[3]
	}
	if !valid(g) || !valid(a) || !valid(v) {
		return catalog.Component{}, false, nil
	}
	return component(g, a, v, ""), true, nil
}

// identify names an archive without pom.properties from its manifest, or
// else from its file name.
func (p *parser) identify(manifest *zip.File, name, at string) (catalog.Component, bool) {
	fn, fnOK := fromFileName(name)
	if manifest != nil {
		b, err := readEntry(manifest, p.lim.MaxMetaSize)
		if err != nil {
			p.warnf("%s: read %s: %v", at, manifest.Name, err)
		} else if g, a, v, ok := FromManifest(ParseManifest(b), fn.artifact); ok {
			return component(g, a, v, at), true
		}
	}
	if fnOK {
		return component("", fn.artifact, fn.version, at), true
	}
	return catalog.Component{}, false
}

func component(group, artifact, version, at string) catalog.Component {
	name := artifact
	if group != "" {
		name = group + ":" + artifact
	}
	return catalog.Component{
		Name:      name,
		Version:   version,
		Ecosystem: catalog.Maven,
		Path:      at,
		PURL:      PURL(group, artifact, version),
	}
}

func artifactOf(name string) string {
	if _, a, ok := strings.Cut(name, ":"); ok {
		return a
	}
	return name
}

// valid rejects empty values and unresolved Maven properties ("${project.version}").
func valid(s string) bool {
	return s != "" && !strings.Contains(s, "${") && !strings.ContainsAny(s, " \t\r\n")
}

func isPomProperties(name string) bool {
	return strings.HasPrefix(name, "META-INF/maven/") && strings.HasSuffix(name, "/pom.properties")
}

// isArchiveName reports whether name has the extension of a zip-based Java
// archive: jar, war, ear, and the plugin archives of Jenkins (hpi, jpi) and
// JBoss (sar, par).
func isArchiveName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".jar", ".war", ".ear", ".hpi", ".jpi", ".sar", ".par":
		return true
	}
	return false
}

type fileName struct{ artifact, version string }

// fromFileName splits "log4j-core-2.14.1.jar" into artifact and version at
// the last dash followed by a digit ("log4j-1.2-api-2.17.0" → "log4j-1.2-api").
func fromFileName(name string) (fileName, bool) {
	base := path.Base(name)
	base = strings.TrimSuffix(base, path.Ext(base))
	for i := len(base) - 2; i > 0; i-- {
		if base[i] == '-' && base[i+1] >= '0' && base[i+1] <= '9' {
			fn := fileName{artifact: base[:i], version: base[i+1:]}
			if valid(fn.artifact) && valid(fn.version) {
				return fn, true
			}
			return fileName{}, false
		}
	}
	return fileName{}, false
}

func dedupe(comps []catalog.Component) []catalog.Component {
	seen := make(map[[3]string]bool, len(comps))
	out := comps[:0]
	for _, c := range comps {
		k := [3]string{c.Name, c.Version, c.Path}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out
}

// checkDirectory reads the end-of-central-directory record (and its zip64
// form) and refuses archives that list more than max entries, before
// archive/zip allocates a record for each of them.
func checkDirectory(r io.ReaderAt, size int64, max uint64) error {
	const eocdLen, maxComment = 22, 1<<16 - 1
	if size < eocdLen {
		return errors.New("not a zip archive: too short")
	}
	n := int64(eocdLen + maxComment)
	if n > size {
		n = size
	}
	tail := make([]byte, n)
	if _, err := r.ReadAt(tail, size-n); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < eocdLen {
		return errors.New("not a zip archive: no end of central directory")
	}
	entries := uint64(binary.LittleEndian.Uint16(tail[i+10:]))
	if entries == 0xffff && i >= 20 && bytes.HasPrefix(tail[i-20:], []byte("PK\x06\x07")) {
		off := binary.LittleEndian.Uint64(tail[i-20+8:])
		rec := make([]byte, 56)
		if off < uint64(size) {
			if _, err := r.ReadAt(rec, int64(off)); err == nil && bytes.HasPrefix(rec, []byte("PK\x06\x06")) {
				entries = binary.LittleEndian.Uint64(rec[32:])
			}
		}
	}
	if entries > max {
		return fmt.Errorf("%d entries exceeds the limit of %d", entries, max)
	}
	return nil
}
