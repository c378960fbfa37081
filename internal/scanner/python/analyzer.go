package python

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// MaxSize is the largest metadata file matched; only its first MaxHeader
// bytes are read.
const MaxSize = 64 << 20

// Analyzer reports installed Python distributions. The zero value is ready to use.
type Analyzer struct{}

// New returns the Python analyzer.
func New() Analyzer { return Analyzer{} }

// Name implements layer.Analyzer.
func (Analyzer) Name() string { return "python" }

// Version implements layer.Analyzer.
func (Analyzer) Version() int { return 1 }

// isMetadata reports whether p is a core metadata file:
// x.dist-info/METADATA, x.egg-info/PKG-INFO, an x.egg-info file, or
// x.egg/EGG-INFO/PKG-INFO.
func isMetadata(p string) bool {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	parent := path.Base(dir)
	switch base {
	case "METADATA":
		return strings.HasSuffix(parent, ".dist-info") && len(parent) > len(".dist-info")
	case "PKG-INFO":
		if parent == "EGG-INFO" {
			return strings.HasSuffix(path.Base(path.Dir(dir)), ".egg")
		}
		return strings.HasSuffix(parent, ".egg-info") && len(parent) > len(".egg-info")
	}
	return strings.HasSuffix(base, ".egg-info") && len(base) > len(".egg-info")
}

// Match wants regular metadata files.
func (Analyzer) Match(p string, mode fs.FileMode, size int64) bool {
	return mode.IsRegular() && size > 0 && size <= MaxSize && isMetadata(p)
}

// Analyze implements layer.Analyzer.
func (Analyzer) Analyze(ctx context.Context, in layer.File) ([]catalog.Component, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := ParseMetadata(in.Reader())
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", in.Path, err)
	}
	return []catalog.Component{component(m, in.Path)}, nil
}
