package layer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"sort"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// Analyzer finds components in one file of a layer. Analyzers are stateless
// values: the Walker asks Match about every file entry of a layer and calls
// Analyze for the files that match, so an analyzer never sees the tar stream,
// other files, or the host file system.
//
// Analyzers that need several files (dpkg's status.d/*, a Python dist-info
// directory) stay per-file: each file yields the components it describes,
// recorded under its own path, and Merge applies layers path by path.
type Analyzer interface {
	// Name is the stable identifier of the analyzer ("dpkg"), used in the
	// cache key and in warnings.
	Name() string
	// Version is bumped whenever the analyzer's output for the same input
	// changes; it invalidates cached layer results.
	Version() int
	// Match reports whether the analyzer wants the file. path is cleaned and
	// relative to the image root, without a leading slash ("var/lib/dpkg/status").
	// mode carries the type bits: regular files have none, symlinks
	// fs.ModeSymlink. size is the file's size in bytes (0 for links). Match
	// must be cheap: it is called for every entry of every layer.
	Match(path string, mode fs.FileMode, size int64) bool
	// Analyze returns the components the file describes. A file that is
	// valid but describes nothing returns an empty list; malformed content
	// that can be partly understood is reported with a *Warning error next
	// to the components that could be read.
	Analyze(ctx context.Context, in File) ([]catalog.Component, error)
}

// File is one matched file handed to an Analyzer. Its content is valid only
// for the duration of the Analyze call.
//
// Small files are held in memory; files above the Walker's memory threshold
// are spooled to a private temporary file, so Content is a ReaderAt either
// way and big Go binaries or jars can be opened with debug/elf or
// archive/zip without being read whole.
type File struct {
	// Path is cleaned and relative to the image root, without a leading slash.
	Path string
	// Mode holds the permission bits of the entry (type bits are never set:
	// Analyze only sees regular file content, links are resolved first).
	Mode fs.FileMode
	// Size is the exact length of Content.
	Size int64
	// Content gives random access to the file's bytes [0, Size).
	Content io.ReaderAt
	// LocalPath returns the name of a file holding the content inside the
	// walker's private temporary directory, writing it there on first use.
	// It is for libraries that only open paths (an rpm database); the file
	// is removed with the directory after the layer walk.
	LocalPath func() (string, error)
}

// Reader returns a sequential reader over the whole file.
func (f File) Reader() io.Reader { return io.NewSectionReader(f.Content, 0, f.Size) }

// ReadAll returns the file's bytes, refusing files larger than limit so that
// an analyzer states the most it is willing to hold in memory.
func (f File) ReadAll(limit int64) ([]byte, error) {
	if f.Size > limit {
		return nil, fmt.Errorf("read %s: %d bytes exceeds the analyzer limit of %d", f.Path, f.Size, limit)
	}
	buf := make([]byte, f.Size)
	// A ReaderAt may answer a read that ends at the end of its content with
	// io.EOF and a full buffer: only a short read is an error then.
	if n, err := f.Content.ReadAt(buf, 0); err != nil && (n < len(buf) || !errors.Is(err, io.EOF)) {
		return nil, fmt.Errorf("read %s: %w", f.Path, err)
	}
	return buf, nil
}

// Warning is an analysis problem that did not make the whole file useless:
// the components returned next to it are kept and the message is recorded in
// the layer's warnings. Any other error drops the file's components.
type Warning struct {
	Msgs []string
}

func (w *Warning) Error() string {
	if len(w.Msgs) == 1 {
		return w.Msgs[0]
	}
	return fmt.Sprintf("%s (and %d more)", w.Msgs[0], len(w.Msgs)-1)
}

// Registry is the ordered set of analyzers a Walker runs. It is a value built
// by the caller (the composition root lists the analyzers it wants); there is
// no global registration.
type Registry struct {
	analyzers []Analyzer
}

// NewRegistry checks that every analyzer has a unique, non-empty name and a
// positive version. The name "osrelease" is reserved for the built-in OS
// detection.
func NewRegistry(analyzers ...Analyzer) (Registry, error) {
	seen := map[string]bool{osName: true}
	for i, a := range analyzers {
		if a == nil {
			return Registry{}, fmt.Errorf("analyzer %d: nil", i)
		}
		name := a.Name()
		if name == "" {
			return Registry{}, fmt.Errorf("analyzer %d: empty name", i)
		}
		if seen[name] {
			return Registry{}, fmt.Errorf("analyzer %q: name used twice (or reserved)", name)
		}
		if a.Version() < 1 {
			return Registry{}, fmt.Errorf("analyzer %q: version %d, want >= 1", name, a.Version())
		}
		seen[name] = true
	}
	return Registry{analyzers: append([]Analyzer(nil), analyzers...)}, nil
}

// Analyzers returns the analyzers in registration order.
func (r Registry) Analyzers() []Analyzer { return append([]Analyzer(nil), r.analyzers...) }

// Versions is the analyzer name → version set, including OS detection; it is
// the cache key next to the layer digest.
func (r Registry) Versions() map[string]int {
	v := make(map[string]int, len(r.analyzers)+1)
	v[osName] = osVersion
	for _, a := range r.analyzers {
		v[a.Name()] = a.Version()
	}
	return v
}

// Names returns the analyzer names, sorted.
func (r Registry) Names() []string {
	names := make([]string, 0, len(r.analyzers))
	for n := range maps.Keys(r.Versions()) {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// OS detection is built into the Walker (see package osrelease); its name and
// version take part in the cache key like any analyzer's.
const (
	osName    = "osrelease"
	osVersion = 1
)
