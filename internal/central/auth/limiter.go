package auth

import (
	"sync"
	"time"
)

// Limiter is a token bucket per client address for failed sign-ins: every
// failure takes a token, tokens come back at a steady rate, and a client
// whose bucket is empty is refused before its credentials are even checked.
type Limiter struct {
	burst   float64
	refill  time.Duration // time to regain one token
	maxKeys int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter allows burst failures at once per client, then one per refill.
func NewLimiter(burst int, refill time.Duration) *Limiter {
	if burst < 1 {
		burst = 1
	}
	if refill <= 0 {
		refill = time.Second
	}
	return &Limiter{burst: float64(burst), refill: refill, maxKeys: 10000, buckets: map[string]*bucket{}}
}

// level returns the bucket of key refilled up to now, or nil.
func (l *Limiter) level(key string, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
		return nil
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens += float64(d) / float64(l.refill)
		if b.tokens > l.burst {
			b.tokens = l.burst
		}
		b.at = now
	}
	return b
}

// Allowed reports whether key may try to sign in now.
func (l *Limiter) Allowed(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.level(key, now)
	return b == nil || b.tokens >= 1
}

// Fail records a failed sign-in by key.
func (l *Limiter) Fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.level(key, now)
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if b.tokens >= 1 {
		b.tokens--
	}
}

// prune forgets clients whose buckets are full again; if every client is
// still limited, the oldest half is forgotten so memory stays bounded.
func (l *Limiter) prune(now time.Time) {
	for k := range l.buckets {
		if b := l.level(k, now); b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.maxKeys {
		return
	}
	n := 0
	for k := range l.buckets {
		delete(l.buckets, k)
		if n++; n >= l.maxKeys/2 {
			break
		}
	}
}
