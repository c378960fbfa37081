// Package policyset turns stored policy records into policies and keeps the
// compiled set of stored policies that detection evaluates.
//
// The set is compiled once and reused until a policy changes: every write
// to the policies bumps a generation counter (Invalidate), and the next
// reader that sees a newer generation than the one compiled rebuilds it.
// Those who push the set elsewhere (to connected Sensors) wait on Changed.
package policyset

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
)

// Decode reads a stored record into a policy. The record's columns win over
// the document where they overlap: Disabled, and IsDefault from Builtin.
func Decode(rec store.PolicyRecord) (*policy.Policy, error) {
	p := new(policy.Policy)
	if err := json.Unmarshal(rec.JSON, p); err != nil {
		return nil, fmt.Errorf("decode stored policy %q: %w", rec.ID, err)
	}
	p.ID = rec.ID
	p.Disabled = rec.Disabled
	p.IsDefault = rec.Builtin
	return p, nil
}

// Encode makes the stored record of p.
func Encode(p *policy.Policy, builtin bool) (store.PolicyRecord, error) {
	doc, err := json.Marshal(p)
	if err != nil {
		return store.PolicyRecord{}, fmt.Errorf("encode policy %q: %w", p.ID, err)
	}
	return store.PolicyRecord{ID: p.ID, Name: p.Name, Disabled: p.Disabled, Builtin: builtin, JSON: doc}, nil
}

// Lister is what the cache reads policies from.
type Lister interface {
	ListPolicies(ctx context.Context) ([]store.PolicyRecord, error)
}

// Cache is the compiled set of every stored policy.
type Cache struct {
	src Lister
	log *slog.Logger

	gen atomic.Uint64 // bumped by Invalidate

	// changed is closed and replaced by Invalidate: the signal Changed
	// hands out.
	changedMu sync.Mutex
	changed   chan struct{}

	mu    sync.Mutex
	built uint64 // generation set was built at, 0 = never
	set   *policy.Set
}

// NewCache reads policies from src.
func NewCache(src Lister, log *slog.Logger) *Cache {
	c := &Cache{src: src, log: log, changed: make(chan struct{})}
	c.gen.Store(1)
	return c
}

// Invalidate marks the compiled set stale and wakes everyone waiting on
// Changed. Call it after a policy write commits.
func (c *Cache) Invalidate() {
	c.gen.Add(1)
	c.changedMu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.changedMu.Unlock()
}

// Changed returns a channel closed at the next Invalidate. Take it before
// reading the set, so that a change between the read and the wait is not
// missed.
func (c *Cache) Changed() <-chan struct{} {
	c.changedMu.Lock()
	defer c.changedMu.Unlock()
	return c.changed
}

// Generation is the current generation, for tests and metrics.
func (c *Cache) Generation() uint64 { return c.gen.Load() }

// Set returns the compiled set of stored policies, rebuilding it if a
// policy changed since it was compiled. A stored policy that no longer
// compiles (after an engine change) is left out and logged, so one bad
// record does not stop detection.
func (c *Cache) Set(ctx context.Context) (*policy.Set, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := c.gen.Load()
	if c.set != nil && c.built == gen {
		return c.set, nil
	}
	recs, err := c.src.ListPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile policy set: %w", err)
	}
	ps := make([]*policy.Policy, 0, len(recs))
	for _, rec := range recs {
		p, err := Decode(rec)
		if err == nil {
			_, err = policy.Compile(p)
		}
		if err != nil {
			c.log.Warn("stored policy skipped", "policy", rec.ID, "name", rec.Name, "err", err)
			continue
		}
		ps = append(ps, p)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		return nil, fmt.Errorf("compile policy set: %w", err)
	}
	c.set, c.built = set, gen
	c.log.Debug("policy set compiled", "generation", gen, "policies", len(ps))
	return set, nil
}
