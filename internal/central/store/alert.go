package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AlertRecord is a stored alert. JSON is the alert document, returned byte for
// byte; the other fields are copies the store filters and sorts on. State and
// UpdatedAt change without rewriting the document, so where they disagree
// with it the fields win.
type AlertRecord struct {
	ID             string
	PolicyID       string
	PolicyName     string
	Severity       string // LOW_SEVERITY … CRITICAL_SEVERITY
	LifecycleStage string // BUILD, DEPLOY, RUNTIME
	State          string // ACTIVE, RESOLVED, ATTEMPTED
	ClusterName    string
	Namespace      string
	DeploymentID   string
	DeploymentName string
	EntityType     string
	Enforced       bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	JSON           []byte
}

// Alert states.
const (
	AlertActive    = "ACTIVE"
	AlertResolved  = "RESOLVED"
	AlertAttempted = "ATTEMPTED"
)

// AlertQuery selects a page of alerts. Empty fields do not filter; the string
// filters match exactly except Deployment (name or id) and Text (a
// case-insensitive substring of the policy, deployment, namespace or cluster
// name). Since keeps alerts created at or after it, Until those created
// before it. PolicyIDs, when not nil, keeps the alerts of those policies
// only (an empty, non-nil list matches nothing).
//
// Sort is one of "time" (the default: newest first), "-time" (oldest first),
// "severity" (most severe first), "-severity" (least severe first), "policy"
// or "deployment" (by name, A→Z) and "-policy" or "-deployment" (Z→A); ties
// are broken newest first. Limit <= 0 returns every matching alert after
// Offset.
type AlertQuery struct {
	PolicyID   string
	Severity   string
	State      string
	Cluster    string
	Namespace  string
	Deployment string
	Stage      string
	Text       string
	Since      time.Time
	Until      time.Time
	PolicyIDs  []string
	Sort       string
	Offset     int
	Limit      int
}

// alertColumns are the columns scanAlert reads, from the alerts table
// (aliased a) joined with alert_documents (aliased d): alertsWithDocuments.
const alertColumns = `a.id, a.policy_id, a.policy_name, a.severity, a.lifecycle_stage, a.state, a.cluster_name, a.namespace,
	a.deployment_id, a.deployment_name, a.entity_type, a.enforced, a.created_at, a.updated_at, d.body`

// alertsWithDocuments is the FROM clause alertColumns are read from.
const alertsWithDocuments = ` FROM alerts a JOIN alert_documents d ON d.id = a.id`

func scanAlert(row interface{ Scan(...any) error }) (AlertRecord, error) {
	var (
		a                AlertRecord
		created, updated int64
	)
	err := row.Scan(&a.ID, &a.PolicyID, &a.PolicyName, &a.Severity, &a.LifecycleStage, &a.State, &a.ClusterName,
		&a.Namespace, &a.DeploymentID, &a.DeploymentName, &a.EntityType, &a.Enforced, &created, &updated, &a.JSON)
	if err != nil {
		return AlertRecord{}, err
	}
	a.CreatedAt, a.UpdatedAt = fromNanos(created), fromNanos(updated)
	return a, nil
}

// severityRank orders ACS severities for sorting: LOW=1 … CRITICAL=4,
// anything else 0.
func severityRank(s string) int {
	switch s {
	case "LOW_SEVERITY":
		return 1
	case "MEDIUM_SEVERITY":
		return 2
	case "HIGH_SEVERITY":
		return 3
	case "CRITICAL_SEVERITY":
		return 4
	}
	return 0
}

func checkAlertState(state string) error {
	switch state {
	case AlertActive, AlertResolved, AlertAttempted:
		return nil
	}
	return fmt.Errorf("alert state %q: want %s, %s or %s: %w", state, AlertActive, AlertResolved, AlertAttempted, ErrInvalid)
}

// searchText is what AlertQuery.Text matches against, folded.
func searchText(a *AlertRecord) string {
	return fold(strings.Join([]string{a.PolicyName, a.DeploymentName, a.Namespace, a.ClusterName}, "\n"))
}

// AddAlerts stores new alerts in one transaction: all of them or, on any
// error (an existing id is ErrConflict), none. A zero CreatedAt is set to now,
// a zero UpdatedAt to CreatedAt, an empty State to ACTIVE.
func (s *Store) AddAlerts(ctx context.Context, alerts []AlertRecord) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.AddAlerts(ctx, alerts) })
}

// alertChunk is how many alerts one INSERT statement carries: 17 parameters
// each stays far below SQLite's (32766) and PostgreSQL's (65535) limits,
// and a batch costs two round trips per chunk instead of one per alert.
const alertChunk = 100

const alertInsertColumns = `id, policy_id, policy_name, severity, severity_rank, lifecycle_stage, state, cluster_name,
	namespace, deployment_id, deployment_name, entity_type, enforced, search_text, created_at, updated_at`

// AddAlerts is Store.AddAlerts inside the transaction.
func (tx *Tx) AddAlerts(ctx context.Context, alerts []AlertRecord) error {
	if len(alerts) == 0 {
		return nil
	}
	tx.alertsChanged = true
	// Validate everything before the first statement.
	stamp := now()
	rows := make([][]any, len(alerts))
	docs := make([][]byte, len(alerts))
	seen := make(map[string]bool, len(alerts))
	for i := range alerts {
		a := alerts[i]
		if err := checkAlert(&a, stamp); err != nil {
			return fmt.Errorf("add alert %d of %d: %w", i+1, len(alerts), err)
		}
		if seen[a.ID] {
			return fmt.Errorf("add alert %q: appears twice in the batch: %w", a.ID, ErrConflict)
		}
		seen[a.ID] = true
		created, err := nanos("created", a.CreatedAt)
		if err != nil {
			return fmt.Errorf("add alert %q: %w", a.ID, err)
		}
		updated, err := nanos("updated", a.UpdatedAt)
		if err != nil {
			return fmt.Errorf("add alert %q: %w", a.ID, err)
		}
		rows[i] = []any{a.ID, a.PolicyID, a.PolicyName, a.Severity, severityRank(a.Severity), a.LifecycleStage,
			a.State, a.ClusterName, a.Namespace, a.DeploymentID, a.DeploymentName, a.EntityType, a.Enforced,
			searchText(&a), created, updated}
		docs[i] = a.JSON
	}
	q := tx.q()
	for start := 0; start < len(rows); start += alertChunk {
		chunk := rows[start:min(start+alertChunk, len(rows))]
		if err := q.insertAlerts(ctx, chunk, docs[start:start+len(chunk)]); err != nil {
			return fmt.Errorf("add alerts: %w", err)
		}
	}
	return nil
}

// insertAlerts inserts rows and their documents docs with one statement
// each, after checking none of their ids exists (which names the clash and
// keeps a PostgreSQL transaction usable).
func (q querier) insertAlerts(ctx context.Context, rows [][]any, docs [][]byte) error {
	ids := make([]any, len(rows))
	for i, r := range rows {
		ids[i] = r[0]
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	var existing string
	err := q.queryRow(ctx, `SELECT id FROM alerts WHERE id IN (`+marks+`) LIMIT 1`, ids...).Scan(&existing)
	switch {
	case err == nil:
		return fmt.Errorf("alert %q: id already exists: %w", existing, ErrConflict)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("check alert ids: %w", err)
	}

	var b strings.Builder
	b.WriteString(`INSERT INTO alerts (` + alertInsertColumns + `) VALUES `)
	args := make([]any, 0, len(rows)*len(rows[0]))
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rows[0])), ", ") + ")"
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
		args = append(args, r...)
	}
	_, err = q.exec(ctx, b.String(), args...)
	if q.d.isUniqueViolation(err) {
		return fmt.Errorf("alert ids: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert alerts: %w", err)
	}
	b.Reset()
	b.WriteString(`INSERT INTO alert_documents (id, body) VALUES `)
	args = args[:0]
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, r[0], docs[i])
	}
	if _, err := q.exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("insert alert documents: %w", err)
	}
	return nil
}

func checkAlert(a *AlertRecord, stamp time.Time) error {
	if err := checkKey("alert id", a.ID, true); err != nil {
		return err
	}
	if a.State == "" {
		a.State = AlertActive
	}
	if err := checkAlertState(a.State); err != nil {
		return fmt.Errorf("alert %q: %w", a.ID, err)
	}
	for _, f := range []struct {
		name, v string
	}{
		{"policy id", a.PolicyID}, {"policy name", a.PolicyName}, {"severity", a.Severity},
		{"lifecycle stage", a.LifecycleStage}, {"cluster name", a.ClusterName}, {"namespace", a.Namespace},
		{"deployment id", a.DeploymentID}, {"deployment name", a.DeploymentName}, {"entity type", a.EntityType},
	} {
		if err := checkKey(f.name, f.v, false); err != nil {
			return fmt.Errorf("alert %q: %w", a.ID, err)
		}
	}
	if severityRank(a.Severity) == 0 {
		return fmt.Errorf("alert %q: severity %q: want LOW_SEVERITY, MEDIUM_SEVERITY, HIGH_SEVERITY or CRITICAL_SEVERITY: %w", a.ID, a.Severity, ErrInvalid)
	}
	if err := checkDoc(fmt.Sprintf("alert %q JSON", a.ID), a.JSON); err != nil {
		return err
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = stamp
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	return nil
}

// alertOrder renders AlertQuery.Sort as ORDER BY terms; ok is false for an
// unknown sort. byteOrder is the dialect's code-point collation.
// Columns are qualified with table, when not empty.
func alertOrder(sort, byteOrder, table string) (order string, ok bool) {
	p := ""
	if table != "" {
		p = table + "."
	}
	newest := p + "created_at DESC, " + p + "id DESC"
	switch sort {
	case "", "time":
		return newest, true
	case "-time":
		return p + "created_at ASC, " + p + "id ASC", true
	case "severity":
		return p + "severity_rank DESC, " + newest, true
	case "-severity":
		return p + "severity_rank ASC, " + newest, true
	case "policy":
		return p + "policy_name" + byteOrder + " ASC, " + newest, true
	case "-policy":
		return p + "policy_name" + byteOrder + " DESC, " + newest, true
	case "deployment":
		return p + "deployment_name" + byteOrder + " ASC, " + newest, true
	case "-deployment":
		return p + "deployment_name" + byteOrder + " DESC, " + newest, true
	}
	return "", false
}

// where renders the filters of q as a WHERE clause and its arguments.
func (q AlertQuery) where() (string, []any, error) {
	var (
		conds []string
		args  []any
	)
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = ?")
			args = append(args, v)
		}
	}
	eq("policy_id", q.PolicyID)
	eq("severity", q.Severity)
	eq("state", q.State)
	eq("cluster_name", q.Cluster)
	eq("namespace", q.Namespace)
	eq("lifecycle_stage", q.Stage)
	if q.Deployment != "" {
		conds = append(conds, "(deployment_name = ? OR deployment_id = ?)")
		args = append(args, q.Deployment, q.Deployment)
	}
	if q.Text != "" {
		conds = append(conds, `search_text LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(fold(q.Text))+"%")
	}
	if !q.Since.IsZero() {
		conds = append(conds, "created_at >= ?")
		args = append(args, clampTime(q.Since).UnixNano())
	}
	if !q.Until.IsZero() {
		conds = append(conds, "created_at < ?")
		args = append(args, clampTime(q.Until).UnixNano())
	}
	if len(q.PolicyIDs) > maxPolicyIDs {
		return "", nil, fmt.Errorf("alert query names %d policies, more than %d: %w", len(q.PolicyIDs), maxPolicyIDs, ErrInvalid)
	}
	if q.PolicyIDs != nil {
		if len(q.PolicyIDs) == 0 {
			conds = append(conds, "1 = 0")
		} else {
			conds = append(conds, "policy_id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(q.PolicyIDs)), ", ")+")")
			for _, id := range q.PolicyIDs {
				args = append(args, id)
			}
		}
	}
	for _, a := range args {
		if s, ok := a.(string); ok {
			if err := checkKey("alert query", s, false); err != nil {
				return "", nil, err
			}
		}
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// maxPolicyIDs bounds AlertQuery.PolicyIDs, far below the parameter limits
// of both backends.
const maxPolicyIDs = 10000

// clampTime brings t into the storable range.
func clampTime(t time.Time) time.Time {
	switch {
	case t.Before(minTime):
		return minTime
	case t.After(maxTime):
		return maxTime
	}
	return t
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ListAlerts returns the page of alerts q selects and how many alerts match
// q's filters in all.
func (s *Store) ListAlerts(ctx context.Context, q AlertQuery) ([]AlertRecord, int, error) {
	order, ok := alertOrder(q.Sort, s.d.byteOrder, "")
	outerOrder, _ := alertOrder(q.Sort, s.d.byteOrder, "a")
	if !ok {
		return nil, 0, fmt.Errorf("list alerts: unknown sort %q: want time, -time, severity, -severity, policy, -policy, deployment or -deployment: %w", q.Sort, ErrInvalid)
	}
	if q.Offset < 0 {
		return nil, 0, fmt.Errorf("list alerts: negative offset %d: %w", q.Offset, ErrInvalid)
	}
	where, args, err := q.where()
	if err != nil {
		return nil, 0, fmt.Errorf("list alerts: %w", err)
	}
	var (
		out   []AlertRecord
		total int
	)
	err = s.read(ctx, func(rq querier) error {
		if err := rq.queryRow(ctx, `SELECT COUNT(*) FROM alerts`+where, args...).Scan(&total); err != nil {
			return err
		}
		if q.Offset >= total {
			return nil
		}
		// The page's ids are chosen first, from an index where one covers
		// the filters and the order, so that rows skipped by the offset are
		// never read; then only the page's rows and documents are.
		page := `SELECT id FROM alerts` + where + ` ORDER BY ` + order + s.d.limit(q.Limit, q.Offset)
		rows, err := rq.query(ctx, `SELECT `+alertColumns+` FROM (`+page+`) p JOIN alerts a ON a.id = p.id`+
			` JOIN alert_documents d ON d.id = a.id ORDER BY `+outerOrder, args...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			a, err := scanAlert(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list alerts: %w", err)
	}
	return out, total, nil
}

// GetAlert returns the alert with id, or an ErrNotFound error.
func (s *Store) GetAlert(ctx context.Context, id string) (AlertRecord, error) {
	return s.direct().getAlert(ctx, id)
}

// GetAlert is Store.GetAlert inside the transaction.
func (tx *Tx) GetAlert(ctx context.Context, id string) (AlertRecord, error) {
	return tx.q().getAlert(ctx, id)
}

func (q querier) getAlert(ctx context.Context, id string) (AlertRecord, error) {
	a, err := scanAlert(q.queryRow(ctx, `SELECT `+alertColumns+alertsWithDocuments+` WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return AlertRecord{}, fmt.Errorf("alert %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return AlertRecord{}, fmt.Errorf("get alert %q: %w", id, err)
	}
	return a, nil
}

// SetAlertState moves the alert with id to state (ACTIVE, RESOLVED or
// ATTEMPTED) and bumps its UpdatedAt. A missing alert is ErrNotFound.
func (s *Store) SetAlertState(ctx context.Context, id, state string) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.SetAlertState(ctx, id, state) })
}

// SetAlertState is Store.SetAlertState inside the transaction.
func (tx *Tx) SetAlertState(ctx context.Context, id, state string) error {
	if err := checkAlertState(state); err != nil {
		return fmt.Errorf("set alert %q state: %w", id, err)
	}
	tx.alertsChanged = true
	res, err := tx.q().exec(ctx, `UPDATE alerts SET state = ?, updated_at = ? WHERE id = ?`, state, now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("set alert %q state: %w", id, err)
	}
	return mustAffect(res, fmt.Sprintf("alert %q", id))
}

// CountAlertsBy counts alerts grouped by field: "severity", "state",
// "namespace" or "policy" (by policy name, as dashboards show it).
func (s *Store) CountAlertsBy(ctx context.Context, field string) (map[string]int, error) {
	var col string
	switch field {
	case "severity", "state", "namespace":
		col = field
	case "policy":
		col = "policy_name"
	default:
		return nil, fmt.Errorf("count alerts by %q: want severity, state, namespace or policy: %w", field, ErrInvalid)
	}
	rows, err := s.direct().query(ctx, `SELECT `+col+`, COUNT(*) FROM alerts GROUP BY `+col)
	if err != nil {
		return nil, fmt.Errorf("count alerts by %s: %w", field, err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	out := map[string]int{}
	for rows.Next() {
		var (
			k string
			n int
		)
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("count alerts by %s: %w", field, err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count alerts by %s: %w", field, err)
	}
	return out, nil
}
