package sysconfig

import (
	"context"
	"log/slog"
	"time"
)

// DefaultPruneInterval is how often the retention loop runs.
const DefaultPruneInterval = time.Hour

// AlertStore deletes the alerts the retention covers.
type AlertStore interface {
	Settings
	PruneResolvedAlerts(ctx context.Context, before time.Time) (int, error)
	PruneAlertsOfDeletedDeployments(ctx context.Context, before time.Time) (int, error)
}

// Pruner enforces the alert retention of the stored configuration: at
// start, every interval, and at once when the configuration changes.
type Pruner struct {
	store    AlertStore
	interval time.Duration
	now      func() time.Time
	kick     chan struct{}
	log      *slog.Logger
}

// NewPruner returns the retention loop; interval 0 means DefaultPruneInterval.
func NewPruner(st AlertStore, interval time.Duration, log *slog.Logger) *Pruner {
	if interval <= 0 {
		interval = DefaultPruneInterval
	}
	return &Pruner{store: st, interval: interval, now: time.Now, kick: make(chan struct{}, 1), log: log}
}

// Kick asks for a pass now (the configuration changed); it never blocks.
func (p *Pruner) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Run prunes until ctx ends.
func (p *Pruner) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		if _, err := p.PruneOnce(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("alert retention pass failed; the next pass tries again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.kick:
		}
	}
}

// Pruned is what one pass deleted.
type Pruned struct {
	Resolved          int
	DeletedDeployment int
}

// PruneOnce applies the stored retention once.
func (p *Pruner) PruneOnce(ctx context.Context) (Pruned, error) {
	var out Pruned
	cfg, err := Load(ctx, p.store)
	if err != nil {
		return out, err
	}
	ret := cfg.PrivateConfig.AlertRetention
	now := p.now()
	if ret.ResolvedDays > 0 {
		if out.Resolved, err = p.store.PruneResolvedAlerts(ctx, now.AddDate(0, 0, -ret.ResolvedDays)); err != nil {
			return out, err
		}
	}
	if ret.DeletedDeploymentDays > 0 {
		if out.DeletedDeployment, err = p.store.PruneAlertsOfDeletedDeployments(ctx, now.AddDate(0, 0, -ret.DeletedDeploymentDays)); err != nil {
			return out, err
		}
	}
	if out.Resolved+out.DeletedDeployment > 0 {
		p.log.Info("old alerts pruned", "resolved", out.Resolved, "of_deleted_deployments", out.DeletedDeployment,
			"resolved_days", ret.ResolvedDays, "deleted_deployment_days", ret.DeletedDeploymentDays)
	}
	return out, nil
}
