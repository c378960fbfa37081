package policyapi

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/policyset"
	"github.com/stockade-dev/stockade/internal/policy"
)

// MaxListLimit bounds a page of GET /v1/policies; without a limit every
// matching policy is returned, as there are hundreds at most.
const MaxListLimit = 1000

// listParams are the query parameters of GET /v1/policies.
var listParams = []string{"query", "severity", "stage", "category", "disabled", "enforcement", "sort", "offset", "limit"}

// policySort orders summaries by key (name, severity, disabled or
// enforcement; "-key" reverses); every order ends by name, then id.
func policySort(key string) (func(a, b Summary) int, bool) {
	byName := func(a, b Summary) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	}
	key, desc := strings.CutPrefix(key, "-")
	var f func(a, b Summary) int
	switch key {
	case "", "name":
		f = byName
	case "severity":
		// Most severe first, like the alert list.
		f = func(a, b Summary) int { return cmp.Or(cmp.Compare(b.Severity.Rank(), a.Severity.Rank()), byName(a, b)) }
	case "disabled":
		f = func(a, b Summary) int { return cmp.Or(boolCompare(a.Disabled, b.Disabled), byName(a, b)) }
	case "enforcement":
		f = func(a, b Summary) int { return cmp.Or(boolCompare(b.Enforcement, a.Enforcement), byName(a, b)) }
	default:
		return nil, false
	}
	if desc {
		return func(a, b Summary) int { return f(b, a) }, true
	}
	return f, true
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// listFilter is the parsed filters of GET /v1/policies.
type listFilter struct {
	query, severity, stage, category string
	disabled, enforcement            *bool
}

func (f listFilter) keep(p *policy.Policy, s Summary) bool {
	switch {
	case f.query != "" && !matches(p, f.query):
		return false
	case f.severity != "" && string(s.Severity) != f.severity:
		return false
	case f.stage != "" && !slices.Contains(s.LifecycleStages, policy.LifecycleStage(f.stage)):
		return false
	case f.category != "" && !slices.ContainsFunc(s.Categories, func(c string) bool { return strings.EqualFold(c, f.category) }):
		return false
	case f.disabled != nil && s.Disabled != *f.disabled:
		return false
	case f.enforcement != nil && s.Enforcement != *f.enforcement:
		return false
	}
	return true
}

func boolParam(q url.Values, name string) (*bool, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: name, Message: "want true or false, got " + strconv.Quote(v)})
	}
	return &b, nil
}

func intParam(q url.Values, name string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: name, Message: "want a non-negative integer, got " + strconv.Quote(v)})
	}
	return n, nil
}

func parseListFilter(q url.Values) (listFilter, error) {
	for k := range q {
		if !slices.Contains(listParams, k) {
			return listFilter{}, httpapi.Invalid("unknown query parameter", httpapi.Detail{Path: k, Message: "unknown query parameter"})
		}
	}
	f := listFilter{query: q.Get("query"), stage: strings.ToUpper(q.Get("stage")), category: q.Get("category")}
	if s := strings.ToUpper(strings.TrimSpace(q.Get("severity"))); s != "" {
		if !strings.HasSuffix(s, "_SEVERITY") {
			s += "_SEVERITY"
		}
		f.severity = s
	}
	var err error
	if f.disabled, err = boolParam(q, "disabled"); err != nil {
		return listFilter{}, err
	}
	if f.enforcement, err = boolParam(q, "enforcement"); err != nil {
		return listFilter{}, err
	}
	return f, nil
}

// list serves GET /v1/policies: filters, a sort and an optional page, with
// the total number of matching policies.
func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseListFilter(q)
	if err != nil {
		return err
	}
	order, ok := policySort(q.Get("sort"))
	if !ok {
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "sort",
			Message: "want name, severity, disabled or enforcement, optionally preceded by - to reverse, got " + strconv.Quote(q.Get("sort"))})
	}
	offset, err := intParam(q, "offset")
	if err != nil {
		return err
	}
	limit, err := intParam(q, "limit")
	if err != nil {
		return err
	}
	if limit > MaxListLimit {
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "limit", Message: "want 1 to " + strconv.Itoa(MaxListLimit)})
	}
	recs, err := a.store.ListPolicies(r.Context())
	if err != nil {
		return err
	}
	out := []Summary{}
	for _, rec := range recs {
		p, err := policyset.Decode(rec)
		if err != nil {
			return err
		}
		if s := summarize(p); f.keep(p, s) {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, order)
	total := len(out)
	out = out[min(offset, total):]
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return httpapi.WriteJSON(w, http.StatusOK, map[string]any{"policies": out, "total": total})
}
