package rescan

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central/imagescan"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

// world is a registry and a store in miniature: which digest each name
// resolves to, and what is stored. Scanning a name records its digest the
// way imagescan does: cached when stored, scanned when new.
type world struct {
	mu        sync.Mutex
	tags      map[string]string // name → digest in the "registry"
	stored    map[string]bool   // digest → stored
	names     []store.ImageName
	deploys   []*workload.Deployment
	scans     []string // names scanned, in any order
	rematches []string // digests matched again
}

func (w *world) Scan(_ context.Context, req imagescan.Request) (imagescan.Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.scans = append(w.scans, req.Ref)
	d, ok := w.tags[req.Ref]
	if !ok {
		return imagescan.Result{}, errors.New("registry unreachable")
	}
	how := imagescan.HowCached
	if !w.stored[d] {
		how, w.stored[d] = imagescan.HowScanned, true
	}
	return imagescan.Result{Image: &scan.Image{Digest: d}, How: how}, nil
}

func (w *world) Rematch(_ context.Context, digest string) (*scan.Image, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rematches = append(w.rematches, digest)
	return &scan.Image{Digest: digest}, nil
}

func (w *world) ImageNames(context.Context) ([]store.ImageName, error) { return w.names, nil }

func (w *world) ListImages(context.Context, store.ImageQuery) ([]store.ImageRecord, int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []store.ImageRecord
	for d := range w.stored {
		out = append(out, store.ImageRecord{Digest: d})
	}
	return out, len(out), nil
}

func (w *world) Each(_ context.Context, fn func(*workload.Deployment) error) error {
	for _, d := range w.deploys {
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

type runs struct {
	mu   sync.Mutex
	seen []string
}

func (r *runs) ObserveRescan(trigger string, _ time.Duration, _, _ int) {
	r.mu.Lock()
	r.seen = append(r.seen, trigger)
	r.mu.Unlock()
}

func (r *runs) count(trigger string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, t := range r.seen {
		if t == trigger {
			n++
		}
	}
	return n
}

func deployment(images ...string) *workload.Deployment {
	d := &workload.Deployment{Name: "d"}
	for _, im := range images {
		d.Containers = append(d.Containers, workload.Container{Image: workload.Image{FullName: im}})
	}
	return d
}

func TestRunOnceRefreshesEachDigestOnce(t *testing.T) {
	w := &world{
		tags: map[string]string{
			"reg/app:1": "sha256:a", "reg/app:latest": "sha256:a", // two tags, one digest, stored
			"reg/new:1": "sha256:n", // deployed, never scanned
		},
		stored: map[string]bool{"sha256:a": true, "sha256:old": true},
		names: []store.ImageName{
			{FullName: "reg/app:1", Digest: "sha256:a"}, {FullName: "reg/app:latest", Digest: "sha256:a"},
			{FullName: "reg/app@sha256:a", Digest: "sha256:a"}, {FullName: "reg/old@sha256:old", Digest: "sha256:old"},
		},
		deploys: []*workload.Deployment{deployment("reg/new:1", "reg/app:1"), deployment("reg/gone:1")},
	}
	obs := &runs{}
	s := New(Config{Parallel: 3}, w, w, w, obs, slog.New(slog.DiscardHandler))
	sum := s.RunOnce(context.Background())

	slices.Sort(w.scans)
	if want := []string{"reg/app:1", "reg/app:latest", "reg/gone:1", "reg/new:1"}; !slices.Equal(w.scans, want) {
		t.Errorf("names resolved %v, want %v (each once, digests left to rematching)", w.scans, want)
	}
	slices.Sort(w.rematches)
	if want := []string{"sha256:a", "sha256:old"}; !slices.Equal(w.rematches, want) {
		t.Errorf("rematched %v, want %v (the new image was just scanned)", w.rematches, want)
	}
	if sum.Names != 4 || sum.Failed != 1 || sum.Images != 3 || obs.count(TriggerSchedule) != 1 {
		t.Errorf("summary = %+v, runs %v", sum, obs.seen)
	}
}

func TestRunServesTriggersAndStops(t *testing.T) {
	w := &world{tags: map[string]string{}, stored: map[string]bool{"sha256:a": true}}
	obs := &runs{}
	s := New(Config{Interval: 20 * time.Millisecond}, w, w, nil, obs, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for range 5 {
		s.VulnDBChanged() // never blocks; merged while one is pending
	}
	deadline := time.Now().Add(10 * time.Second)
	for obs.count(TriggerVulnDB) < 1 || obs.count(TriggerSchedule) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("runs seen: %v", obs.seen)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if n := obs.count(TriggerVulnDB); n > 2 {
		t.Errorf("%d vulndb runs for 5 merged triggers", n)
	}
}
