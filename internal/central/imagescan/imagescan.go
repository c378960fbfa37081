// Package imagescan is Central's image scanning service: it scans images
// through the scanner facade with Central's vulnerability database and
// layer cache, keeps every result in the store by manifest digest, and
// remembers when each vulnerability was first seen in an image and in any.
//
// The one idea: a scan is done once per digest and vulnerability database.
// A request resolves the reference to its digest (the registry's manifest,
// nothing more); a stored scan of that digest matched against the current
// database is returned as is; one matched against an older database is
// matched again from its stored components, without touching layers; only
// an unknown digest, or force, scans the layers (from the layer cache where
// it can). The credentials are those of the stored image integrations;
// SetIntegrations swaps them in whenever they change.
package imagescan

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/scanner"
	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/match"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
	"github.com/stockade-dev/stockade/internal/workload"
)

// ScanTimeout bounds one scan, however many requests wait for it.
const ScanTimeout = 15 * time.Minute

// Store is what the service keeps scans in.
type Store interface {
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
	GetImage(ctx context.Context, digest string) (store.ImageRecord, error)
	GetImageByName(ctx context.Context, fullName string) (store.ImageRecord, error)
}

// Observer records scans (Prometheus metrics in Central). How is one of
// the How constants.
type Observer interface {
	ObserveScan(how string, d time.Duration, err error)
}

// How a request was answered.
const (
	HowScanned   = "scanned"   // layers cataloged (from the layer cache where possible) and matched
	HowRematched = "rematched" // stored components matched against the current database
	HowCached    = "cached"    // the stored scan, current already
)

// Config is what the service needs beyond the store and the database.
type Config struct {
	// CacheDir is the layer cache; TempDir holds layer walks.
	CacheDir string
	TempDir  string
	// Parallel bounds the layers of one scan walked at once.
	Parallel int
	// RootCAs are trusted for registry TLS on top of none (nil: the system's).
	RootCAs *x509.CertPool
	// Observer records scans; nil records nothing.
	Observer Observer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service scans and keeps images. It is safe for concurrent use.
type Service struct {
	store   Store
	vdb     *vulndb.DB
	cfg     Config
	log     *slog.Logger
	matcher *match.Matcher
	flight  singleflight.Group
	// base is the context of every scan: it ends with Close, not with the
	// request that started the scan. flights counts the scans running.
	base    context.Context
	stop    context.CancelFunc
	flights sync.WaitGroup
	closeMu sync.Mutex
	closed  bool

	mu       sync.RWMutex
	resolver *registry.Resolver
	scanner  *scanner.Scanner
	version  string // of the vulnerability database
}

// New builds the service over st and the database vdb, with anonymous
// registry access until SetIntegrations, and reads the database's version.
func New(ctx context.Context, st Store, vdb *vulndb.DB, cfg Config, log *slog.Logger) (*Service, error) {
	s := &Service{store: st, vdb: vdb, cfg: cfg, log: log, matcher: match.New(vdb, log)}
	if err := s.SetIntegrations(nil); err != nil {
		return nil, err
	}
	if err := s.RefreshVulnDB(ctx); err != nil {
		return nil, err
	}
	s.base, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	return s, nil
}

// Close cancels the scans in progress and waits for them to end, so that
// the store and the database can be closed after it.
func (s *Service) Close() {
	s.closeMu.Lock()
	s.closed = true
	s.closeMu.Unlock()
	s.stop()
	s.flights.Wait()
}

// track counts a starting scan, or reports that the service is closed.
func (s *Service) track() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return errors.New("image scanning is shutting down")
	}
	s.flights.Add(1)
	return nil
}

// SetIntegrations makes later scans use these registry credentials. An
// invalid integration is an error and changes nothing.
func (s *Service) SetIntegrations(ins []registry.Integration) error {
	res, err := registry.NewResolver(ins, nil)
	if err != nil {
		return fmt.Errorf("image integrations: %w", err)
	}
	sc, err := scanner.New(scanner.Options{
		Resolver: res, CacheDir: s.cfg.CacheDir, DB: s.vdb, Logger: s.log, Parallel: s.cfg.Parallel,
		RootCAs: s.cfg.RootCAs, UserAgent: "stockade-central", TempDir: s.cfg.TempDir, Now: s.cfg.Now,
	})
	if err != nil {
		return fmt.Errorf("image scanner: %w", err)
	}
	s.mu.Lock()
	s.resolver, s.scanner = res, sc
	s.mu.Unlock()
	return nil
}

// RefreshVulnDB reads the database's version again; call it after an
// import. Stored scans matched against another version are matched again
// when next asked for.
func (s *Service) RefreshVulnDB(ctx context.Context) error {
	st, err := s.vdb.Status(ctx)
	if err != nil {
		return err
	}
	v := versionOf(st)
	s.mu.Lock()
	s.version = v
	s.mu.Unlock()
	return nil
}

// versionOf names a state of the database: its last import and what it
// holds.
func versionOf(st vulndb.Status) string {
	last := "never"
	if !st.LastImport.IsZero() {
		last = st.LastImport.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s/%d/%d/%d", last, st.Records, st.Withdrawn, st.NVD)
}

// VulnDBVersion is the version stored scans are compared with.
func (s *Service) VulnDBVersion() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.version
}

func (s *Service) current() (*registry.Resolver, *scanner.Scanner, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.resolver, s.scanner, s.version
}

func (s *Service) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now().UTC()
	}
	return time.Now().UTC()
}

// Request is one scan request.
type Request struct {
	// Ref is the image reference: "nginx:1.25", "reg:5000/team/app@sha256:…".
	Ref string
	// Force catalogs every layer again, ignoring stored scans and the
	// layer cache.
	Force bool
	// Refresh matches a stored scan again even when the database has not
	// changed, so its scan time is now (scheduled rescans).
	Refresh bool
	// Platform picks from a multi-arch index; empty means linux/amd64.
	Platform string
}

// Result is a scan and how it was obtained.
type Result struct {
	Image *scan.Image
	How   string
}

// Scan answers a request (see the package documentation). Identical
// requests running at the same time share one scan, which runs to its end
// (bounded by ScanTimeout) even when the caller that started it goes away,
// so that its result is stored. The returned image is shared: read it only.
func (s *Service) Scan(ctx context.Context, req Request) (Result, error) {
	req.Ref = strings.TrimSpace(req.Ref)
	if req.Ref == "" {
		return Result{}, &registry.Error{Kind: registry.KindInvalid, Msg: "image name is empty"}
	}
	key := fmt.Sprintf("%s\x00%s\x00%t\x00%t", req.Ref, req.Platform, req.Force, req.Refresh)
	ch := s.flight.DoChan(key, func() (any, error) {
		if err := s.track(); err != nil {
			return Result{}, fmt.Errorf("scan %s: %w", req.Ref, err)
		}
		defer s.flights.Done()
		fctx, cancel := context.WithTimeout(s.base, ScanTimeout)
		defer cancel()
		start := time.Now()
		res, err := s.scan(fctx, req)
		if s.cfg.Observer != nil {
			s.cfg.Observer.ObserveScan(res.How, time.Since(start), err)
		}
		return res, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Result{}, r.Err
		}
		return r.Val.(Result), nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("scan %s: %w", req.Ref, ctx.Err())
	}
}

func (s *Service) scan(ctx context.Context, req Request) (Result, error) {
	res, sc, version := s.current()
	if !req.Force {
		stored, names, err := s.storedFor(ctx, res, req)
		if err != nil {
			return Result{How: HowScanned}, err
		}
		if stored != nil {
			if stored.VulnDBVersion == version && !req.Refresh {
				img, err := decode(stored)
				if err != nil {
					return Result{How: HowCached}, err
				}
				if err := s.name(ctx, img, names); err != nil {
					return Result{How: HowCached}, err
				}
				s.log.DebugContext(ctx, "image scan from the store", "ref", req.Ref, "digest", stored.Digest)
				return Result{Image: img, How: HowCached}, nil
			}
			img, err := s.rematch(ctx, stored, names, version)
			return Result{Image: img, How: HowRematched}, err
		}
	}
	img, err := sc.Scan(ctx, req.Ref, scanner.ScanOptions{Force: req.Force, Platform: req.Platform})
	if err != nil {
		return Result{How: HowScanned}, err
	}
	if err := s.persist(ctx, img, version); err != nil {
		return Result{How: HowScanned}, err
	}
	s.log.InfoContext(ctx, "image scanned", "ref", req.Ref, "digest", img.Digest, "components", len(img.Components), "force", req.Force)
	return Result{Image: img, How: HowScanned}, nil
}

// refNames are the names an image is stored under when asked for by ref:
// what the registry resolved (Name, FullName …) for the returned scan.
type refNames struct {
	Name, FullName, Registry, Remote, Tag string
}

// storedFor resolves req.Ref to a digest and returns the stored scan of
// that digest, or nil. A digest reference is looked up without asking the
// registry; a tag is resolved by reading its manifest.
func (s *Service) storedFor(ctx context.Context, res *registry.Resolver, req Request) (*store.ImageRecord, *refNames, error) {
	if ref, err := name.ParseReference(req.Ref); err == nil {
		if d, ok := ref.(name.Digest); ok && req.Platform == "" {
			repo := d.Context()
			n := &refNames{Name: req.Ref, Registry: displayRegistry(repo.RegistryStr()), Remote: repo.RepositoryStr()}
			n.FullName = n.Registry + "/" + n.Remote + "@" + d.DigestStr()
			rec, err := s.store.GetImage(ctx, d.DigestStr())
			if errors.Is(err, store.ErrNotFound) {
				// An index digest is known by name only.
				rec, err = s.store.GetImageByName(ctx, n.FullName)
			}
			if err == nil {
				return &rec, n, nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return nil, nil, err
			}
		}
	}
	im, err := registry.Fetch(ctx, req.Ref, registry.Options{Resolver: res, Platform: req.Platform, RootCAs: s.cfg.RootCAs,
		Logger: s.log, UserAgent: "stockade-central"})
	if err != nil {
		return nil, nil, fmt.Errorf("scan %s: %w", req.Ref, err)
	}
	rec, err := s.store.GetImage(ctx, im.Digest)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return &rec, &refNames{Name: im.Name, FullName: im.FullName, Registry: im.Registry, Remote: im.Remote, Tag: im.Tag}, nil
}

// displayRegistry names Docker Hub as people write it, as registry.Fetch
// does.
func displayRegistry(reg string) string {
	if reg == name.DefaultRegistry {
		return "docker.io"
	}
	return reg
}

func decode(rec *store.ImageRecord) (*scan.Image, error) {
	img := new(scan.Image)
	if err := json.Unmarshal(rec.JSON, img); err != nil {
		return nil, fmt.Errorf("decode stored scan of %s: %w", rec.Digest, err)
	}
	return img, nil
}

// name records that n resolves to img's digest and presents img under it.
func (s *Service) name(ctx context.Context, img *scan.Image, n *refNames) error {
	img.Name, img.FullName, img.Registry, img.Remote, img.Tag = n.Name, n.FullName, n.Registry, n.Remote, n.Tag
	return s.store.InTx(ctx, func(tx *store.Tx) error { return tx.NameImage(ctx, img.Digest, n.FullName) })
}

// rematch matches a stored scan's components against the database as it is
// now and stores the result.
func (s *Service) rematch(ctx context.Context, rec *store.ImageRecord, n *refNames, version string) (*scan.Image, error) {
	img, err := decode(rec)
	if err != nil {
		return nil, err
	}
	if n != nil {
		img.Name, img.FullName, img.Registry, img.Remote, img.Tag = n.Name, n.FullName, n.Registry, n.Remote, n.Tag
	}
	comps := make([]catalog.Component, len(img.Components))
	for i, c := range img.Components {
		comps[i] = c.Component
	}
	matched, err := s.matcher.Match(ctx, img.OS, comps)
	if err != nil {
		return nil, fmt.Errorf("match stored scan of %s: %w", rec.Digest, err)
	}
	if matched == nil {
		matched = []scan.Component{}
	}
	img.Components = matched
	img.ScanTime = s.now()
	if err := s.persist(ctx, img, version); err != nil {
		return nil, err
	}
	s.log.DebugContext(ctx, "image matched again", "image", img.FullName, "digest", img.Digest, "vulndb", version)
	return img, nil
}

// Rematch matches the stored scan of digest against the current database
// and stores it, whether or not the database changed.
func (s *Service) Rematch(ctx context.Context, digest string) (*scan.Image, error) {
	rec, err := s.store.GetImage(ctx, digest)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	img, err := s.rematch(ctx, &rec, nil, s.VulnDBVersion())
	if s.cfg.Observer != nil {
		s.cfg.Observer.ObserveScan(HowRematched, time.Since(start), err)
	}
	return img, err
}

// persist fills in the first-seen times of img's vulnerabilities and stores
// it under its names, in one transaction.
func (s *Service) persist(ctx context.Context, img *scan.Image, version string) error {
	if img.Digest == "" {
		return fmt.Errorf("store scan of %s: no digest", img.Name)
	}
	var ids []string
	for _, c := range img.Components {
		for _, v := range c.Vulns {
			ids = append(ids, v.ID)
		}
	}
	seenAt := img.ScanTime
	if seenAt.IsZero() {
		seenAt = s.now()
	}
	names := imageNames(img)
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		seen, err := tx.MarkVulnsSeen(ctx, img.Digest, ids, seenAt)
		if err != nil {
			return err
		}
		for i := range img.Components {
			for j := range img.Components[i].Vulns {
				v := &img.Components[i].Vulns[j]
				if fs, ok := seen[v.ID]; ok {
					v.FirstSeenInImage, v.FirstSeenInSystem = fs.InImage, fs.InSystem
				}
			}
		}
		doc, err := json.Marshal(img)
		if err != nil {
			return fmt.Errorf("encode scan of %s: %w", img.Digest, err)
		}
		rec := Summarize(img)
		rec.VulnDBVersion, rec.JSON = version, doc
		return tx.UpsertImage(ctx, rec, names...)
	})
}

// imageNames are the names a scan is found by: as scanned, and by digest
// (and index digest) in its repository.
func imageNames(img *scan.Image) []string {
	names := []string{img.FullName}
	repo := img.Registry + "/" + img.Remote
	if img.Registry == "" || img.Remote == "" {
		return names
	}
	for _, d := range []string{img.Digest, img.IndexDigest} {
		if n := repo + "@" + d; d != "" && n != img.FullName {
			names = append(names, n)
		}
	}
	return names
}

// Summarize counts a scan's distinct vulnerabilities by their highest
// severity, and those with a fix, into a store record without its document.
func Summarize(img *scan.Image) store.ImageRecord {
	rec := store.ImageRecord{
		Digest: img.Digest, FullName: img.FullName, Registry: img.Registry, Remote: img.Remote, Tag: img.Tag,
		ScanTime: img.ScanTime, Components: len(img.Components),
	}
	worst := map[string]scan.Severity{}
	fixable := map[string]bool{}
	for _, c := range img.Components {
		for _, v := range c.Vulns {
			if old, ok := worst[v.ID]; !ok || v.Severity.Rank() > old.Rank() {
				worst[v.ID] = v.Severity
			}
			if v.FixedBy != "" {
				fixable[v.ID] = true
			}
		}
	}
	rec.Vulns, rec.Fixable = len(worst), len(fixable)
	for _, sev := range worst {
		switch sev {
		case scan.SeverityCritical:
			rec.Critical++
		case scan.SeverityImportant:
			rec.Important++
		case scan.SeverityModerate:
			rec.Moderate++
		case scan.SeverityLow:
			rec.Low++
		}
	}
	return rec
}

// Lookup returns the stored scan of a workload's image, or nil when Central
// has not scanned it. A pinned digest decides; otherwise the full name is
// looked up as it last resolved. It never scans.
func (s *Service) Lookup(ctx context.Context, im workload.Image) (*scan.Image, error) {
	var rec store.ImageRecord
	err := store.ErrNotFound
	if im.Digest != "" {
		if rec, err = s.store.GetImage(ctx, im.Digest); errors.Is(err, store.ErrNotFound) && im.Registry != "" {
			rec, err = s.store.GetImageByName(ctx, im.Registry+"/"+im.Remote+"@"+im.Digest)
		}
	} else if im.FullName != "" {
		rec, err = s.store.GetImageByName(ctx, im.FullName)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decode(&rec)
}
