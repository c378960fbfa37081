// Package gobinary finds the Go modules compiled into Go executables (ELF,
// Mach-O, PE) from the build information the Go linker embeds in them.
//
// The one idea: a Go binary names every module it was built from, with the
// version, and the Go toolchain that built it. Each module becomes a component
// of the Go ecosystem, and the toolchain becomes the component "stdlib", so
// that Go vulnerability records about the standard library match the same way
// govulncheck matches them at module level.
package gobinary

import (
	"bytes"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/purl"
	"github.com/stockade-dev/stockade/internal/scanner/version"
)

// StdlibName is the module path the Go vulnerability database uses for the
// standard library.
const StdlibName = "stdlib"

// Size bounds for files worth opening: a Go binary carries the runtime, so
// anything below MinSize is not one; MaxSize keeps giant files out.
const (
	MinSize = 64 << 10
	MaxSize = 1 << 30
)

// IsExecutable reports whether head, the first bytes of a file, starts with
// the magic number of an executable format Go produces: ELF, PE, Mach-O
// (thin or fat).
func IsExecutable(head []byte) bool {
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")),
		bytes.HasPrefix(head, []byte("MZ")),
		bytes.HasPrefix(head, []byte("\xfe\xed\xfa\xce")), // Mach-O 32-bit big endian
		bytes.HasPrefix(head, []byte("\xfe\xed\xfa\xcf")), // Mach-O 64-bit big endian
		bytes.HasPrefix(head, []byte("\xce\xfa\xed\xfe")), // Mach-O 32-bit little endian
		bytes.HasPrefix(head, []byte("\xcf\xfa\xed\xfe")), // Mach-O 64-bit little endian
		bytes.HasPrefix(head, []byte("\xca\xfe\xba\xbe")): // Mach-O universal
		return true
	}
	return false
}

// Parse reads the build information of the executable r and returns its
// modules as components found at path. A file that is not an executable, or
// an executable that is not a Go binary (or was built without build
// information), yields no components and no error.
func Parse(r io.ReaderAt, path string) (comps []catalog.Component, err error) {
	head := make([]byte, 4)
	if n, err := r.ReadAt(head, 0); n < len(head) {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		return nil, nil
	}
	if !IsExecutable(head) {
		return nil, nil
	}
	// The executable parsers of the standard library are fuzzed upstream,
	// but a panic on a hostile binary must not take the scan down with it.
	defer func() {
		if p := recover(); p != nil {
			comps, err = nil, fmt.Errorf("read build info of %s: malformed executable: %v", path, p)
		}
	}()
	bi, err := buildinfo.Read(r)
	if err != nil {
		if notGo(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read build info of %s: %w", path, err)
	}
	return Components(bi, path), nil
}

// notGo reports whether err is how debug/buildinfo says "this executable is
// not a Go binary" (or not one it can read). Those errors are unexported, so
// their text is the only handle; every C binary in an image lands here, and
// none of them deserves a warning.
func notGo(err error) bool {
	switch err.Error() {
	case "not a Go executable", "unrecognized file format":
		return true
	}
	return false
}

// Components turns build information into components found at path: the
// main module when it carries a version, every dependency (a replaced module
// is reported under its replacement), and the standard library.
func Components(bi *debug.BuildInfo, path string) []catalog.Component {
	comps := make([]catalog.Component, 0, len(bi.Deps)+2)
	if m := effective(&bi.Main); versioned(m) {
		comps = append(comps, component(m.Path, m.Version, path))
	}
	for _, d := range bi.Deps {
		if m := effective(d); versioned(m) {
			comps = append(comps, component(m.Path, m.Version, path))
		}
	}
	if v := StdlibVersion(bi.GoVersion); v != "" {
		comps = append(comps, component(StdlibName, v, path))
	}
	return comps
}

// versioned reports whether m names a released module version. A main module
// built from a work tree is "(devel)"; a module replaced by a local directory
// is "(devel)" or empty, and its path is the directory: neither has a version
// a vulnerability record could name.
func versioned(m *debug.Module) bool {
	return m != nil && m.Path != "" && m.Version != "" && m.Version != "(devel)"
}

func effective(m *debug.Module) *debug.Module {
	if m == nil {
		return nil
	}
	if m.Replace != nil {
		return m.Replace
	}
	return m
}

func component(module, version, path string) catalog.Component {
	return catalog.Component{
		Name:      module,
		Version:   version,
		Ecosystem: catalog.Go,
		Path:      path,
		PURL:      PURL(module, version),
	}
}

// StdlibVersion turns a Go toolchain version as build information records it
// into the semantic version the Go vulnerability database uses for "stdlib":
// go1.22.3 → v1.22.3, go1.21 → v1.21.0, go1.21rc2 → v1.21.0-rc.2. Experiment
// suffixes ("go1.22.3 X:boringcrypto") are dropped. Development toolchains
// ("devel …") and anything else that is not a release yield "".
func StdlibVersion(goVersion string) string {
	if !strings.HasPrefix(goVersion, "go") {
		return ""
	}
	v, ok := version.GoSemVer(goVersion)
	if !ok {
		return ""
	}
	return v
}

// PURL is the package URL of a Go module version (see purl.Golang):
// pkg:golang/golang.org/x/net@v0.7.0.
func PURL(module, version string) string { return purl.Golang(module, version) }
