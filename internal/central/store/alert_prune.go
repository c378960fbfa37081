package store

import (
	"context"
	"fmt"
	"time"
)

// PruneResolvedAlerts deletes RESOLVED alerts last changed before before,
// and returns how many. It is the retention of resolved violations that
// Central's system configuration sets.
func (s *Store) PruneResolvedAlerts(ctx context.Context, before time.Time) (int, error) {
	return s.pruneAlerts(ctx, "resolved alerts",
		`DELETE FROM alerts WHERE state = 'RESOLVED' AND updated_at < ?`, before.UnixNano())
}

// PruneAlertsOfDeletedDeployments deletes the alerts, whatever their state,
// of deployments Central no longer knows (removed from their cluster) last
// changed before before, and returns how many. Alerts on no deployment
// (image checks) are never touched.
func (s *Store) PruneAlertsOfDeletedDeployments(ctx context.Context, before time.Time) (int, error) {
	// deployments.id compares by code point (its column collation); the
	// alert's copy is cast to the same collation so PostgreSQL can compare.
	return s.pruneAlerts(ctx, "alerts of deleted deployments",
		`DELETE FROM alerts WHERE deployment_id <> '' AND updated_at < ?
			AND NOT EXISTS (SELECT 1 FROM deployments d WHERE d.id = alerts.deployment_id`+s.d.byteOrder+`)`, before.UnixNano())
}

func (s *Store) pruneAlerts(ctx context.Context, what, query string, args ...any) (int, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		tx.alertsChanged = true
		res, err := tx.q().exec(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("prune %s: %w", what, err)
		}
		n, err = res.RowsAffected()
		if err != nil {
			return fmt.Errorf("prune %s: %w", what, err)
		}
		return nil
	})
	return int(n), err
}
