package gobinary

import (
	"context"
	"io/fs"
	"path"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// Analyzer reports the modules of Go executables. The zero value is ready to use.
type Analyzer struct{}

// New returns the Go binary analyzer.
func New() Analyzer { return Analyzer{} }

// Name implements layer.Analyzer.
func (Analyzer) Name() string { return "gobinary" }

// Version implements layer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Match wants regular files of a plausible size that are executable, or that
// carry the Windows executable extension (image layers built on Linux rarely
// keep an execute bit on .exe files). The magic number is checked in Analyze.
func (Analyzer) Match(p string, mode fs.FileMode, size int64) bool {
	if !mode.IsRegular() || size < MinSize || size > MaxSize {
		return false
	}
	return mode.Perm()&0o111 != 0 || strings.EqualFold(path.Ext(p), ".exe")
}

// Analyze implements layer.Analyzer.
func (Analyzer) Analyze(ctx context.Context, in layer.File) ([]catalog.Component, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return Parse(in.Content, in.Path)
}
