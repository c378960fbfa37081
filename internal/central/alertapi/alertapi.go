// Package alertapi is the /v1/alerts API: list alerts with filters, sorting
// and paging, read one, and move one to another state (resolve it). Alerts
// are written by detection (see detectapi); this package only reads and
// resolves them. Routes and their permissions are declared in Routes.
package alertapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/csvexport"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/outbox"
	"github.com/stockade-dev/stockade/internal/central/store"
)

// Paging bounds of GET /v1/alerts.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Store is what the alert API needs from the store.
type Store interface {
	ListAlerts(ctx context.Context, q store.AlertQuery) ([]store.AlertRecord, int, error)
	SummarizeAlerts(ctx context.Context, q store.AlertQuery, groupings []store.AlertGrouping) (store.AlertSummary, error)
	GetAlert(ctx context.Context, id string) (store.AlertRecord, error)
	// ListPolicies gives the categories of each policy, for the category
	// filter and grouping.
	ListPolicies(ctx context.Context) ([]store.PolicyRecord, error)
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
}

// Notifications queues the notifications of a state change inside its
// transaction (the outbox) and wakes delivery once it committed.
type Notifications interface {
	EnqueueAlerts(ctx context.Context, tx *store.Tx, changes []outbox.AlertChange) error
	Kick()
}

// API serves the alert routes.
type API struct {
	store         Store
	notify        Notifications
	policyChanged func()
	log           *slog.Logger
}

// New returns the alert API; notify may be nil (no forwarding).
// policyChanged, when set, is called after excluding a deployment changed
// a policy (Central invalidates its compiled policy set).
func New(st Store, notify Notifications, policyChanged func(), log *slog.Logger) *API {
	return &API{store: st, notify: notify, policyChanged: policyChanged, log: log}
}

// Routes are the alert endpoints: reading needs Alert read, resolving
// Alert write; excluding the alert's deployment from its policy changes
// the policy, and needs Policy write.
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/alerts", Permission: auth.Need(auth.ResourceAlert, auth.Read), Handler: a.list},
		{Method: http.MethodGet, Path: "/v1/alerts/summary", Permission: auth.Need(auth.ResourceAlert, auth.Read), Handler: a.summary},
		{Method: http.MethodGet, Path: "/v1/alerts/{id}", Permission: auth.Need(auth.ResourceAlert, auth.Read), Handler: a.get},
		{Method: http.MethodPatch, Path: "/v1/alerts/{id}", Permission: auth.Need(auth.ResourceAlert, auth.Write), Handler: a.patch},
		{Method: http.MethodPost, Path: "/v1/alerts/{id}/exclude", Permission: auth.Need(auth.ResourcePolicy, auth.Write), Handler: a.exclude},
	}
}

// View renders a stored alert: its document with the state and update time
// from the record, which change without the document being rewritten, and
// whether the violation was enforced (admission denied it).
func View(rec store.AlertRecord) (map[string]any, error) {
	doc := map[string]any{}
	if err := json.Unmarshal(rec.JSON, &doc); err != nil {
		return nil, err
	}
	doc["id"] = rec.ID
	doc["state"] = rec.State
	doc["time"] = rec.CreatedAt.Format(time.RFC3339Nano)
	doc["lastUpdated"] = rec.UpdatedAt.Format(time.RFC3339Nano)
	doc["enforced"] = rec.Enforced
	return doc, nil
}

// severity accepts LOW…CRITICAL or their _SEVERITY forms.
func severity(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s != "" && !strings.HasSuffix(s, "_SEVERITY") {
		s += "_SEVERITY"
	}
	return s
}

func intParam(q map[string][]string, name string, def int) (int, error) {
	vs := q[name]
	if len(vs) == 0 || vs[0] == "" {
		return def, nil
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil || n < 0 {
		return 0, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: name, Message: "want a non-negative integer, got " + strconv.Quote(vs[0])})
	}
	return n, nil
}

// filterParams are the query parameters that select alerts, shared by the
// list and the summary.
var filterParams = []string{"policyId", "severity", "state", "namespace", "cluster", "deployment", "stage", "query",
	"category", "since", "until"}

// checkParams refuses a query parameter that is neither a filter nor one
// of extra.
func checkParams(q url.Values, extra ...string) error {
	for k := range q {
		if !slices.Contains(filterParams, k) && !slices.Contains(extra, k) {
			return httpapi.Invalid("unknown query parameter", httpapi.Detail{Path: k, Message: "unknown query parameter"})
		}
	}
	return nil
}

func timeParam(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: name, Message: "want an RFC 3339 time such as 2026-01-02T15:04:05Z, got " + strconv.Quote(v)})
	}
	return t, nil
}

// filter reads the filter parameters of q into a store query.
func (a *API) filter(ctx context.Context, q url.Values) (store.AlertQuery, error) {
	aq := store.AlertQuery{
		PolicyID:   q.Get("policyId"),
		Severity:   severity(q.Get("severity")),
		State:      strings.ToUpper(q.Get("state")),
		Namespace:  q.Get("namespace"),
		Cluster:    q.Get("cluster"),
		Deployment: q.Get("deployment"),
		Stage:      strings.ToUpper(q.Get("stage")),
		Text:       q.Get("query"),
	}
	var err error
	if aq.Since, err = timeParam(q, "since"); err != nil {
		return store.AlertQuery{}, err
	}
	if aq.Until, err = timeParam(q, "until"); err != nil {
		return store.AlertQuery{}, err
	}
	if c := q.Get("category"); c != "" {
		cats, err := a.categories(ctx)
		if err != nil {
			return store.AlertQuery{}, err
		}
		aq.PolicyIDs = []string{}
		for id, pc := range cats {
			if slices.ContainsFunc(pc, func(x string) bool { return strings.EqualFold(x, c) }) {
				aq.PolicyIDs = append(aq.PolicyIDs, id)
			}
		}
		slices.Sort(aq.PolicyIDs)
	}
	return aq, nil
}

// categories maps every stored policy's id to its categories.
func (a *API) categories(ctx context.Context) (map[string][]string, error) {
	recs, err := a.store.ListPolicies(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(recs))
	for _, rec := range recs {
		var p struct {
			Categories []string `json:"categories"`
		}
		if err := json.Unmarshal(rec.JSON, &p); err != nil {
			return nil, fmt.Errorf("policy %q: read document: %w", rec.ID, err)
		}
		out[rec.ID] = p.Categories
	}
	return out, nil
}

func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, "sort", "offset", "limit", "format"); err != nil {
		return err
	}
	asCSV, err := csvexport.Requested(q)
	if err != nil {
		return err
	}
	offset, err := intParam(q, "offset", 0)
	if err != nil {
		return err
	}
	limit, err := intParam(q, "limit", DefaultLimit)
	if err != nil {
		return err
	}
	if limit == 0 || limit > MaxLimit {
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "limit", Message: "want 1 to " + strconv.Itoa(MaxLimit)})
	}
	aq, err := a.filter(r.Context(), q)
	if err != nil {
		return err
	}
	aq.Sort, aq.Offset, aq.Limit = q.Get("sort"), offset, limit
	if asCSV {
		return a.export(w, r, aq)
	}
	recs, total, err := a.store.ListAlerts(r.Context(), aq)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(recs))
	for _, rec := range recs {
		v, err := View(rec)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	return httpapi.WriteJSON(w, http.StatusOK, map[string]any{"alerts": out, "total": total})
}

// exportPage is how many alerts an export reads at a time.
const exportPage = 1000

// export writes every alert aq's filters select, in its order, as CSV, a
// page at a time (up to csvexport.MaxRows).
func (a *API) export(w http.ResponseWriter, r *http.Request, aq store.AlertQuery) error {
	var out *csvexport.Writer
	var err error
	for aq.Offset, aq.Limit = 0, exportPage; ; aq.Offset += exportPage {
		var recs []store.AlertRecord
		if recs, _, err = a.store.ListAlerts(r.Context(), aq); err != nil {
			break
		}
		if out == nil {
			if out, err = csvexport.New(w, "violations.csv", "Policy", "Severity", "Deployment", "Cluster", "Namespace", "Stage", "State",
				"Enforced", "Time", "ID"); err != nil {
				return err
			}
		}
		for _, rec := range recs {
			if err = out.Row(rec.PolicyName, rec.Severity, rec.DeploymentName, rec.ClusterName, rec.Namespace, rec.LifecycleStage, rec.State,
				strconv.FormatBool(rec.Enforced), rec.CreatedAt.UTC().Format(time.RFC3339), rec.ID); err != nil {
				break
			}
		}
		if err != nil || len(recs) < exportPage {
			break
		}
	}
	if out == nil {
		return err // nothing sent yet: the edge answers with the error
	}
	if errors.Is(err, csvexport.ErrFull) {
		err = nil
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		a.log.WarnContext(r.Context(), "export cut short", "export", "violations.csv", "err", err)
	}
	return nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	rec, err := a.store.GetAlert(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := View(rec)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, v)
}

// PatchRequest changes an alert's state.
type PatchRequest struct {
	State string `json:"state"`
}

func (a *API) patch(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var req PatchRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	state := strings.ToUpper(strings.TrimSpace(req.State))
	switch state {
	case store.AlertActive, store.AlertResolved, store.AlertAttempted:
	default:
		return httpapi.Invalid("unknown alert state", httpapi.Detail{Path: "state", Message: "want ACTIVE, RESOLVED or ATTEMPTED, got " + strconv.Quote(req.State)})
	}
	queued := false
	err := a.store.InTx(r.Context(), func(tx *store.Tx) error {
		before, err := tx.GetAlert(r.Context(), id)
		if err != nil {
			return err
		}
		if err := tx.SetAlertState(r.Context(), id, state); err != nil {
			return err
		}
		if a.notify == nil || outbox.StateEvent(before.State, state) == "" {
			return nil
		}
		notifiers, err := policyNotifiers(r.Context(), tx, before.PolicyID)
		if err != nil || len(notifiers) == 0 {
			return err
		}
		queued, err = a.queue(r.Context(), tx, before, state, notifiers)
		return err
	})
	if err != nil {
		return err
	}
	if queued {
		a.notify.Kick()
	}
	a.log.Info("alert state changed", "alert", id, "state", state)
	rec, err := a.store.GetAlert(r.Context(), id)
	if err != nil {
		return err
	}
	v, err := View(rec)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, v)
}
