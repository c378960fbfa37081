// Package scanner scans container images: it reads an image from its
// registry, catalogs the packages of its layers, and matches them against the
// vulnerability database. It is the one entry point Central and the CLI share.
//
// The one idea: a scan is registry.Fetch → layer.Scanner (each layer's
// catalog cached by digest and analyzer versions) → match → scan.Image, so
// rescanning an image whose layers are known downloads and parses nothing;
// only the manifest is read again and the catalog is matched against the
// database as it is now.
package scanner

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/apk"
	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/dpkg"
	"github.com/stockade-dev/stockade/internal/scanner/gobinary"
	"github.com/stockade-dev/stockade/internal/scanner/java"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
	"github.com/stockade-dev/stockade/internal/scanner/match"
	"github.com/stockade-dev/stockade/internal/scanner/npm"
	"github.com/stockade-dev/stockade/internal/scanner/python"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
	"github.com/stockade-dev/stockade/internal/scanner/rpm"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// Options configure a Scanner.
type Options struct {
	// Resolver picks registry credentials; nil means anonymous access.
	Resolver *registry.Resolver
	// CacheDir keeps each layer's catalog between scans; empty caches
	// nothing.
	CacheDir string
	// DB is the vulnerability database; nil catalogs without matching (the
	// components have no vulnerabilities and a note says so).
	DB *vulndb.DB
	// Logger gets the scanner's records; nil discards them.
	Logger *slog.Logger
	// Parallel bounds the layers downloaded and walked at once (default 2).
	Parallel int

	// RootCAs are the CAs trusted for registry TLS; nil means the system's.
	RootCAs *x509.CertPool
	// UserAgent is sent to registries; empty means "stockade".
	UserAgent string
	// TempDir is where layer walks keep their private temporary
	// directories; empty means os.TempDir().
	TempDir string
	// Limits bound one layer walk; the zero value means layer.DefaultLimits.
	Limits layer.Limits
	// Now is the clock of ScanTime; nil means time.Now.
	Now func() time.Time
}

// ScanOptions configure one scan.
type ScanOptions struct {
	// Force walks every layer again, ignoring (and refreshing) the layer
	// cache.
	Force bool
	// Platform selects from a multi-arch index ("linux/arm64"); empty means
	// linux/amd64.
	Platform string
	// Progress, when set, is called as each layer is taken from the cache,
	// read and analyzed. Calls may come from several goroutines, but never at
	// the same time.
	Progress func(Progress)
}

// Stage says where one layer is in a scan.
type Stage string

// The stages a layer goes through: cached layers are reported once as
// StageCached; walked layers as StageDownloading (repeatedly, as bytes
// arrive) and then StageAnalyzed.
const (
	StageCached      Stage = "cached"
	StageDownloading Stage = "downloading"
	StageAnalyzed    Stage = "analyzed"
)

// Progress is the state of one layer during a scan.
type Progress struct {
	Image string // the reference being scanned
	// Index is the layer's position, base layer 0; Layers is how many the
	// image has.
	Index  int
	Layers int
	Digest string
	// Size is the layer blob's size as stored (compressed); Bytes is the
	// uncompressed tar bytes read from it so far.
	Size  int64
	Bytes int64
	Stage Stage
}

// Scanner scans images. It is safe for concurrent use.
type Scanner struct {
	opts     Options
	reg      layer.Registry
	walker   *layer.Walker
	cache    *layer.FSCache
	matcher  *match.Matcher
	log      *slog.Logger
	parallel int
}

// Analyzers is the analyzer list of every scan, in the order they run: the
// function is the list. Adding an ecosystem means adding its analyzer here.
func Analyzers() []layer.Analyzer {
	return []layer.Analyzer{
		dpkg.New(),
		apk.New(),
		rpm.New(),
		gobinary.New(),
		java.New(java.DefaultLimits()),
		npm.New(),
		python.New(),
	}
}

// New builds a Scanner. It creates CacheDir when missing.
func New(opts Options) (*Scanner, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg, err := layer.NewRegistry(Analyzers()...)
	if err != nil {
		return nil, fmt.Errorf("analyzer registry: %w", err)
	}
	lim := opts.Limits
	if lim == (layer.Limits{}) {
		lim = layer.DefaultLimits()
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 2
	}
	s := &Scanner{
		opts:     opts,
		reg:      reg,
		walker:   layer.NewWalker(reg, layer.WalkerOptions{Limits: lim, TempDir: opts.TempDir, Logger: log}),
		log:      log,
		parallel: parallel,
	}
	if opts.CacheDir != "" {
		if s.cache, err = layer.NewFSCache(opts.CacheDir); err != nil {
			return nil, err
		}
	}
	if opts.DB != nil {
		s.matcher = match.New(opts.DB, log)
	}
	return s, nil
}

// Analyzers returns the names and versions of the analyzers the scanner
// runs (OS detection included), the set that keys the layer cache.
func (s *Scanner) Analyzers() map[string]int { return s.reg.Versions() }

// Scan fetches ref from its registry, catalogs its layers (from the cache
// unless so.Force) and matches the catalog against the database.
// Registry failures are *registry.Error values (errors.As), naming the
// registry and the image.
func (s *Scanner) Scan(ctx context.Context, ref string, so ScanOptions) (*scan.Image, error) {
	im, err := registry.Fetch(ctx, ref, registry.Options{
		Resolver:  s.opts.Resolver,
		Platform:  so.Platform,
		RootCAs:   s.opts.RootCAs,
		Logger:    s.log,
		UserAgent: s.opts.UserAgent,
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", ref, err)
	}
	out := im.ScanImage()
	out.Notes = slices.Clone(im.Notes)

	refs := im.Layers()
	prog := newProgress(ref, refs, so.Progress)
	layers := make([]layer.LayerRef, len(refs))
	for i, l := range refs {
		layers[i] = layer.LayerRef{Digest: l.Digest, Open: prog.opener(i, l)}
	}
	var cache layer.Cache
	if s.cache != nil {
		cache = &reportingCache{inner: s.cache, prog: prog}
	}
	ls := layer.NewScanner(s.walker, layer.ScannerOptions{Cache: cache, Parallel: s.parallel, Logger: s.log})
	var cat catalog.Catalog
	if so.Force {
		cat, err = ls.Rescan(ctx, layers)
	} else {
		cat, err = ls.Scan(ctx, layers)
	}
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", ref, err)
	}
	out.OS = cat.OS
	out.Notes = append(out.Notes, cat.Warnings...)

	if s.matcher == nil {
		out.Components = make([]scan.Component, len(cat.Components))
		for i, c := range cat.Components {
			out.Components[i] = scan.Component{Component: c}
		}
		out.Notes = append(out.Notes, "no vulnerability database: components were not matched")
	} else {
		if out.Components, err = s.matcher.Match(ctx, cat.OS, cat.Components); err != nil {
			return nil, fmt.Errorf("scan %s: match: %w", ref, err)
		}
	}
	if out.Components == nil {
		out.Components = []scan.Component{}
	}
	now := time.Now
	if s.opts.Now != nil {
		now = s.opts.Now
	}
	out.ScanTime = now().UTC()
	s.log.DebugContext(ctx, "scanned image", "ref", ref, "digest", out.Digest,
		"components", len(out.Components), "layers", len(refs))
	return &out, nil
}

// progress reports layer progress to the caller's callback, one call at a
// time.
type progress struct {
	mu     sync.Mutex
	fn     func(Progress)
	image  string
	layers []registry.LayerRef
	index  map[string]int
}

func newProgress(image string, layers []registry.LayerRef, fn func(Progress)) *progress {
	p := &progress{fn: fn, image: image, layers: layers, index: make(map[string]int, len(layers))}
	for i, l := range layers {
		if _, ok := p.index[l.Digest]; !ok {
			p.index[l.Digest] = i
		}
	}
	return p
}

func (p *progress) report(i int, stage Stage, n int64) {
	if p.fn == nil {
		return
	}
	l := p.layers[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn(Progress{Image: p.image, Index: i, Layers: len(p.layers), Digest: l.Digest, Size: l.Size, Bytes: n, Stage: stage})
}

// progressStep is how many bytes pass between two StageDownloading reports.
const progressStep = 1 << 20

// opener opens layer i, reporting the bytes read and the end of the walk
// (the walker closes the stream when it is done with the layer).
func (p *progress) opener(i int, l registry.LayerRef) func(context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		p.report(i, StageDownloading, 0)
		rc, err := l.Open(ctx)
		if err != nil {
			return nil, err
		}
		return &countingReader{rc: rc, p: p, i: i}, nil
	}
}

type countingReader struct {
	rc       io.ReadCloser
	p        *progress
	i        int
	n        atomic.Int64
	reported int64
	closed   bool
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.rc.Read(b)
	total := c.n.Add(int64(n))
	if total-c.reported >= progressStep {
		c.reported = total
		c.p.report(c.i, StageDownloading, total)
	}
	return n, err
}

func (c *countingReader) Close() error {
	err := c.rc.Close()
	if !c.closed && err == nil {
		c.closed = true
		c.p.report(c.i, StageAnalyzed, c.n.Load())
	}
	return err
}

// reportingCache reports cache hits as progress.
type reportingCache struct {
	inner layer.Cache
	prog  *progress
}

func (c *reportingCache) Get(ctx context.Context, digest string, versions map[string]int) (catalog.LayerResult, bool) {
	res, ok := c.inner.Get(ctx, digest, versions)
	if ok {
		c.prog.report(c.prog.index[digest], StageCached, 0)
	}
	return res, ok
}

func (c *reportingCache) Put(ctx context.Context, res catalog.LayerResult) error {
	return c.inner.Put(ctx, res)
}
