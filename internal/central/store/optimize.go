package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Optimize refreshes the statistics the query planner chooses indexes by,
// where they are missing or stale. SQLite keeps none of its own: without
// them it would, for instance, walk the state index for a filter most alerts
// match. analysis_limit bounds the work to a sample of each index, so a run
// stays short on a large store. PostgreSQL's autovacuum keeps
// its statistics itself; Optimize does nothing there.
func (s *Store) Optimize(ctx context.Context) error {
	if s.d.name != "sqlite" {
		return nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("optimize store: %w", err)
	}
	defer conn.Close() //nolint:errcheck // the statements' errors are the ones to report
	for _, stmt := range []string{"PRAGMA analysis_limit = 20000", "PRAGMA optimize"} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("optimize store: %s: %w", stmt, err)
		}
	}
	return nil
}

// OptimizeEvery runs Optimize now and then every interval until ctx ends,
// logging failures: planner statistics follow the store as it grows.
func (s *Store) OptimizeEvery(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Optimize(ctx); err != nil && ctx.Err() == nil {
			log.Warn("store statistics not refreshed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
