// Package outbox delivers Central's notifications through a durable outbox in
// the store. Callers enqueue messages in the same transaction that records
// their cause (an alert, a state change, an audited API call); one lane per
// notifier claims due messages, sends them, and records each outcome. A
// message is therefore never lost across a crash (it is in the store until a
// notifier acknowledged it) and never sent again once its acknowledgement is
// recorded. Failures are retried with exponential backoff and jitter until
// the message expires, then dead-lettered with the last error kept.
//
// Notifiers with a rate limit (Slack, Teams, PagerDuty, Jira, email) fold an
// alert storm: what the limit cannot send now is replaced by one summary
// message, so a burst of thousands of alerts becomes a few messages a
// minute rather than a ban.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// Options tune delivery. Zero values take the defaults.
type Options struct {
	// DeadAfter is how long a message is retried before it is dead-lettered
	// (default 24h).
	DeadAfter time.Duration
	// Retention is how long finished messages stay visible (default 7 days).
	Retention time.Duration
	// Poll is how often an idle lane looks for due messages (default 1s);
	// Kick wakes lanes at once.
	Poll time.Duration
	// Concurrency is how many messages a lane sends at once (default 16).
	Concurrency int
	// Batch is how many messages a lane claims at a time (default 256).
	Batch int
	// BackoffBase and BackoffMax bound retry delays (default 2s and 10m).
	BackoffBase, BackoffMax time.Duration
	// Limits overrides the per-type rate limits (messages per second and
	// burst); a zero rate means unlimited.
	Limits map[string]Limit
}

// Limit is a notifier type's rate limit.
type Limit struct {
	PerSecond float64
	Burst     int
}

// DefaultLimits follow what each service documents or tolerates: Slack one
// message a second per webhook, Teams four, PagerDuty 120 events a minute
// per integration key. Log sinks (webhook, Splunk, Sumo Logic, syslog) are
// not limited.
func DefaultLimits() map[string]Limit {
	return map[string]Limit{
		notifier.TypeSlack:     {PerSecond: 1, Burst: 10},
		notifier.TypeTeams:     {PerSecond: 4, Burst: 10},
		notifier.TypePagerDuty: {PerSecond: 2, Burst: 20},
		notifier.TypeJira:      {PerSecond: 1, Burst: 5},
		notifier.TypeEmail:     {PerSecond: 1, Burst: 10},
	}
}

func (o *Options) fill() {
	if o.DeadAfter <= 0 {
		o.DeadAfter = 24 * time.Hour
	}
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 2 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 10 * time.Minute
	}
	limits := DefaultLimits()
	for k, v := range o.Limits {
		limits[k] = v
	}
	o.Limits = limits
}

// Builder makes a Sender from a notifier configuration (notify.New).
type Builder func(cfg notifier.Config) (notifier.Sender, error)

// Observer records deliveries (Central's metrics): how many messages ended
// in each outcome (delivered, retry, dead, folded), and how long each
// batch took to send.
type Observer interface {
	ObserveDelivery(notifierType, outcome string, n int)
	ObserveBatch(notifierType string, d time.Duration)
}

// Outbox is Central's delivery service. It is safe for concurrent use.
type Outbox struct {
	store *store.Store
	build Builder
	opts  Options
	obs   Observer
	log   *slog.Logger

	mu     sync.RWMutex
	lanes  map[string]*lane
	broken map[string]string // notifier id → why its Sender could not be built
	runCtx context.Context   //nolint:containedctx // the Run context lanes started later inherit
	wg     sync.WaitGroup
}

// lane sends one notifier's messages.
type lane struct {
	cfg     notifier.Config
	sender  notifier.Sender
	limiter *rate.Limiter // nil: unlimited
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns an outbox over st; Run starts delivering.
func New(st *store.Store, build Builder, opts Options, obs Observer, log *slog.Logger) *Outbox {
	opts.fill()
	return &Outbox{store: st, build: build, opts: opts, obs: obs, log: log, lanes: map[string]*lane{}, broken: map[string]string{}}
}

// Run delivers until ctx ends. Leases left by a previous process are
// released first, so what a crash interrupted is sent at once.
func (o *Outbox) Run(ctx context.Context) error {
	if err := o.store.ReleaseLeases(ctx); err != nil {
		return fmt.Errorf("start outbox: %w", err)
	}
	o.mu.Lock()
	o.runCtx = ctx
	for _, l := range o.lanes {
		o.startLocked(l)
	}
	o.mu.Unlock()

	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	o.prune(ctx)
	for {
		select {
		case <-ctx.Done():
			o.mu.Lock()
			o.runCtx = nil
			o.mu.Unlock()
			o.wg.Wait()
			return nil
		case <-prune.C:
			o.prune(ctx)
		}
	}
}

func (o *Outbox) prune(ctx context.Context) {
	n, err := o.store.PruneDeliveries(ctx, time.Now().Add(-o.opts.Retention))
	if err != nil {
		if ctx.Err() == nil {
			o.log.Warn("prune outbox failed", "err", err)
		}
		return
	}
	if n > 0 {
		o.log.Info("outbox pruned", "deliveries", n)
	}
}

// SetNotifiers makes the configured notifiers (secrets decrypted) the ones
// messages go to: new lanes start, removed ones stop, changed ones restart
// with the new configuration. A notifier whose Sender cannot be built keeps
// its messages pending; Broken says why.
func (o *Outbox) SetNotifiers(cfgs []notifier.Config) {
	o.mu.Lock()
	defer o.mu.Unlock()
	keep := make(map[string]bool, len(cfgs))
	for _, cfg := range cfgs {
		keep[cfg.ID] = true
		if old := o.lanes[cfg.ID]; old != nil && sameConfig(old.cfg, cfg) {
			continue
		}
		o.stopLocked(cfg.ID)
		sender, err := o.build(cfg)
		if err != nil {
			o.broken[cfg.ID] = err.Error()
			o.log.Warn("notifier not usable", "notifier", cfg.Name, "type", cfg.Type, "err", err)
			continue
		}
		delete(o.broken, cfg.ID)
		l := &lane{cfg: cfg, sender: sender, wake: make(chan struct{}, 1)}
		if lim, ok := o.opts.Limits[cfg.Type]; ok && lim.PerSecond > 0 {
			l.limiter = rate.NewLimiter(rate.Limit(lim.PerSecond), max(lim.Burst, 1))
		}
		o.lanes[cfg.ID] = l
		if o.runCtx != nil {
			o.startLocked(l)
		}
	}
	for id := range o.lanes {
		if !keep[id] {
			o.stopLocked(id)
		}
	}
	for id := range o.broken {
		if !keep[id] {
			delete(o.broken, id)
		}
	}
}

func sameConfig(a, b notifier.Config) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func (o *Outbox) startLocked(l *lane) {
	if l.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(o.runCtx)
	l.cancel, l.done = cancel, make(chan struct{})
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer close(l.done)
		o.runLane(ctx, l)
	}()
}

// stopLocked stops a lane and waits for its in-flight attempts, so two
// lanes of one notifier never overlap.
func (o *Outbox) stopLocked(id string) {
	l := o.lanes[id]
	if l == nil {
		return
	}
	delete(o.lanes, id)
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
}

// Broken returns why each unusable notifier could not be built.
func (o *Outbox) Broken() map[string]string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make(map[string]string, len(o.broken))
	for k, v := range o.broken {
		out[k] = v
	}
	return out
}

// Kick wakes every lane: call it after committing a transaction that
// enqueued messages.
func (o *Outbox) Kick() {
	o.mu.RLock()
	defer o.mu.RUnlock()
	for _, l := range o.lanes {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// Test sends a test message through a notifier built from cfg, at once and
// outside the outbox, and returns the remote's answer as an error.
func (o *Outbox) Test(ctx context.Context, cfg notifier.Config) error {
	sender, err := o.build(cfg)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	m := &notifier.Message{ID: uuid.NewString(), Kind: notifier.KindTest, Event: notifier.EventNew, Time: now,
		Alert: notifier.SampleAlert(now, cfg.UIEndpoint)}
	ctx, cancel := context.WithTimeout(ctx, 2*notifier.Timeout)
	defer cancel()
	return sender.Send(ctx, m)
}

// Wants says whether the notifier with id exists and takes messages of
// kind and event.
func (o *Outbox) Wants(id string, kind notifier.Kind, event notifier.Event) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	l := o.lanes[id]
	return l != nil && l.sender.Wants(kind, event)
}

// AlertChange is an alert event to route to its policy's notifiers.
type AlertChange struct {
	Notifiers []string // the policy's notifier ids
	Event     notifier.Event
	Alert     *notifier.Alert
}

// EnqueueAlerts queues each change for every listed notifier that exists
// and takes that event, inside tx.
func (o *Outbox) EnqueueAlerts(ctx context.Context, tx *store.Tx, changes []AlertChange) error {
	now := time.Now().UTC()
	var recs []store.DeliveryRecord
	for _, c := range changes {
		if c.Alert == nil {
			continue
		}
		seen := map[string]bool{}
		for _, id := range c.Notifiers {
			if seen[id] || !o.Wants(id, notifier.KindAlert, c.Event) {
				continue
			}
			seen[id] = true
			rec, err := o.record(id, &notifier.Message{Kind: notifier.KindAlert, Event: c.Event, Time: now, Alert: c.Alert}, now)
			if err != nil {
				return err
			}
			rec.AlertID, rec.Severity, rec.PolicyName = c.Alert.ID, c.Alert.Policy.Severity, c.Alert.Policy.Name
			recs = append(recs, rec)
		}
	}
	return tx.EnqueueDeliveries(ctx, recs)
}

// EnqueueAudit queues an audit event for every notifier that takes audit
// events, inside tx.
func (o *Outbox) EnqueueAudit(ctx context.Context, tx *store.Tx, a *notifier.Audit) error {
	now := time.Now().UTC()
	o.mu.RLock()
	var ids []string
	for id, l := range o.lanes {
		if l.sender.Wants(notifier.KindAudit, "") {
			ids = append(ids, id)
		}
	}
	o.mu.RUnlock()
	sort.Strings(ids)
	recs := make([]store.DeliveryRecord, 0, len(ids))
	for _, id := range ids {
		rec, err := o.record(id, &notifier.Message{Kind: notifier.KindAudit, Time: now, Audit: a}, now)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	return tx.EnqueueDeliveries(ctx, recs)
}

// AuditsWanted says whether any notifier takes audit events, so callers
// can skip building them.
func (o *Outbox) AuditsWanted() bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	for _, l := range o.lanes {
		if l.sender.Wants(notifier.KindAudit, "") {
			return true
		}
	}
	return false
}

func (o *Outbox) record(notifierID string, m *notifier.Message, now time.Time) (store.DeliveryRecord, error) {
	m.ID = uuid.NewString()
	body, err := json.Marshal(m)
	if err != nil {
		return store.DeliveryRecord{}, fmt.Errorf("encode %s message: %w", m.Kind, err)
	}
	return store.DeliveryRecord{
		ID: m.ID, NotifierID: notifierID, Kind: string(m.Kind), Event: string(m.Event),
		CreatedAt: now, ExpiresAt: now.Add(o.opts.DeadAfter), JSON: body,
	}, nil
}

// Retry makes a notifier's dead messages (the ids given, or all) pending
// again with a fresh expiry, and wakes the lanes.
func (o *Outbox) Retry(ctx context.Context, notifierID string, ids []string) (int, error) {
	n, err := o.store.RetryDeliveries(ctx, notifierID, ids, time.Now().Add(o.opts.DeadAfter))
	if err == nil && n > 0 {
		o.Kick()
	}
	return n, err
}

// leaseFor is how long a claimed batch stays leased: long enough for every
// attempt of a batch, limited ones included.
func (o *Outbox) leaseFor() time.Duration {
	return 4*notifier.Timeout + time.Minute
}

func (o *Outbox) runLane(ctx context.Context, l *lane) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		case <-timer.C:
		}
		for ctx.Err() == nil {
			n, err := o.drainOnce(ctx, l)
			if err != nil {
				if ctx.Err() == nil {
					o.log.Warn("outbox lane failed", "notifier", l.cfg.Name, "err", err)
				}
				break
			}
			if n == 0 {
				break
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(o.opts.Poll)
	}
}

// drainOnce claims one batch, folds a storm, sends, and records outcomes.
// It returns how many messages it handled.
func (o *Outbox) drainOnce(ctx context.Context, l *lane) (int, error) {
	now := time.Now()
	batch, err := o.store.ClaimDeliveries(ctx, l.cfg.ID, now, o.opts.Batch, o.leaseFor())
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	if l.limiter != nil {
		batch, err = o.fold(ctx, l, batch, now)
		if err != nil {
			return 0, err
		}
	}
	outcomes := make([]store.DeliveryOutcome, len(batch))
	sem := make(chan struct{}, o.opts.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range batch {
		if l.limiter != nil {
			if err := l.limiter.Wait(ctx); err != nil {
				// Stopping: what was not attempted goes back unchanged at
				// the next start (its lease is released then).
				outcomes = outcomes[:i]
				break
			}
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			outcomes[i] = o.attempt(ctx, l, &batch[i])
		}()
	}
	wg.Wait()
	// Record what was attempted even when stopping: an acknowledged message
	// must not be sent again.
	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var done []store.DeliveryOutcome
	counts := map[string]int{}
	for _, oc := range outcomes {
		if oc.ID == "" {
			continue
		}
		done = append(done, oc)
		counts[outcomeName(oc.State)]++
	}
	if err := o.store.FinishDeliveries(finishCtx, done); err != nil {
		return 0, err
	}
	if o.obs != nil {
		o.obs.ObserveBatch(l.cfg.Type, time.Since(start))
		for name, n := range counts {
			o.obs.ObserveDelivery(l.cfg.Type, name, n)
		}
	}
	return len(batch), nil
}

func outcomeName(state string) string {
	switch state {
	case store.DeliveryDelivered:
		return "delivered"
	case store.DeliveryDead:
		return "dead"
	}
	return "retry"
}

// fold replaces what the rate limit cannot send soon with one summary.
// The batch's messages that are sent individually are returned.
func (o *Outbox) fold(ctx context.Context, l *lane, batch []store.DeliveryRecord, now time.Time) ([]store.DeliveryRecord, error) {
	allowance := int(l.limiter.TokensAt(now))
	var alerts []int
	for i, d := range batch {
		if foldable(d) {
			alerts = append(alerts, i)
		}
	}
	if len(alerts) <= allowance {
		return batch, nil
	}
	// Keep the first `allowance` alerts and everything that is not a new
	// alert (resolutions, summaries, tests); fold the rest, and every other
	// due alert of this notifier, into one summary.
	keepIdx := map[int]bool{}
	for _, i := range alerts[:max(allowance, 0)] {
		keepIdx[i] = true
	}
	var keep []store.DeliveryRecord
	var keepIDs []string
	for i, d := range batch {
		if !foldable(d) || keepIdx[i] {
			keep = append(keep, d)
			keepIDs = append(keepIDs, d.ID)
		}
	}
	var summaryRec store.DeliveryRecord
	n, err := o.store.FoldDue(ctx, l.cfg.ID, now, keepIDs, func(st store.FoldStats) (store.DeliveryRecord, error) {
		m := &notifier.Message{Kind: notifier.KindSummary, Time: now.UTC(), Summary: summary(st, l.cfg.UIEndpoint)}
		rec, err := o.record(l.cfg.ID, m, now.UTC())
		if err != nil {
			return rec, err
		}
		rec.NextAttemptAt = now.UTC()
		summaryRec = rec
		return rec, nil
	})
	if err != nil {
		return nil, err
	}
	if n > 0 {
		o.log.Info("alert storm folded into a summary", "notifier", l.cfg.Name, "alerts", n)
		if o.obs != nil {
			o.obs.ObserveDelivery(l.cfg.Type, "folded", n)
		}
		// The summary was enqueued unleased; send it in this round.
		keep = append(keep, summaryRec)
	}
	return keep, nil
}

func foldable(d store.DeliveryRecord) bool {
	return d.Kind == string(notifier.KindAlert) && (d.Event == string(notifier.EventNew) || d.Event == string(notifier.EventReopened))
}

// topPolicies is how many policies a summary names.
const topPolicies = 5

func summary(st store.FoldStats, uiEndpoint string) *notifier.Summary {
	s := &notifier.Summary{Count: st.Count, From: st.From, To: st.To, BySeverity: st.BySeverity, Link: notifier.ViolationsLink(uiEndpoint)}
	for name, n := range st.ByPolicy {
		s.TopPolicies = append(s.TopPolicies, notifier.PolicyCount{Name: name, Count: n})
	}
	sort.Slice(s.TopPolicies, func(i, j int) bool {
		a, b := s.TopPolicies[i], s.TopPolicies[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Name < b.Name
	})
	if len(s.TopPolicies) > topPolicies {
		s.TopPolicies = s.TopPolicies[:topPolicies]
	}
	return s
}

// attempt sends one message and decides what happens to it.
func (o *Outbox) attempt(ctx context.Context, l *lane, d *store.DeliveryRecord) store.DeliveryOutcome {
	var m notifier.Message
	if err := json.Unmarshal(d.JSON, &m); err != nil {
		return store.DeliveryOutcome{ID: d.ID, State: store.DeliveryDead, Error: fmt.Sprintf("stored message is not readable: %v", err)}
	}
	m.ID = d.ID
	if m.Alert != nil {
		m.Alert.Link = notifier.AlertLink(l.cfg.UIEndpoint, m.Alert.ID)
	}
	if m.Summary != nil {
		m.Summary.Link = notifier.ViolationsLink(l.cfg.UIEndpoint)
	}
	sendCtx, cancel := context.WithTimeout(ctx, 2*notifier.Timeout)
	err := l.sender.Send(sendCtx, &m)
	cancel()
	if err == nil {
		return store.DeliveryOutcome{ID: d.ID, State: store.DeliveryDelivered}
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Stopped mid-attempt: try again at the next start, uncounted as
		// a failure of the remote.
		return store.DeliveryOutcome{ID: d.ID, State: store.DeliveryPending, Error: "interrupted by shutdown", NextAttemptAt: time.Now()}
	}
	now := time.Now()
	next := now.Add(o.backoff(d.Attempts, notifier.RetryAfter(err)))
	if notifier.Permanent(err) || next.After(d.ExpiresAt) {
		o.log.Warn("notification dead-lettered", "notifier", l.cfg.Name, "delivery", d.ID, "attempts", d.Attempts+1, "err", err)
		return store.DeliveryOutcome{ID: d.ID, State: store.DeliveryDead, Error: err.Error()}
	}
	o.log.Debug("notification will be retried", "notifier", l.cfg.Name, "delivery", d.ID, "at", next, "err", err)
	return store.DeliveryOutcome{ID: d.ID, State: store.DeliveryPending, Error: err.Error(), NextAttemptAt: next}
}

// backoff is the delay before retry number attempts+1: exponential from
// BackoffBase, capped at BackoffMax, with equal jitter (half fixed, half
// random) so a recovering service is not hit by every retry at once; never
// shorter than what the remote asked for.
func (o *Outbox) backoff(attempts int, retryAfter time.Duration) time.Duration {
	d := o.opts.BackoffBase
	for i := 0; i < attempts && d < o.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, o.opts.BackoffMax)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1)) //nolint:gosec // jitter, not a secret
	return max(d, retryAfter)
}
