package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// A deployment's risk ranks it by what is wrong with it now, in the manner
// of ACS's risk: the score is a product of factors, each at least 1 (the
// factor of a deployment with nothing of that kind) and capped, so that
// no single input can swamp the others and a deployment with both open
// violations and vulnerable images ranks above one with only one of the
// two at the same level. Two factors, until the risk issue adds the
// others ACS weighs (service configuration, reachability, process
// baselines):
//
//   - open violations: 4 points per critical, 3 per high, 2 per medium and
//     1 per low ACTIVE alert; factor 1 + 3·min(points, 40)/40, in [1, 4].
//   - image vulnerabilities: the distinct CVEs of the images it runs, each
//     once at its highest severity, 10 points per critical, 5 per
//     important, 2 per moderate and 1 per low or unknown one; factor
//     1 + 3·min(points, 200)/200, in [1, 4].
//
// The score is their product rounded to two decimals, from 1 (nothing
// known against it) to 16. The inputs are read when a ranking is asked for
// after a write — open violations from the open-alert index (migration
// 0008), CVE counts from the deployments' CVE counts of
// ListDeploymentVulns — and the ranking is kept until the next committed
// write (riskCache).

// sortRisk is the DeploymentQuery sort by risk score.
const sortRisk = "risk"

// The factors' weights and caps.
const (
	riskFactorMax        = 4
	violationSaturation  = 40
	vulnSaturation       = 200
	violationPtsCritical = 4
	violationPtsHigh     = 3
	violationPtsMedium   = 2
	violationPtsLow      = 1
	vulnPtsCritical      = 10
	vulnPtsImportant     = 5
	vulnPtsModerate      = 2
	vulnPtsLow           = 1 // also for CVEs of unknown severity
)

// Risk is a deployment's risk score with its factors and their inputs.
type Risk struct {
	Score           float64
	ViolationFactor float64
	VulnFactor      float64
	Violations      ViolationCounts
	CVEs            VulnCounts
}

// saturate maps points onto [1, riskFactorMax]: linear up to saturation,
// flat after.
func saturate(points, saturation int) float64 {
	return 1 + float64(riskFactorMax-1)*float64(min(max(points, 0), saturation))/float64(saturation)
}

// round2 rounds to two decimals.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// RiskOf computes the risk of a deployment with open violations v whose
// images have the CVEs c.
func RiskOf(v ViolationCounts, c VulnCounts) Risk {
	vp := violationPtsCritical*v.Critical + violationPtsHigh*v.High + violationPtsMedium*v.Medium + violationPtsLow*v.Low
	unknown := max(c.CVEs-c.Critical-c.Important-c.Moderate-c.Low, 0)
	cp := vulnPtsCritical*c.Critical + vulnPtsImportant*c.Important + vulnPtsModerate*c.Moderate + vulnPtsLow*(c.Low+unknown)
	fv, fc := saturate(vp, violationSaturation), saturate(cp, vulnSaturation)
	return Risk{Score: round2(fv * fc), ViolationFactor: round2(fv), VulnFactor: round2(fc), Violations: v, CVEs: c}
}

// deploymentCVECounts returns every deployment with the CVE counts of the
// images it runs, as kept on writes in deployment_vulns (vulncount.go).
func (s *Store) deploymentCVECounts(ctx context.Context) ([]DeploymentVulns, error) {
	var out []DeploymentVulns
	err := s.read(ctx, func(rq querier) (err error) {
		out, err = rq.deploymentVulnCounts(ctx, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("deployments' CVE counts: %w", err)
	}
	return out, nil
}

// riskCache keeps every deployment's risk, ranked riskiest first, while
// no write has been committed since it was computed: the rankings of a
// dashboard and of the pages after it are then a filter of it. A reader
// stores what it computed under the write count it read before it began,
// so a write committed meanwhile is never hidden.
type riskCache struct {
	mu      sync.Mutex
	writes  uint64
	ranked  []riskRow
	byID    map[string]int
	created bool // false: nothing cached yet
}

// get returns the ranking current at writes, if cached; callers must not
// modify it.
func (c *riskCache) get(writes uint64) ([]riskRow, map[string]int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.created || c.writes != writes {
		return nil, nil, false
	}
	return c.ranked, c.byID, true
}

func (c *riskCache) put(writes uint64, ranked []riskRow, byID map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes, c.ranked, c.byID, c.created = writes, ranked, byID, true
}

// riskRow is one deployment being ranked.
type riskRow struct {
	id, name, namespace, cluster string
	risk                         Risk
}

// riskier orders rows by risk, highest first when desc, ties by name,
// namespace, cluster and id, A→Z.
func riskier(desc bool) func(a, b riskRow) int {
	return func(a, b riskRow) int {
		by := cmp.Compare(a.risk.Score, b.risk.Score)
		if desc {
			by = -by
		}
		return cmp.Or(by, strings.Compare(a.name, b.name), strings.Compare(a.namespace, b.namespace),
			strings.Compare(a.cluster, b.cluster), strings.Compare(a.id, b.id))
	}
}

// rankedRisks returns every deployment with its risk, riskiest first, and
// the index of each by id: from the cache when no write was committed
// since it was computed, else from the deployments' CVE counts and one
// grouped pass over the open-alert index.
func (s *Store) rankedRisks(ctx context.Context) ([]riskRow, map[string]int, error) {
	writes := s.writes.Load()
	if ranked, byID, ok := s.risks.get(writes); ok {
		return ranked, byID, nil
	}
	all, err := s.deploymentCVECounts(ctx)
	if err != nil {
		return nil, nil, err
	}
	var violations map[string]ViolationCounts
	err = s.read(ctx, func(rq querier) (err error) {
		violations, err = rq.openViolations(ctx)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	ranked := make([]riskRow, len(all))
	for i := range all {
		d := &all[i]
		ranked[i] = riskRow{id: d.ID, name: d.Name, namespace: d.Namespace, cluster: d.Cluster, risk: RiskOf(violations[d.ID], d.VulnCounts)}
	}
	slices.SortFunc(ranked, riskier(true))
	byID := make(map[string]int, len(ranked))
	for i, r := range ranked {
		byID[r.id] = i
	}
	s.risks.put(writes, ranked, byID)
	return ranked, byID, nil
}

// DeploymentRisks returns the risk of each of ids; ids not stored get the
// risk of a deployment with nothing against it.
func (s *Store) DeploymentRisks(ctx context.Context, ids []string) (map[string]Risk, error) {
	out := make(map[string]Risk, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if ranked, byID, ok := s.risks.get(s.writes.Load()); ok {
		for _, id := range ids {
			if i, ok := byID[id]; ok {
				out[id] = ranked[i].risk
			} else {
				out[id] = RiskOf(ViolationCounts{}, VulnCounts{})
			}
		}
		return out, nil
	}
	violations, err := s.DeploymentViolations(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("risk of %d deployments: %w", len(ids), err)
	}
	all, err := s.deploymentCVECounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("risk of %d deployments: %w", len(ids), err)
	}
	cves := make(map[string]VulnCounts, len(ids))
	for _, id := range ids {
		cves[id] = VulnCounts{}
	}
	for i := range all {
		if _, ok := cves[all[i].ID]; ok {
			cves[all[i].ID] = all[i].VulnCounts
		}
	}
	for _, id := range ids {
		out[id] = RiskOf(violations[id], cves[id])
	}
	return out, nil
}

// ListDeploymentsWithRisk is ListDeployments that also returns the risk of
// each deployment of the page, by id.
func (s *Store) ListDeploymentsWithRisk(ctx context.Context, q DeploymentQuery) ([]DeploymentRecord, map[string]Risk, int, error) {
	if strings.TrimPrefix(q.Sort, "-") == sortRisk {
		return s.listDeploymentsByRisk(ctx, q)
	}
	page, total, err := s.ListDeployments(ctx, q)
	if err != nil {
		return nil, nil, 0, err
	}
	ids := make([]string, len(page))
	for i, d := range page {
		ids[i] = d.ID
	}
	risks, err := s.DeploymentRisks(ctx, ids)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("list deployments: %w", err)
	}
	return page, risks, total, nil
}

// listDeploymentsByRisk is ListDeployments sorted by risk: the ranking of
// every deployment (rankedRisks) filtered by q — cluster, namespace and
// text directly, the other filters through a query of the matching ids —
// and paged; then the page's rows are read by id.
func (s *Store) listDeploymentsByRisk(ctx context.Context, q DeploymentQuery) ([]DeploymentRecord, map[string]Risk, int, error) {
	if q.Offset < 0 {
		return nil, nil, 0, fmt.Errorf("list deployments: negative offset %d: %w", q.Offset, ErrInvalid)
	}
	desc := false
	switch q.Sort {
	case sortRisk:
	case "-" + sortRisk:
		desc = true
	default:
		return nil, nil, 0, fmt.Errorf("list deployments: unknown sort %q: %w", q.Sort, ErrInvalid)
	}
	where, args, err := q.where(s.d.byteOrder)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("list deployments: %w", err)
	}
	ranked, _, err := s.rankedRisks(ctx)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("list deployments by risk: %w", err)
	}
	narrowed := q.Name != "" || q.Kind != "" || q.Source != "" || q.Violated != nil || q.Severity != ""
	var (
		out   []DeploymentRecord
		risks map[string]Risk
		total int
	)
	err = s.read(ctx, func(rq querier) error {
		var keep map[string]bool
		if narrowed {
			ids, err := rq.strings(ctx, `SELECT id FROM deployments`+where, args...)
			if err != nil {
				return err
			}
			keep = make(map[string]bool, len(ids))
			for _, id := range ids {
				keep[id] = true
			}
		}
		// The rows of the page, as indexes into ranked: without filters
		// the ranking itself.
		text := fold(q.Text)
		filtered := keep != nil || q.Cluster != "" || q.Namespace != "" || text != ""
		var matched []int32
		if filtered || !desc {
			matched = make([]int32, 0, min(len(ranked), 1024))
			for i := range ranked {
				r := &ranked[i]
				if (q.Cluster != "" && r.cluster != q.Cluster) || (q.Namespace != "" && r.namespace != q.Namespace) ||
					(keep != nil && !keep[r.id]) ||
					(text != "" && !strings.Contains(fold(r.name+"\n"+r.namespace+"\n"+r.cluster), text)) {
					continue
				}
				matched = append(matched, int32(i))
			}
			if !desc {
				asc := riskier(false)
				slices.SortFunc(matched, func(a, b int32) int { return asc(ranked[a], ranked[b]) })
			}
			total = len(matched)
		} else {
			total = len(ranked)
		}
		var page []riskRow
		if matched == nil && !filtered && desc {
			page = pageOf(ranked, q.Offset, q.Limit)
		} else {
			for _, i := range pageOf(matched, q.Offset, q.Limit) {
				page = append(page, ranked[i])
			}
		}
		ids := make([]string, len(page))
		risks = make(map[string]Risk, len(page))
		for i, r := range page {
			ids[i] = r.id
			risks[r.id] = r.risk
		}
		out, err = rq.deploymentsInOrder(ctx, ids)
		return err
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("list deployments by risk: %w", err)
	}
	return out, risks, total, nil
}

// openViolations counts the open violations of every deployment that has
// any, by severity, in one grouped pass over the open-alert index.
func (q querier) openViolations(ctx context.Context) (map[string]ViolationCounts, error) {
	rows, err := q.query(ctx, `SELECT deployment_id,
			SUM(CASE severity_rank WHEN 4 THEN 1 ELSE 0 END), SUM(CASE severity_rank WHEN 3 THEN 1 ELSE 0 END),
			SUM(CASE severity_rank WHEN 2 THEN 1 ELSE 0 END), SUM(CASE severity_rank WHEN 1 THEN 1 ELSE 0 END)
		FROM alerts`+q.d.openIndex("alerts_open_by_deployment")+` WHERE `+openAlert+` GROUP BY deployment_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	out := map[string]ViolationCounts{}
	for rows.Next() {
		var (
			id string
			v  ViolationCounts
		)
		if err := rows.Scan(&id, &v.Critical, &v.High, &v.Medium, &v.Low); err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, rows.Err()
}
