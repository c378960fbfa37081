package alertapi

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/store"
)

// Bounds of GET /v1/alerts/summary.
const (
	DefaultGroupLimit = 10
	MaxGroupLimit     = 1000
	DefaultDays       = 30
	MaxDays           = 366
)

// GroupCategory groups alerts by their policy's categories, on top of the
// store's groupings.
const GroupCategory = "category"

// groupings lists what groupBy accepts.
func groupings() []string { return append(store.AlertGroupings(), GroupCategory) }

// GroupCount is the number of alerts in one group of a summary. Only the
// fields of the grouping are set; see Summary.
type GroupCount struct {
	Severity       string `json:"severity,omitempty"`
	State          string `json:"state,omitempty"`
	Stage          string `json:"stage,omitempty"`
	PolicyID       string `json:"policyId,omitempty"`
	PolicyName     string `json:"policyName,omitempty"`
	Category       string `json:"category,omitempty"`
	Cluster        string `json:"cluster,omitempty"`
	Namespace      string `json:"namespace,omitempty"`
	DeploymentID   string `json:"deploymentId,omitempty"`
	DeploymentName string `json:"deploymentName,omitempty"`
	// MaxSeverity is the most severe alert of a deployment group.
	MaxSeverity string `json:"maxSeverity,omitempty"`
	// Day is a UTC date, 2026-01-02, in the day grouping.
	Day   string `json:"day,omitempty"`
	Count int    `json:"count"`
}

// Summary counts the alerts a filter selects, in all and per group, for
// the dashboard. Groups are largest first (severity: most severe first;
// day: oldest first, every day of the window, zero or not). An alert
// counts once in each category of its policy; alerts of deleted policies
// count in no category.
type Summary struct {
	Total  int                     `json:"total"`
	Groups map[string][]GroupCount `json:"groups"`
}

func (a *API) summary(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, "groupBy", "limit", "days"); err != nil {
		return err
	}
	var by []string
	for _, v := range q["groupBy"] {
		for g := range strings.SplitSeq(v, ",") {
			if g = strings.TrimSpace(g); g != "" && !slices.Contains(by, g) {
				by = append(by, g)
			}
		}
	}
	for _, g := range by {
		if !slices.Contains(groupings(), g) {
			return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "groupBy", Message: "unknown grouping " +
				strconv.Quote(g) + "; want some of " + strings.Join(groupings(), ", ")})
		}
	}
	limit, err := intParam(q, "limit", DefaultGroupLimit)
	if err != nil {
		return err
	}
	if limit == 0 || limit > MaxGroupLimit {
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "limit", Message: "want 1 to " + strconv.Itoa(MaxGroupLimit)})
	}
	days, err := intParam(q, "days", DefaultDays)
	if err != nil {
		return err
	}
	if days == 0 || days > MaxDays {
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "days", Message: "want 1 to " + strconv.Itoa(MaxDays)})
	}
	aq, err := a.filter(r.Context(), q)
	if err != nil {
		return err
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, 1-days)
	var gs []store.AlertGrouping
	for _, g := range by {
		switch g {
		case GroupCategory:
			// Counted from every policy's total below; the number of
			// policies bounds it.
			gs = append(gs, store.AlertGrouping{By: store.GroupPolicy})
		case store.GroupDay:
			gs = append(gs, store.AlertGrouping{By: g, Since: first})
		case store.GroupSeverity, store.GroupState, store.GroupStage:
			gs = append(gs, store.AlertGrouping{By: g}) // a handful of values
		default:
			gs = append(gs, store.AlertGrouping{By: g, Limit: limit})
		}
	}
	sum, err := a.store.SummarizeAlerts(r.Context(), aq, gs)
	if err != nil {
		return err
	}
	out := Summary{Total: sum.Total, Groups: map[string][]GroupCount{}}
	for _, g := range by {
		switch g {
		case GroupCategory:
			cats, err := a.categories(r.Context())
			if err != nil {
				return err
			}
			out.Groups[g] = byCategory(sum.Groups[store.GroupPolicy], cats, limit)
		case store.GroupDay:
			out.Groups[g] = everyDay(sum.Groups[g], first, today)
		default:
			counts := []GroupCount{}
			for _, c := range sum.Groups[g] {
				counts = append(counts, GroupCount{Severity: c.Severity, State: c.State, Stage: c.Stage, PolicyID: c.PolicyID,
					PolicyName: c.PolicyName, Cluster: c.Cluster, Namespace: c.Namespace, DeploymentID: c.DeploymentID,
					DeploymentName: c.DeploymentName, MaxSeverity: c.MaxSeverity, Count: c.Count})
			}
			out.Groups[g] = counts
		}
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

// byCategory adds the per-policy counts up by category, largest first.
func byCategory(perPolicy []store.AlertCount, cats map[string][]string, limit int) []GroupCount {
	totals := map[string]int{}
	for _, c := range perPolicy {
		for _, cat := range cats[c.PolicyID] {
			totals[cat] += c.Count
		}
	}
	out := []GroupCount{}
	for cat, n := range totals {
		out = append(out, GroupCount{Category: cat, Count: n})
	}
	slices.SortFunc(out, func(x, y GroupCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Category, y.Category))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// everyDay lists each day from first to last, with the counts found.
func everyDay(found []store.AlertCount, first, last time.Time) []GroupCount {
	counts := map[string]int{}
	for _, c := range found {
		counts[c.Day.Format(time.DateOnly)] += c.Count
	}
	out := []GroupCount{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		out = append(out, GroupCount{Day: day, Count: counts[day]})
	}
	return out
}
