package sysconfig

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// sessionIdleTTL is how long SessionIdle trusts the value it read: other
// Centrals on the same database see a change within it.
const sessionIdleTTL = 30 * time.Second

// SessionIdle gives the authenticator the configured session idle time,
// reading the store at most every 30 seconds; a change saved through this
// Central applies at once.
type SessionIdle struct {
	settings Settings
	log      *slog.Logger
	now      func() time.Time

	mu    sync.Mutex
	value time.Duration
	read  time.Time
}

// NewSessionIdle returns the idle time source over st.
func NewSessionIdle(st Settings, log *slog.Logger) *SessionIdle {
	return &SessionIdle{settings: st, log: log, now: time.Now, value: DefaultSessionIdle * time.Minute}
}

// Get returns the idle time. When the store cannot be read the last value
// holds (the default before any read).
func (s *SessionIdle) Get(ctx context.Context) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.now(); now.Sub(s.read) >= sessionIdleTTL {
		cfg, err := Load(ctx, s.settings)
		if err != nil {
			s.log.Warn("read the session idle time failed; the last one holds", "err", err)
		} else {
			s.value = time.Duration(cfg.PrivateConfig.SessionIdleMinutes) * time.Minute
		}
		s.read = now
	}
	return s.value
}

// set applies a configuration just saved.
func (s *SessionIdle) set(minutes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.value, s.read = time.Duration(minutes)*time.Minute, s.now()
}
