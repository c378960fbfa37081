// Package rescan keeps Central's image scans current: new vulnerabilities
// are published after an image is deployed, and tags move.
//
// Every interval the scheduler resolves again each image name it knows —
// those the deployments in the inventory run and those stored scans were
// made under — scanning an image whose tag now points elsewhere, and then
// matches every stored scan against the vulnerability database as it is
// now. When the database changes (an import), the stored scans are matched
// again right away, without waiting for the interval and without asking any
// registry. Work runs a few images at a time; one failing image is logged
// and counted, never stops the run.
package rescan

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stockade-dev/stockade/internal/central/imagescan"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

// DefaultInterval is how often images are rescanned unless configured.
const DefaultInterval = 4 * time.Hour

// DefaultParallel bounds the images rescanned at once.
const DefaultParallel = 2

// Scanner scans and matches images (imagescan.Service).
type Scanner interface {
	Scan(ctx context.Context, req imagescan.Request) (imagescan.Result, error)
	Rematch(ctx context.Context, digest string) (*scan.Image, error)
}

// Images are the stored scans and the names they were made under.
type Images interface {
	ImageNames(ctx context.Context) ([]store.ImageName, error)
	ListImages(ctx context.Context, q store.ImageQuery) ([]store.ImageRecord, int, error)
}

// Deployments are the workloads Central knows of (the inventory).
type Deployments interface {
	Each(ctx context.Context, fn func(*workload.Deployment) error) error
}

// Observer records runs (Prometheus metrics in Central).
type Observer interface {
	ObserveRescan(trigger string, d time.Duration, images, failed int)
}

// Triggers of a run.
const (
	TriggerSchedule = "schedule"
	TriggerVulnDB   = "vulndb"
)

// Summary is what one run did.
type Summary struct {
	Trigger string
	// Names is how many image names were resolved again; Images how many
	// scans were refreshed (matched again, or scanned anew because a tag
	// moved or an image was new); Failed how many names or images failed.
	Names  int
	Images int
	Failed int
}

// Scheduler runs rescans. Create it with New and start it with Run.
type Scheduler struct {
	interval time.Duration
	parallel int
	scanner  Scanner
	images   Images
	deploys  Deployments
	obs      Observer
	log      *slog.Logger

	vulndb chan struct{} // a pending "the database changed"
	// runMu keeps runs from overlapping (a trigger during a scheduled run
	// waits for it).
	runMu sync.Mutex
}

// Config sets the interval (0 disables scheduled runs; database changes
// still trigger matching) and the parallelism (0 means DefaultParallel).
type Config struct {
	Interval time.Duration
	Parallel int
}

// New returns a scheduler; obs may be nil.
func New(cfg Config, sc Scanner, images Images, deploys Deployments, obs Observer, log *slog.Logger) *Scheduler {
	p := cfg.Parallel
	if p <= 0 {
		p = DefaultParallel
	}
	return &Scheduler{interval: cfg.Interval, parallel: p, scanner: sc, images: images, deploys: deploys, obs: obs, log: log,
		vulndb: make(chan struct{}, 1)}
}

// VulnDBChanged asks for the stored scans to be matched again soon. It never
// blocks; changes that arrive while a match is pending are merged into it.
func (s *Scheduler) VulnDBChanged() {
	select {
	case s.vulndb <- struct{}{}:
	default:
	}
}

// Run serves triggers and the schedule until ctx ends, then returns once
// the run in progress has stopped.
func (s *Scheduler) Run(ctx context.Context) {
	var tick <-chan time.Time
	if s.interval > 0 {
		t := time.NewTicker(s.interval)
		defer t.Stop()
		tick = t.C
	}
	s.log.Info("image rescans scheduled", "interval", s.interval.String(), "parallel", s.parallel)
	for {
		select {
		case <-ctx.Done():
			s.log.Info("image rescans stopped")
			return
		case <-tick:
			s.RunOnce(ctx)
		case <-s.vulndb:
			s.Rematch(ctx)
		}
	}
}

// RunOnce is one scheduled run: resolve every known name, then match every
// stored scan not already refreshed by that.
func (s *Scheduler) RunOnce(ctx context.Context) Summary {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	start := time.Now()
	sum := Summary{Trigger: TriggerSchedule}
	names, err := s.names(ctx)
	if err != nil {
		s.log.Warn("image rescan could not list image names", "err", err)
	}
	done := newDigestSet()
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.parallel)
	for _, n := range names {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			res, err := s.scanner.Scan(gctx, imagescan.Request{Ref: n})
			mu.Lock()
			defer mu.Unlock()
			sum.Names++
			if err != nil {
				sum.Failed++
				s.log.Warn("image rescan failed", "image", n, "err", err)
				return nil
			}
			if res.How != imagescan.HowCached {
				done.add(res.Image.Digest)
				sum.Images++
			}
			return nil
		})
	}
	_ = g.Wait() // the goroutines return nil: failures are counted
	s.rematch(ctx, done, &sum)
	s.finish(sum, time.Since(start))
	return sum
}

// Rematch matches every stored scan against the database as it is now.
func (s *Scheduler) Rematch(ctx context.Context) Summary {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	start := time.Now()
	sum := Summary{Trigger: TriggerVulnDB}
	s.rematch(ctx, newDigestSet(), &sum)
	s.finish(sum, time.Since(start))
	return sum
}

func (s *Scheduler) finish(sum Summary, d time.Duration) {
	if s.obs != nil {
		s.obs.ObserveRescan(sum.Trigger, d, sum.Images, sum.Failed)
	}
	s.log.Info("image rescan done", "trigger", sum.Trigger, "names", sum.Names, "images", sum.Images, "failed", sum.Failed,
		"duration", d.Round(time.Millisecond).String())
}

// rematch matches the stored scans whose digests are not in done.
func (s *Scheduler) rematch(ctx context.Context, done *digestSet, sum *Summary) {
	recs, _, err := s.images.ListImages(ctx, store.ImageQuery{Sort: "name"})
	if err != nil {
		s.log.Warn("image rescan could not list stored images", "err", err)
		sum.Failed++
		return
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.parallel)
	for _, r := range recs {
		if gctx.Err() != nil {
			break
		}
		if done.has(r.Digest) {
			continue
		}
		g.Go(func() error {
			_, err := s.scanner.Rematch(gctx, r.Digest)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				sum.Failed++
				s.log.Warn("image rematch failed", "image", r.FullName, "digest", r.Digest, "err", err)
				return nil
			}
			sum.Images++
			return nil
		})
	}
	_ = g.Wait() // the goroutines return nil: failures are counted
}

// names are the distinct image names of the inventory's containers and of
// the stored scans. Stored names pinned by digest are left to rematching, as
// a digest cannot move; a deployment's pinned image is resolved like any,
// which scans it if Central never has and costs no registry call if it has.
func (s *Scheduler) names(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	var errs []error
	if s.deploys != nil {
		if err := s.deploys.Each(ctx, func(d *workload.Deployment) error {
			for _, c := range d.Containers {
				add(c.Image.FullName)
			}
			return nil
		}); err != nil {
			errs = append(errs, err)
		}
	}
	stored, err := s.images.ImageNames(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, n := range stored {
		if !isPinned(n.FullName) {
			add(n.FullName)
		}
	}
	return out, errors.Join(errs...)
}

// isPinned reports whether an image name ends in a digest.
func isPinned(fullName string) bool {
	for i := len(fullName) - 1; i >= 0 && fullName[i] != '/'; i-- {
		if fullName[i] == '@' {
			return true
		}
	}
	return false
}

// digestSet is the digests a run has refreshed already.
type digestSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func newDigestSet() *digestSet { return &digestSet{m: map[string]bool{}} }

func (d *digestSet) add(digest string) {
	d.mu.Lock()
	d.m[digest] = true
	d.mu.Unlock()
}

func (d *digestSet) has(digest string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[digest]
}
