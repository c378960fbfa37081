package layer

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// LayerRef is one layer of an image, bottom first in a list: its digest and
// a way to open its uncompressed tar stream. Open is called only when the
// layer's result is not cached.
type LayerRef struct {
	Digest string
	Open   func(ctx context.Context) (io.ReadCloser, error)
}

// ScannerOptions configure a Scanner; zero fields take their defaults.
type ScannerOptions struct {
	// Cache keeps layer results between scans; nil caches nothing.
	Cache Cache
	// Parallel bounds the layers walked at once (default 2).
	Parallel int
	Logger   *slog.Logger
}

// Scanner catalogs images layer by layer, walking only the layers whose
// results are not cached.
type Scanner struct {
	walker   *Walker
	cache    Cache
	parallel int
	log      *slog.Logger
}

// NewScanner returns a Scanner walking layers with w.
func NewScanner(w *Walker, opts ScannerOptions) *Scanner {
	p := opts.Parallel
	if p <= 0 {
		p = 2
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scanner{walker: w, cache: opts.Cache, parallel: p, log: log}
}

// Scan returns the merged catalog of the layers, bottom first.
func (s *Scanner) Scan(ctx context.Context, layers []LayerRef) (catalog.Catalog, error) {
	rs, err := s.layers(ctx, layers, false)
	if err != nil {
		return catalog.Catalog{}, err
	}
	return Merge(rs), nil
}

// Rescan is Scan ignoring cached results; the cache is refreshed.
func (s *Scanner) Rescan(ctx context.Context, layers []LayerRef) (catalog.Catalog, error) {
	rs, err := s.layers(ctx, layers, true)
	if err != nil {
		return catalog.Catalog{}, err
	}
	return Merge(rs), nil
}

// Layers returns each layer's result, from the cache or by walking it, in the
// order given.
func (s *Scanner) Layers(ctx context.Context, layers []LayerRef) ([]catalog.LayerResult, error) {
	return s.layers(ctx, layers, false)
}

func (s *Scanner) layers(ctx context.Context, layers []LayerRef, force bool) ([]catalog.LayerResult, error) {
	versions := s.walker.Versions()
	byDigest := make(map[string]catalog.LayerResult, len(layers))
	var misses []LayerRef
	for _, l := range layers {
		if l.Digest == "" {
			return nil, fmt.Errorf("scan layers: layer without a digest")
		}
		if _, seen := byDigest[l.Digest]; seen {
			continue
		}
		if !force && s.cache != nil {
			if res, ok := s.cache.Get(ctx, l.Digest, versions); ok {
				byDigest[l.Digest] = res
				continue
			}
		}
		byDigest[l.Digest] = catalog.LayerResult{}
		misses = append(misses, l)
	}

	walked := make([]catalog.LayerResult, len(misses))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.parallel)
	for i, l := range misses {
		g.Go(func() error {
			res, err := s.walkOne(gctx, l)
			walked[i] = res
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, l := range misses {
		byDigest[l.Digest] = walked[i]
	}

	out := make([]catalog.LayerResult, len(layers))
	for i, l := range layers {
		out[i] = byDigest[l.Digest]
	}
	return out, nil
}

func (s *Scanner) walkOne(ctx context.Context, l LayerRef) (res catalog.LayerResult, err error) {
	if l.Open == nil {
		return res, fmt.Errorf("open layer %s: no opener", l.Digest)
	}
	rc, err := l.Open(ctx)
	if err != nil {
		return res, fmt.Errorf("open layer %s: %w", l.Digest, err)
	}
	defer func() {
		if cerr := rc.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close layer %s: %w", l.Digest, cerr)
		}
	}()
	res, complete, err := s.walker.walk(ctx, l.Digest, rc)
	if err != nil {
		return res, err
	}
	if s.cache != nil && complete {
		if err := s.cache.Put(ctx, res); err != nil {
			s.log.Warn("layer result not cached", "digest", l.Digest, "error", err)
		}
	}
	return res, nil
}
