package store

import (
	"context"
	"fmt"
	"time"
)

// Alert groupings SummarizeAlerts counts by.
const (
	GroupSeverity   = "severity"
	GroupState      = "state"
	GroupStage      = "stage"
	GroupPolicy     = "policy"
	GroupCluster    = "cluster"
	GroupNamespace  = "namespace"
	GroupDeployment = "deployment"
	GroupDay        = "day"
)

// AlertGroupings lists every grouping SummarizeAlerts accepts.
func AlertGroupings() []string {
	return []string{GroupSeverity, GroupState, GroupStage, GroupPolicy, GroupCluster, GroupNamespace, GroupDeployment, GroupDay}
}

// AlertGrouping asks for the alert counts of one grouping. Limit keeps the
// largest groups only (0: all of them). Since, for the day grouping, is the
// first day counted; other groupings ignore it.
type AlertGrouping struct {
	By    string
	Limit int
	Since time.Time
}

// AlertCount is the number of alerts in one group. Only the fields of the
// grouping are set: Severity; State; Stage; PolicyID and PolicyName;
// Cluster; Cluster and Namespace; Cluster, Namespace, DeploymentID and
// DeploymentName (with MaxSeverity, the most severe of the group's alerts);
// Day (midnight UTC).
type AlertCount struct {
	Severity       string
	State          string
	Stage          string
	PolicyID       string
	PolicyName     string
	Cluster        string
	Namespace      string
	DeploymentID   string
	DeploymentName string
	MaxSeverity    string
	Day            time.Time
	Count          int
}

// AlertSummary is the result of SummarizeAlerts: how many alerts the
// filters select in all, and the counts of each grouping asked for.
type AlertSummary struct {
	Total  int
	Groups map[string][]AlertCount
}

// maxGroupings bounds the groupings of one summary.
const maxGroupings = 16

// groupSQL is one grouping's columns, ordering and row reader.
type groupSQL struct {
	cols  string // selected and grouped by
	extra string // further aggregates selected
	order string
	scan  func(scan func(...any) error) (AlertCount, error)
}

const dayNanos = int64(24 * time.Hour)

func alertGroupSQL(by, byteOrder string) (groupSQL, bool) {
	most := "COUNT(*) DESC, "
	switch by {
	case GroupSeverity:
		// By rank, which an index holds, and named from it.
		return groupSQL{cols: "severity_rank", order: "severity_rank DESC", scan: func(sc func(...any) error) (AlertCount, error) {
			var c AlertCount
			var rank int
			err := sc(&rank, &c.Count)
			c.Severity = severityOfRank(rank)
			return c, err
		}}, true
	case GroupState:
		return groupSQL{cols: "state", order: most + "state" + byteOrder, scan: func(sc func(...any) error) (AlertCount, error) {
			var c AlertCount
			err := sc(&c.State, &c.Count)
			return c, err
		}}, true
	case GroupStage:
		return groupSQL{cols: "lifecycle_stage", order: most + "lifecycle_stage" + byteOrder, scan: func(sc func(...any) error) (AlertCount, error) {
			var c AlertCount
			err := sc(&c.Stage, &c.Count)
			return c, err
		}}, true
	case GroupPolicy:
		return groupSQL{cols: "policy_id, policy_name", order: most + "policy_name" + byteOrder + ", policy_id" + byteOrder, scan: func(sc func(...any) error) (AlertCount, error) {
			var c AlertCount
			err := sc(&c.PolicyID, &c.PolicyName, &c.Count)
			return c, err
		}}, true
	case GroupCluster:
		return groupSQL{cols: "cluster_name", order: most + "cluster_name" + byteOrder, scan: func(sc func(...any) error) (AlertCount, error) {
			var c AlertCount
			err := sc(&c.Cluster, &c.Count)
			return c, err
		}}, true
	case GroupNamespace:
		return groupSQL{cols: "cluster_name, namespace", order: most + "cluster_name" + byteOrder + ", namespace" + byteOrder, scan: func(sc func(...any) error) (AlertCount, error) {
			var c AlertCount
			err := sc(&c.Cluster, &c.Namespace, &c.Count)
			return c, err
		}}, true
	case GroupDeployment:
		// The riskiest first: most alerts, then the most severe.
		return groupSQL{cols: "cluster_name, namespace, deployment_id, deployment_name", extra: ", MAX(severity_rank)",
			order: most + "MAX(severity_rank) DESC, deployment_name" + byteOrder + ", deployment_id" + byteOrder,
			scan: func(sc func(...any) error) (AlertCount, error) {
				var c AlertCount
				var rank int
				err := sc(&c.Cluster, &c.Namespace, &c.DeploymentID, &c.DeploymentName, &rank, &c.Count)
				c.MaxSeverity = severityOfRank(rank)
				return c, err
			}}, true
	case GroupDay:
		// Integer division on BIGINT truncates toward zero on both
		// backends; days before 1970 are rounded toward it, which only
		// matters to alerts nobody has.
		return groupSQL{cols: fmt.Sprintf("created_at / %d", dayNanos), order: "1 ASC", scan: func(sc func(...any) error) (AlertCount, error) {
			var c AlertCount
			var day int64
			err := sc(&day, &c.Count)
			c.Day = fromNanos(day * dayNanos)
			return c, err
		}}, true
	}
	return groupSQL{}, false
}

func severityOfRank(rank int) string {
	switch rank {
	case 1:
		return "LOW_SEVERITY"
	case 2:
		return "MEDIUM_SEVERITY"
	case 3:
		return "HIGH_SEVERITY"
	case 4:
		return "CRITICAL_SEVERITY"
	}
	return ""
}

// SummarizeAlerts counts the alerts q's filters select (its sort and page
// are ignored), in all and by each grouping, in one read snapshot. The
// result is shared with later calls until alerts change (alert_cache.go):
// callers must not modify it.
func (s *Store) SummarizeAlerts(ctx context.Context, q AlertQuery, groupings []AlertGrouping) (AlertSummary, error) {
	if len(groupings) > maxGroupings {
		return AlertSummary{}, fmt.Errorf("summarize alerts: %d groupings, at most %d: %w", len(groupings), maxGroupings, ErrInvalid)
	}
	type planned struct {
		by    string
		sql   string
		args  []any
		group groupSQL
	}
	where, args, err := q.where()
	if err != nil {
		return AlertSummary{}, fmt.Errorf("summarize alerts: %w", err)
	}
	plans := make([]planned, 0, len(groupings))
	for _, g := range groupings {
		gs, ok := alertGroupSQL(g.By, s.d.byteOrder)
		if !ok {
			return AlertSummary{}, fmt.Errorf("summarize alerts: unknown grouping %q: %w", g.By, ErrInvalid)
		}
		if g.Limit < 0 {
			return AlertSummary{}, fmt.Errorf("summarize alerts by %s: negative limit %d: %w", g.By, g.Limit, ErrInvalid)
		}
		gw, gargs := where, args
		if g.By == GroupDay && !g.Since.IsZero() {
			dq := q
			if dq.Since.IsZero() || g.Since.After(dq.Since) {
				dq.Since = g.Since
			}
			if gw, gargs, err = dq.where(); err != nil {
				return AlertSummary{}, fmt.Errorf("summarize alerts: %w", err)
			}
		}
		text := `SELECT ` + gs.cols + gs.extra + `, COUNT(*) FROM alerts` + gw + ` GROUP BY ` + gs.cols +
			` ORDER BY ` + gs.order + s.d.limit(g.Limit, 0)
		plans = append(plans, planned{by: g.By, sql: text, args: gargs, group: gs})
	}
	statements, stArgs := []string{`SELECT COUNT(*) FROM alerts` + where}, [][]any{args}
	for _, p := range plans {
		statements, stArgs = append(statements, p.by+"\x00"+p.sql), append(stArgs, p.args)
	}
	key, gen := summaryKey(statements, stArgs), s.summaries.generation()
	if sum, ok := s.summaries.get(key); ok {
		return sum, nil
	}
	out := AlertSummary{Groups: make(map[string][]AlertCount, len(plans))}
	err = s.read(ctx, func(rq querier) error {
		if err := rq.queryRow(ctx, `SELECT COUNT(*) FROM alerts`+where, args...).Scan(&out.Total); err != nil {
			return err
		}
		for _, p := range plans {
			counts, err := readCounts(ctx, rq, p.sql, p.args, p.group)
			if err != nil {
				return fmt.Errorf("by %s: %w", p.by, err)
			}
			out.Groups[p.by] = counts
		}
		return nil
	})
	if err != nil {
		return AlertSummary{}, fmt.Errorf("summarize alerts: %w", err)
	}
	s.summaries.put(key, gen, out)
	return out, nil
}

func readCounts(ctx context.Context, rq querier, text string, args []any, g groupSQL) ([]AlertCount, error) {
	rows, err := rq.query(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	counts := []AlertCount{}
	for rows.Next() {
		c, err := g.scan(rows.Scan)
		if err != nil {
			return nil, err
		}
		counts = append(counts, c)
	}
	return counts, rows.Err()
}
