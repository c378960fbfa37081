// Package feeds keeps Central's vulnerability database current from the
// feeds the operator configured (--vulndb-feed NAME=URL): shortly after
// start and then every interval, with jitter so that many Centrals do not
// fetch at the same instant, it updates every feed with conditional GETs
// (vulndb.DB.Update). A feed that fails keeps its data and records its
// error; the others go on. When a run changed anything, Central is told, and
// the stored images are matched again.
//
// No feeds, or a zero interval, means nothing runs: offline clusters, which
// import feed files through the API, are the default.
package feeds

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// DefaultInterval is how often feeds are fetched unless configured.
const DefaultInterval = 6 * time.Hour

// firstDelay is how long after start the first run waits, or the interval
// when that is shorter.
const firstDelay = 30 * time.Second

// jitterFraction is the largest share of a wait added at random.
const jitterFraction = 10

// Results of one feed's update, as counted in metrics.
const (
	ResultUpdated     = "updated"
	ResultNotModified = "not_modified"
	ResultError       = "error"
)

// Updater updates the vulnerability database from feeds (vulndb.DB).
type Updater interface {
	Update(ctx context.Context, feeds []vulndb.Feed, client *http.Client) (vulndb.UpdateResult, error)
}

// Observer records feed updates (Prometheus metrics in Central).
type Observer interface {
	ObserveFeedUpdate(feed, result string, at time.Time)
}

// Changed is told, after a run imported anything, that the database changed.
type Changed func(ctx context.Context)

// Config is what the scheduler fetches and how often. Interval 0 disables
// it; Client nil means http.DefaultClient.
type Config struct {
	Feeds    []vulndb.Feed
	Interval time.Duration
	Client   *http.Client
}

// Scheduler fetches the feeds on a schedule. Create it with New and start
// it with Run.
type Scheduler struct {
	cfg     Config
	db      Updater
	obs     Observer
	changed Changed
	log     *slog.Logger
}

// New returns a scheduler over db; obs and changed may be nil.
func New(cfg Config, db Updater, obs Observer, changed Changed, log *slog.Logger) *Scheduler {
	return &Scheduler{cfg: cfg, db: db, obs: obs, changed: changed, log: log}
}

// Enabled reports whether Run fetches anything.
func (s *Scheduler) Enabled() bool { return len(s.cfg.Feeds) > 0 && s.cfg.Interval > 0 }

// Run fetches the feeds shortly after it starts and then every interval
// until ctx ends; it returns at once when disabled, and otherwise once the
// run in progress has stopped.
func (s *Scheduler) Run(ctx context.Context) {
	if !s.Enabled() {
		s.log.Info("vulndb feed updates disabled", "feeds", len(s.cfg.Feeds), "interval", s.cfg.Interval.String())
		return
	}
	s.log.Info("vulndb feed updates scheduled", "feeds", len(s.cfg.Feeds), "interval", s.cfg.Interval.String())
	t := time.NewTimer(jitter(min(firstDelay, s.cfg.Interval)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.log.Info("vulndb feed updates stopped")
			return
		case <-t.C:
			s.RunOnce(ctx)
			t.Reset(jitter(s.cfg.Interval))
		}
	}
}

// RunOnce updates every feed once and reports whether the database changed.
func (s *Scheduler) RunOnce(ctx context.Context) bool {
	res, _ := s.db.Update(ctx, s.cfg.Feeds, s.cfg.Client) // per-feed errors are in res
	now := time.Now()
	changed := false
	for _, fr := range res.Feeds {
		result := ResultUpdated
		switch {
		case fr.Error != "":
			// The error names the feed by its URL without the query string.
			result = ResultError
			s.log.Warn("vulndb feed update failed", "feed", fr.Name, "err", fr.Error)
		case fr.NotModified:
			result = ResultNotModified
			s.log.Info("vulndb feed not modified", "feed", fr.Name)
		default:
			im := fr.Import
			s.log.Info("vulndb feed updated", "feed", fr.Name, "added", im.Added, "updated", im.Updated,
				"withdrawn", im.Withdrawn, "unchanged", im.Unchanged, "skipped", im.Skipped)
			if im.Added+im.Updated+im.Withdrawn > 0 {
				changed = true
			}
		}
		if s.obs != nil {
			s.obs.ObserveFeedUpdate(fr.Name, result, now)
		}
	}
	if changed && s.changed != nil {
		// Committed: the change counts even if Central is stopping.
		s.changed(context.WithoutCancel(ctx))
	}
	return changed
}

// jitter adds up to a tenth of d at random.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + rand.N(d/jitterFraction+1) //nolint:gosec // G404: spreading schedules needs no unpredictability
}
