package store

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Alert summaries are what every dashboard load asks for first, and they
// change only when alerts do. summaryCache keeps the most recent ones until
// the next committed write to alerts in this process (Tx.alertsChanged),
// and at most summaryCacheTTL, which bounds how stale a summary can be when
// something else writes to the same PostgreSQL database.
const (
	summaryCacheSize = 64
	summaryCacheTTL  = 30 * time.Second
)

type summaryCache struct {
	// gen counts committed writes to alerts; an entry read under an older
	// generation is stale.
	gen     atomic.Uint64
	mu      sync.Mutex
	entries map[string]summaryEntry
}

type summaryEntry struct {
	gen uint64
	at  time.Time
	sum AlertSummary
}

// invalidate drops every summary read before now; called after a write to
// alerts has committed.
func (c *summaryCache) invalidate() { c.gen.Add(1) }

// generation is the generation a read that starts now belongs to: take it
// before reading, so a write committed during the read makes the result
// stale rather than cached as current.
func (c *summaryCache) generation() uint64 { return c.gen.Load() }

func (c *summaryCache) get(key string) (AlertSummary, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.gen != c.gen.Load() || now().Sub(e.at) > summaryCacheTTL {
		return AlertSummary{}, false
	}
	return e.sum, true
}

func (c *summaryCache) put(key string, gen uint64, sum AlertSummary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= summaryCacheSize {
		// Dropping all is simpler than an LRU and as good here: the
		// dashboards of one installation ask a handful of distinct
		// summaries, and the map only fills when they are many.
		c.entries = make(map[string]summaryEntry, summaryCacheSize)
	}
	c.entries[key] = summaryEntry{gen: gen, at: now(), sum: sum}
}

// summaryKey names a summary by the statements that compute it and their
// arguments, which determine its result.
func summaryKey(statements []string, args [][]any) string {
	var b strings.Builder
	for i, st := range statements {
		b.WriteString(st)
		b.WriteByte(0)
		for _, a := range args[i] {
			fmt.Fprintf(&b, "%T:%v\x00", a, a)
		}
		b.WriteByte(1)
	}
	return b.String()
}
