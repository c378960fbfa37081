// Package java finds Maven artifacts in Java archives (jar, war, ear and the
// archives nested in them, such as WEB-INF/lib and BOOT-INF/lib).
//
// The one idea: an archive names what it contains in three ways, from most
// to least reliable: the pom.properties Maven writes under META-INF/maven
// (one per artifact, so a shaded jar names everything it shaded), the
// manifest's Implementation/Bundle headers, and the file name
// ("log4j-core-2.14.1.jar"). Archives are read through io.ReaderAt with
// archive/zip, never whole; a component found in a nested archive carries the
// path "outer.war!/WEB-INF/lib/inner.jar".
package java

import (
	"context"
	"io/fs"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// MaxSize is the largest archive the analyzer opens.
const MaxSize = 4 << 30

// Analyzer reports the Maven artifacts in Java archives.
type Analyzer struct {
	limits Limits
}

// New returns the Java analyzer with the given limits; zero fields take
// their DefaultLimits value (a MaxDepth of 0 means the default, not "no
// nesting").
func New(lim Limits) Analyzer {
	def := DefaultLimits()
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = def.MaxDepth
	}
	if lim.MaxNestedSize <= 0 {
		lim.MaxNestedSize = def.MaxNestedSize
	}
	if lim.MaxNestedTotal <= 0 {
		lim.MaxNestedTotal = def.MaxNestedTotal
	}
	if lim.MaxEntries == 0 {
		lim.MaxEntries = def.MaxEntries
	}
	if lim.MaxMetaSize <= 0 {
		lim.MaxMetaSize = def.MaxMetaSize
	}
	return Analyzer{limits: lim}
}

// Name implements layer.Analyzer.
func (Analyzer) Name() string { return "java" }

// Version implements layer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Match wants regular files named like a Java archive.
func (Analyzer) Match(path string, mode fs.FileMode, size int64) bool {
	return mode.IsRegular() && size > 0 && size <= MaxSize && isArchiveName(path)
}

// Analyze implements layer.Analyzer. Skipped nested archives and unreadable
// metadata come back as a *layer.Warning next to the components found.
func (a Analyzer) Analyze(ctx context.Context, in layer.File) ([]catalog.Component, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	comps, warnings, err := Parse(ctx, in.Content, in.Size, in.Path, a.limits)
	if err != nil {
		return nil, err
	}
	if len(warnings) > 0 {
		// The walker prefixes each message with the file's path already.
		for i, w := range warnings {
			w = strings.TrimPrefix(w, in.Path+"!/")
			warnings[i] = strings.TrimPrefix(w, in.Path+": ")
		}
		return comps, &layer.Warning{Msgs: warnings}
	}
	return comps, nil
}
