// Package notifierapi is the /v1/notifiers API: where alerts are forwarded
// (Slack, Teams, generic webhook, email, Splunk, Sumo Logic, syslog,
// PagerDuty, Jira) in the ACS notifier JSON shape, the test button, and the
// delivery outbox of each notifier (pending, delivered, folded and
// dead-lettered messages with their last error, and a retry).
//
// Secrets (tokens, passwords, webhook URLs) are encrypted field by field in
// the store, never returned — a secret that is set reads "******" — and
// never logged. An update or test that sends "******" back uses the stored
// secret. After every change the outbox's notifiers are rebuilt from the
// store (Reload).
package notifierapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/secret"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// Mask is what the API shows for a secret that is set.
const Mask = "******"

// maxBody bounds a request: a notifier with a CA certificate and headers.
const maxBody = 1 << 20

// Store is what the notifier API keeps notifiers and reads deliveries in.
type Store interface {
	ListNotifiers(ctx context.Context) ([]store.NotifierRecord, error)
	GetNotifier(ctx context.Context, id string) (store.NotifierRecord, error)
	CreateNotifier(ctx context.Context, rec store.NotifierRecord) error
	UpdateNotifier(ctx context.Context, rec store.NotifierRecord) error
	DeleteNotifier(ctx context.Context, id string) error
	ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]store.DeliveryRecord, int, error)
	DeliveryStatsByNotifier(ctx context.Context) (map[string]*store.DeliveryStats, error)
}

// PolicyUsers names the policies that send to a notifier, so a notifier in
// use is not deleted from under them.
type PolicyUsers func(ctx context.Context, notifierID string) ([]string, error)

// Outbox is the delivery service the API configures and drives.
type Outbox interface {
	SetNotifiers(cfgs []notifier.Config)
	Broken() map[string]string
	Test(ctx context.Context, cfg notifier.Config) error
	Retry(ctx context.Context, notifierID string, ids []string) (int, error)
}

// Checker validates a configuration by building its Sender (notify.New).
type Checker func(cfg notifier.Config) (notifier.Sender, error)

// API serves the notifier routes.
type API struct {
	store   Store
	box     *secret.Box
	outbox  Outbox
	check   Checker
	users   PolicyUsers
	log     *slog.Logger
	reloadM sync.Mutex
}

// New returns the notifier API.
func New(st Store, box *secret.Box, ob Outbox, check Checker, users PolicyUsers, log *slog.Logger) *API {
	return &API{store: st, box: box, outbox: ob, check: check, users: users, log: log}
}

// Routes are the notifier endpoints: reading needs Notifier read (Admin,
// Analyst); changing, testing and retrying need Notifier write (Admin): a
// test makes Central connect where the caller says, with stored secrets.
func (a *API) Routes() []httpapi.Route {
	read := auth.Need(auth.ResourceNotifier, auth.Read)
	write := auth.Need(auth.ResourceNotifier, auth.Write)
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/notifiers", Permission: read, Handler: a.list},
		{Method: http.MethodGet, Path: "/v1/notifiers/{id}", Permission: read, Handler: a.get},
		{Method: http.MethodPost, Path: "/v1/notifiers", Permission: write, MaxBody: maxBody, Handler: a.create},
		{Method: http.MethodPut, Path: "/v1/notifiers/{id}", Permission: write, MaxBody: maxBody, Handler: a.update},
		{Method: http.MethodDelete, Path: "/v1/notifiers/{id}", Permission: write, Handler: a.delete},
		{Method: http.MethodPost, Path: "/v1/notifiers/test", Permission: write, MaxBody: maxBody, Handler: a.test},
		{Method: http.MethodGet, Path: "/v1/notifiers/{id}/deliveries", Permission: read, Handler: a.deliveries},
		{Method: http.MethodPost, Path: "/v1/notifiers/{id}/deliveries/retry", Permission: write, Handler: a.retry},
	}
}

// Notifier is a notifier as the API shows it: secrets masked, with the
// state of its deliveries.
type Notifier struct {
	notifier.Config
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Status    Status    `json:"status"`
}

// Status is how a notifier's deliveries stand.
type Status struct {
	Pending       int        `json:"pending"`
	Delivered     int        `json:"delivered"`
	Folded        int        `json:"folded"`
	Dead          int        `json:"dead"`
	LastDelivered *time.Time `json:"lastDelivered,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	LastErrorAt   *time.Time `json:"lastErrorAt,omitempty"`
	// Unusable says why Central cannot build this notifier (its messages
	// wait until it is fixed).
	Unusable string `json:"unusable,omitempty"`
}

// List is the answer of GET /v1/notifiers: a page and how many notifiers
// match.
type List struct {
	Notifiers []Notifier `json:"notifiers"`
	Total     int        `json:"total"`
}

// MaxListLimit bounds a page of GET /v1/notifiers.
const MaxListLimit = 1000

// listSorts are the sort keys of the list; the first is the default.
var listSorts = []string{"name", "type", "dead", "pending"}

// compareBy orders notifiers by a sort key, ties broken by byName.
func compareBy(key string) func(a, b Notifier) int {
	return func(a, b Notifier) int {
		var c int
		switch key {
		case "name":
			c = byName(a, b)
		case "type":
			c = strings.Compare(a.Type, b.Type)
		case "dead":
			c = a.Status.Dead - b.Status.Dead
		case "pending":
			c = a.Status.Pending - b.Status.Pending
		}
		return c
	}
}

// byName orders by name, case-insensitively, then by id.
func byName(a, b Notifier) int {
	return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ID, b.ID))
}

// Delivery is one outbox message as the API shows it.
type Delivery struct {
	ID            string          `json:"id"`
	Kind          string          `json:"kind"`
	Event         string          `json:"event,omitempty"`
	AlertID       string          `json:"alertId,omitempty"`
	State         string          `json:"state"`
	Attempts      int             `json:"attempts"`
	CreatedAt     time.Time       `json:"createdAt"`
	NextAttemptAt *time.Time      `json:"nextAttemptAt,omitempty"`
	ExpiresAt     time.Time       `json:"expiresAt"`
	DeliveredAt   *time.Time      `json:"deliveredAt,omitempty"`
	LastError     string          `json:"lastError,omitempty"`
	FoldedInto    string          `json:"foldedInto,omitempty"`
	Message       json.RawMessage `json:"message"`
}

// Deliveries is the answer of GET /v1/notifiers/{id}/deliveries.
type Deliveries struct {
	Deliveries []Delivery `json:"deliveries"`
	Total      int        `json:"total"`
}

// RetryRequest names dead deliveries to retry; none means all.
type RetryRequest struct {
	IDs []string `json:"ids"`
}

// RetryResult says how many deliveries were revived.
type RetryResult struct {
	Retried int `json:"retried"`
}

// TestResult is the answer of a successful test.
type TestResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

func (a *API) view(cfg notifier.Config, rec store.NotifierRecord, st *store.DeliveryStats, broken string) Notifier {
	n := Notifier{Config: mask(cfg), CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt, Status: Status{Unusable: broken}}
	if st != nil {
		n.Status.Pending, n.Status.Delivered, n.Status.Folded, n.Status.Dead = st.Pending, st.Delivered, st.Folded, st.Dead
		n.Status.LastDelivered, n.Status.LastError, n.Status.LastErrorAt = st.LastDelivered, st.LastError, st.LastErrorAt
	}
	return n
}

// clone deep-copies a configuration through JSON, so masking never touches
// the caller's copy.
func clone(c notifier.Config) notifier.Config {
	b, err := json.Marshal(c)
	if err != nil {
		return notifier.Config{ID: c.ID, Name: c.Name, Type: c.Type}
	}
	var out notifier.Config
	if err := json.Unmarshal(b, &out); err != nil {
		return notifier.Config{ID: c.ID, Name: c.Name, Type: c.Type}
	}
	return out
}

func mask(c notifier.Config) notifier.Config {
	c = clone(c)
	for _, f := range notifier.Secrets(&c) {
		if *f.Value != "" {
			*f.Value = Mask
		}
	}
	return c
}

// list serves GET /v1/notifiers: the notifiers whose name or type hold
// every word of query, of one type if asked, sorted and paged.
func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	q, err := httpapi.ParseListQuery(r.URL.Query(), listSorts, MaxListLimit)
	if err != nil {
		return err
	}
	typ := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("type")))
	recs, err := a.store.ListNotifiers(r.Context())
	if err != nil {
		return err
	}
	stats, err := a.store.DeliveryStatsByNotifier(r.Context())
	if err != nil {
		return err
	}
	broken := a.outbox.Broken()
	all := make([]Notifier, 0, len(recs))
	for _, rec := range recs {
		cfg, err := decode(rec)
		if err != nil {
			return err
		}
		if (typ != "" && cfg.Type != typ) || !q.Matches(cfg.Name, cfg.Type) {
			continue
		}
		all = append(all, a.view(cfg, rec, stats[rec.ID], broken[rec.ID]))
	}
	out := List{Total: len(all), Notifiers: httpapi.SortAndPage(all, q, compareBy(q.Sort), byName)}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	return a.respond(r.Context(), w, http.StatusOK, r.PathValue("id"))
}

func (a *API) respond(ctx context.Context, w http.ResponseWriter, status int, id string) error {
	rec, err := a.store.GetNotifier(ctx, id)
	if err != nil {
		return err
	}
	cfg, err := decode(rec)
	if err != nil {
		return err
	}
	stats, err := a.store.DeliveryStatsByNotifier(ctx)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, status, a.view(cfg, rec, stats[id], a.outbox.Broken()[id]))
}

// decode reads a stored record's document (secrets still sealed).
func decode(rec store.NotifierRecord) (notifier.Config, error) {
	var c notifier.Config
	if err := json.Unmarshal(rec.JSON, &c); err != nil {
		return c, fmt.Errorf("notifier %q: stored document: %w", rec.ID, err)
	}
	c.ID = rec.ID
	return c, nil
}

func readConfig(r *http.Request) (notifier.Config, error) {
	var c notifier.Config
	if err := httpapi.Decode(r, &c); err != nil {
		return c, err
	}
	c.Name = strings.TrimSpace(c.Name)
	c.Type = strings.ToLower(strings.TrimSpace(c.Type))
	return c, nil
}

// validate checks c by building its Sender, after refusing a mask left
// where no stored secret can take its place.
func (a *API) validate(c notifier.Config) error {
	if c.Name == "" {
		return httpapi.Invalid("name: required", httpapi.Detail{Path: "name", Message: "required"})
	}
	if !slices.Contains(notifier.Types(), c.Type) {
		return httpapi.Invalid(fmt.Sprintf("type: unknown notifier type %q; want one of %s", c.Type, strings.Join(notifier.Types(), ", ")),
			httpapi.Detail{Path: "type", Message: "unknown notifier type"})
	}
	for _, f := range notifier.Secrets(&c) {
		if *f.Value == Mask {
			return httpapi.Invalid(fmt.Sprintf("%s: %q is the mask shown for a stored secret; send the secret itself", f.Path, Mask),
				httpapi.Detail{Path: f.Path, Message: "is the mask of a stored secret, and there is none to keep"})
		}
	}
	if _, err := a.check(c); err != nil {
		var fe *notifier.FieldError
		if errors.As(err, &fe) {
			return httpapi.Invalid(err.Error(), httpapi.Detail{Path: fe.Field, Message: fe.Message})
		}
		return httpapi.Invalid(err.Error())
	}
	return nil
}

func (a *API) seal(c notifier.Config) (store.NotifierRecord, error) {
	c = clone(c)
	for _, f := range notifier.Secrets(&c) {
		if *f.Value == "" {
			continue
		}
		sealed, err := a.box.Seal(*f.Value, "notifier/"+c.ID)
		if err != nil {
			return store.NotifierRecord{}, fmt.Errorf("seal %s: %w", f.Path, err)
		}
		*f.Value = sealed
	}
	body, err := json.Marshal(c)
	if err != nil {
		return store.NotifierRecord{}, fmt.Errorf("encode notifier: %w", err)
	}
	return store.NotifierRecord{ID: c.ID, Name: c.Name, Type: c.Type, JSON: body}, nil
}

func (a *API) open(rec store.NotifierRecord) (notifier.Config, error) {
	c, err := decode(rec)
	if err != nil {
		return c, err
	}
	for _, f := range notifier.Secrets(&c) {
		if *f.Value == "" {
			continue
		}
		plain, err := a.box.Open(*f.Value, "notifier/"+c.ID)
		if err != nil {
			return c, fmt.Errorf("notifier %q: open %s: %w", rec.Name, f.Path, err)
		}
		*f.Value = plain
	}
	return c, nil
}

// keepSecrets puts the stored secrets of c.ID where c has the mask,
// matching fields by path (header values by header name).
func (a *API) keepSecrets(ctx context.Context, c *notifier.Config) error {
	masked := false
	for _, f := range notifier.Secrets(c) {
		masked = masked || *f.Value == Mask
	}
	rec, err := a.store.GetNotifier(ctx, c.ID)
	if err != nil || !masked {
		return err
	}
	stored, err := a.open(rec)
	if err != nil {
		return err
	}
	if stored.Type != c.Type {
		return nil // nothing to keep across types; validate names the mask
	}
	old := map[string]string{}
	for _, f := range notifier.Secrets(&stored) {
		old[f.Path] = *f.Value
	}
	for _, f := range notifier.Secrets(c) {
		if v, ok := old[f.Path]; ok && *f.Value == Mask {
			*f.Value = v
		}
	}
	return nil
}

func (a *API) create(w http.ResponseWriter, r *http.Request) error {
	c, err := readConfig(r)
	if err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = uuid.NewString()
	}
	if err := a.validate(c); err != nil {
		return err
	}
	rec, err := a.seal(c)
	if err != nil {
		return err
	}
	if err := a.store.CreateNotifier(r.Context(), rec); err != nil {
		return err
	}
	a.log.Info("notifier created", "id", c.ID, "name", c.Name, "type", c.Type)
	a.Reload(context.WithoutCancel(r.Context()))
	return a.respond(r.Context(), w, http.StatusOK, c.ID)
}

func (a *API) update(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	c, err := readConfig(r)
	if err != nil {
		return err
	}
	if c.ID != "" && c.ID != id {
		return httpapi.Invalid(fmt.Sprintf("the body's id %q is not the id %q of the URL", c.ID, id), httpapi.Detail{Path: "id", Message: "differs from the URL"})
	}
	c.ID = id
	if err := a.keepSecrets(r.Context(), &c); err != nil {
		return err
	}
	if err := a.validate(c); err != nil {
		return err
	}
	rec, err := a.seal(c)
	if err != nil {
		return err
	}
	if err := a.store.UpdateNotifier(r.Context(), rec); err != nil {
		return err
	}
	a.log.Info("notifier updated", "id", c.ID, "name", c.Name, "type", c.Type)
	a.Reload(context.WithoutCancel(r.Context()))
	return a.respond(r.Context(), w, http.StatusOK, id)
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := a.store.GetNotifier(r.Context(), id); err != nil {
		return err
	}
	if a.users != nil {
		names, err := a.users(r.Context(), id)
		if err != nil {
			return err
		}
		if len(names) > 0 {
			return &httpapi.Error{Status: http.StatusConflict, Message: fmt.Sprintf(
				"notifier %q is used by %d policies (%s); remove it from them first", id, len(names), strings.Join(first(names, 5), ", "))}
		}
	}
	if err := a.store.DeleteNotifier(r.Context(), id); err != nil {
		return err
	}
	a.log.Info("notifier deleted", "id", id)
	a.Reload(context.WithoutCancel(r.Context()))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func first(ss []string, n int) []string {
	if len(ss) <= n {
		return ss
	}
	return append(slices.Clone(ss[:n]), fmt.Sprintf("and %d more", len(ss)-n))
}

// test sends a test message with the configuration in the body; with the
// id of a stored notifier, masked secrets are the stored ones.
func (a *API) test(w http.ResponseWriter, r *http.Request) error {
	c, err := readConfig(r)
	if err != nil {
		return err
	}
	if c.ID != "" {
		if err := a.keepSecrets(r.Context(), &c); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if err := a.validate(c); err != nil {
		return err
	}
	if err := a.outbox.Test(r.Context(), c); err != nil {
		a.log.Info("notifier test failed", "name", c.Name, "type", c.Type, "err", err)
		return httpapi.Invalid(fmt.Sprintf("notifier test failed: %v", err))
	}
	a.log.Info("notifier test succeeded", "name", c.Name, "type", c.Type)
	return httpapi.WriteJSON(w, http.StatusOK, TestResult{OK: true, Message: fmt.Sprintf("test message sent through %s notifier %q", c.Type, c.Name)})
}

func (a *API) deliveries(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := a.store.GetNotifier(r.Context(), id); err != nil {
		return err
	}
	q := r.URL.Query()
	dq := store.DeliveryQuery{NotifierID: id, State: strings.ToUpper(strings.TrimSpace(q.Get("state"))), AlertID: q.Get("alertId"), Limit: 100}
	switch dq.State {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFolded, store.DeliveryDead:
	default:
		return httpapi.Invalid(fmt.Sprintf("state %q: want PENDING, DELIVERED, FOLDED or DEAD", dq.State), httpapi.Detail{Path: "state", Message: "unknown state"})
	}
	for name, dst := range map[string]*int{"offset": &dq.Offset, "limit": &dq.Limit} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return httpapi.Invalid(fmt.Sprintf("%s %q: want a whole number ≥ 0", name, v), httpapi.Detail{Path: name, Message: "not a whole number ≥ 0"})
			}
			*dst = n
		}
	}
	dq.Limit = min(max(dq.Limit, 1), 1000)
	recs, total, err := a.store.ListDeliveries(r.Context(), dq)
	if err != nil {
		return err
	}
	out := Deliveries{Deliveries: make([]Delivery, 0, len(recs)), Total: total}
	for _, d := range recs {
		v := Delivery{ID: d.ID, Kind: d.Kind, Event: d.Event, AlertID: d.AlertID, State: d.State, Attempts: d.Attempts,
			CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt, DeliveredAt: d.DeliveredAt, LastError: d.LastError,
			FoldedInto: d.FoldedInto, Message: json.RawMessage(d.JSON)}
		if d.State == store.DeliveryPending {
			next := d.NextAttemptAt
			v.NextAttemptAt = &next
		}
		out.Deliveries = append(out.Deliveries, v)
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

func (a *API) retry(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := a.store.GetNotifier(r.Context(), id); err != nil {
		return err
	}
	var req RetryRequest
	if r.ContentLength != 0 {
		if err := httpapi.Decode(r, &req); err != nil {
			return err
		}
	}
	n, err := a.outbox.Retry(r.Context(), id, req.IDs)
	if err != nil {
		return err
	}
	a.log.Info("dead deliveries retried", "notifier", id, "deliveries", n)
	return httpapi.WriteJSON(w, http.StatusOK, RetryResult{Retried: n})
}

// Reload gives the outbox the stored notifiers with their secrets. A
// notifier that cannot be decrypted is left out and logged, so one bad
// record does not stop the others. Reloads run one at a time.
func (a *API) Reload(ctx context.Context) {
	a.reloadM.Lock()
	defer a.reloadM.Unlock()
	recs, err := a.store.ListNotifiers(ctx)
	if err != nil {
		a.log.Error("reload notifiers failed; the outbox keeps the previous ones", "err", err)
		return
	}
	cfgs := make([]notifier.Config, 0, len(recs))
	for _, rec := range recs {
		c, err := a.open(rec)
		if err != nil {
			a.log.Error("notifier left out of delivery", "id", rec.ID, "name", rec.Name, "err", err)
			continue
		}
		cfgs = append(cfgs, c)
	}
	a.outbox.SetNotifiers(cfgs)
	a.log.Info("notifiers loaded", "notifiers", len(cfgs), "stored", len(recs))
}
