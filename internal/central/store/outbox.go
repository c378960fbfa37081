package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Delivery states of the notifier outbox.
const (
	DeliveryPending   = "PENDING"
	DeliveryDelivered = "DELIVERED"
	DeliveryFolded    = "FOLDED"
	DeliveryDead      = "DEAD"
)

// DeliveryRecord is one message for one notifier in the outbox. JSON is the
// message (a notifier.Message), stored and returned byte for byte; Kind,
// Event, AlertID, Severity and PolicyName are copies for listing and for
// summarising a storm.
type DeliveryRecord struct {
	ID            string
	NotifierID    string
	Kind          string
	Event         string
	AlertID       string
	Severity      string
	PolicyName    string
	State         string
	Attempts      int
	CreatedAt     time.Time
	NextAttemptAt time.Time
	ExpiresAt     time.Time
	UpdatedAt     time.Time
	DeliveredAt   *time.Time
	LastError     string
	FoldedInto    string
	JSON          []byte
}

// DeliveryOutcome is the result of one delivery attempt: State DELIVERED,
// DEAD, or PENDING again at NextAttemptAt. Error is the attempt's error in
// plain words ("" when delivered).
type DeliveryOutcome struct {
	ID            string
	State         string
	Error         string
	NextAttemptAt time.Time
}

// DeliveryQuery selects a page of deliveries, newest first. Empty fields do
// not filter; Limit <= 0 returns every match after Offset.
type DeliveryQuery struct {
	NotifierID string
	State      string
	AlertID    string
	Offset     int
	Limit      int
}

// DeliveryStats summarises one notifier's outbox.
type DeliveryStats struct {
	Pending, Delivered, Folded, Dead int
	LastDelivered                    *time.Time
	// LastError is the most recent failure of a delivery still pending or
	// dead, with its time.
	LastError   string
	LastErrorAt *time.Time
}

const deliveryColumns = `id, notifier_id, kind, event, alert_id, severity, policy_name, state, attempts,
	created_at, next_attempt_at, expires_at, updated_at, delivered_at, last_error, folded_into, body`

func scanDelivery(row interface{ Scan(...any) error }) (DeliveryRecord, error) {
	var (
		d                               DeliveryRecord
		created, next, expires, updated int64
		delivered                       sql.NullInt64
	)
	err := row.Scan(&d.ID, &d.NotifierID, &d.Kind, &d.Event, &d.AlertID, &d.Severity, &d.PolicyName, &d.State, &d.Attempts,
		&created, &next, &expires, &updated, &delivered, &d.LastError, &d.FoldedInto, &d.JSON)
	if err != nil {
		return DeliveryRecord{}, err
	}
	d.CreatedAt, d.NextAttemptAt, d.ExpiresAt, d.UpdatedAt = fromNanos(created), fromNanos(next), fromNanos(expires), fromNanos(updated)
	d.DeliveredAt = fromNullNanos(delivered)
	return d, nil
}

func checkDelivery(d *DeliveryRecord, stamp time.Time) error {
	for _, f := range []struct {
		name, v  string
		required bool
	}{{"id", d.ID, true}, {"notifier id", d.NotifierID, true}, {"kind", d.Kind, true}, {"event", d.Event, false},
		{"alert id", d.AlertID, false}, {"severity", d.Severity, false}, {"policy name", d.PolicyName, false}} {
		if err := checkKey("delivery "+f.name, f.v, f.required); err != nil {
			return err
		}
	}
	if err := checkDoc(fmt.Sprintf("delivery %q JSON", d.ID), d.JSON); err != nil {
		return err
	}
	if d.State == "" {
		d.State = DeliveryPending
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = stamp
	}
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = d.CreatedAt
	}
	if d.ExpiresAt.IsZero() {
		return fmt.Errorf("delivery %q has no expiry: %w", d.ID, ErrInvalid)
	}
	return nil
}

// deliveryChunk keeps one INSERT's parameters (17 a row) far below both
// backends' limits.
const deliveryChunk = 200

// EnqueueDeliveries adds PENDING deliveries inside the transaction that
// records what they report, so a message exists exactly when its cause does.
func (tx *Tx) EnqueueDeliveries(ctx context.Context, recs []DeliveryRecord) error {
	stamp := now()
	rows := make([][]any, 0, len(recs))
	for i := range recs {
		d := recs[i]
		if err := checkDelivery(&d, stamp); err != nil {
			return fmt.Errorf("enqueue delivery %d of %d: %w", i+1, len(recs), err)
		}
		rows = append(rows, []any{d.ID, d.NotifierID, d.Kind, d.Event, d.AlertID, d.Severity, d.PolicyName, d.State, d.Attempts,
			d.CreatedAt.UnixNano(), d.NextAttemptAt.UnixNano(), d.ExpiresAt.UnixNano(), int64(0), stamp.UnixNano(), "", "", d.JSON})
	}
	const one = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for start := 0; start < len(rows); start += deliveryChunk {
		chunk := rows[start:min(start+deliveryChunk, len(rows))]
		var b strings.Builder
		b.WriteString(`INSERT INTO notifier_outbox (id, notifier_id, kind, event, alert_id, severity, policy_name, state, attempts,
			created_at, next_attempt_at, expires_at, lease_until, updated_at, last_error, folded_into, body) VALUES `)
		args := make([]any, 0, len(chunk)*17)
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(one)
			args = append(args, r...)
		}
		if _, err := tx.q().exec(ctx, b.String(), args...); err != nil {
			if tx.d.isUniqueViolation(err) {
				return fmt.Errorf("enqueue deliveries: id already queued: %w", ErrConflict)
			}
			return fmt.Errorf("enqueue deliveries: %w", err)
		}
	}
	return nil
}

// ClaimDeliveries leases up to limit deliveries of notifierID that are due
// at now, oldest first, so no other attempt takes them until the lease ends
// or they are finished.
func (s *Store) ClaimDeliveries(ctx context.Context, notifierID string, at time.Time, limit int, lease time.Duration) ([]DeliveryRecord, error) {
	var out []DeliveryRecord
	err := s.inBookkeepingTx(ctx, func(tx *Tx) error {
		out = out[:0]
		lock := ""
		if tx.d.name == "postgres" {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		rows, err := tx.q().query(ctx, `SELECT `+deliveryColumns+` FROM notifier_outbox
			WHERE notifier_id = ? AND state = ? AND next_attempt_at <= ? AND lease_until <= ?
			ORDER BY next_attempt_at, created_at, id LIMIT ?`+lock,
			notifierID, DeliveryPending, at.UnixNano(), at.UnixNano(), limit)
		if err != nil {
			return fmt.Errorf("claim deliveries: %w", err)
		}
		out, err = scanDeliveries(rows)
		if err != nil {
			return fmt.Errorf("claim deliveries: %w", err)
		}
		ids := make([]string, len(out))
		for i := range out {
			ids[i] = out[i].ID
		}
		return tx.q().updateIDs(ctx, `UPDATE notifier_outbox SET lease_until = ? WHERE id IN `, []any{at.Add(lease).UnixNano()}, ids)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanDeliveries reads and closes rows of deliveryColumns.
func scanDeliveries(rows *sql.Rows) ([]DeliveryRecord, error) {
	defer rows.Close() //nolint:errcheck // rows.Err is checked
	var out []DeliveryRecord
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// updateIDs runs prefix + "(?, …)" for ids in chunks, with args before them.
func (q querier) updateIDs(ctx context.Context, prefix string, args []any, ids []string) error {
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		a := append(append(make([]any, 0, len(args)+len(chunk)), args...), stringsToAny(chunk)...)
		if _, err := q.exec(ctx, prefix+"("+strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+")", a...); err != nil {
			return err
		}
	}
	return nil
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// FinishDeliveries records the outcomes of delivery attempts in one
// transaction and ends their leases. A delivery no longer PENDING (its
// notifier was deleted meanwhile) is left alone.
func (s *Store) FinishDeliveries(ctx context.Context, outcomes []DeliveryOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	stamp := now().UnixNano()
	var delivered []string
	for _, o := range outcomes {
		if o.State == DeliveryDelivered {
			delivered = append(delivered, o.ID)
		}
	}
	return s.inBookkeepingTx(ctx, func(tx *Tx) error {
		q := tx.q()
		if err := q.updateIDs(ctx, `UPDATE notifier_outbox SET state = ?, attempts = attempts + 1, lease_until = 0,
			updated_at = ?, delivered_at = ?, last_error = '' WHERE state = 'PENDING' AND id IN `,
			[]any{DeliveryDelivered, stamp, stamp}, delivered); err != nil {
			return fmt.Errorf("finish deliveries: %w", err)
		}
		for _, o := range outcomes {
			if o.State == DeliveryDelivered {
				continue
			}
			if o.State != DeliveryPending && o.State != DeliveryDead {
				return fmt.Errorf("finish delivery %q: state %q: %w", o.ID, o.State, ErrInvalid)
			}
			msg := o.Error
			if len(msg) > maxTextLen {
				msg = msg[:maxTextLen]
			}
			msg = strings.ToValidUTF8(strings.ReplaceAll(msg, "\x00", ""), "?")
			if _, err := q.exec(ctx, `UPDATE notifier_outbox SET state = ?, attempts = attempts + 1, lease_until = 0,
				updated_at = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND state = 'PENDING'`,
				o.State, stamp, o.NextAttemptAt.UnixNano(), msg, o.ID); err != nil {
				return fmt.Errorf("finish delivery %q: %w", o.ID, err)
			}
		}
		return nil
	})
}

// FoldStats describes the deliveries FoldDue folds.
type FoldStats struct {
	Count      int
	From, To   time.Time
	BySeverity map[string]int
	ByPolicy   map[string]int
}

// FoldDue folds every PENDING alert delivery (events NEW and REOPENED) of
// notifierID due at at, except the ids in keep, into one summary delivery
// made by build from their statistics — all in one transaction. It returns
// how many it folded (0, and no summary, when there was nothing to fold).
func (s *Store) FoldDue(ctx context.Context, notifierID string, at time.Time, keep []string,
	build func(FoldStats) (DeliveryRecord, error)) (int, error) {
	skip := make(map[string]bool, len(keep))
	for _, id := range keep {
		skip[id] = true
	}
	var folded int
	err := s.inBookkeepingTx(ctx, func(tx *Tx) error {
		rows, err := tx.q().query(ctx, `SELECT id, severity, policy_name, created_at FROM notifier_outbox
			WHERE notifier_id = ? AND state = 'PENDING' AND kind = 'alert' AND event IN ('NEW', 'REOPENED') AND next_attempt_at <= ?`,
			notifierID, at.UnixNano())
		if err != nil {
			return fmt.Errorf("fold deliveries: %w", err)
		}
		st := FoldStats{BySeverity: map[string]int{}, ByPolicy: map[string]int{}}
		var ids []string
		err = func() error {
			defer rows.Close() //nolint:errcheck // rows.Err is checked
			for rows.Next() {
				var (
					id, sev, pol string
					created      int64
				)
				if err := rows.Scan(&id, &sev, &pol, &created); err != nil {
					return err
				}
				if skip[id] {
					continue
				}
				ids = append(ids, id)
				t := fromNanos(created)
				if st.Count == 0 || t.Before(st.From) {
					st.From = t
				}
				if t.After(st.To) {
					st.To = t
				}
				st.Count++
				st.BySeverity[sev]++
				st.ByPolicy[pol]++
			}
			return rows.Err()
		}()
		if err != nil {
			return fmt.Errorf("fold deliveries: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		summary, err := build(st)
		if err != nil {
			return err
		}
		if err := tx.EnqueueDeliveries(ctx, []DeliveryRecord{summary}); err != nil {
			return err
		}
		if err := tx.q().updateIDs(ctx, `UPDATE notifier_outbox SET state = ?, folded_into = ?, lease_until = 0, updated_at = ?
			WHERE state = 'PENDING' AND id IN `, []any{DeliveryFolded, summary.ID, now().UnixNano()}, ids); err != nil {
			return fmt.Errorf("fold deliveries: %w", err)
		}
		folded = len(ids)
		return nil
	})
	return folded, err
}

// ReleaseLeases ends every lease: run at start, when no attempt of this
// process can be in flight, so what a crash left leased is sent at once.
func (s *Store) ReleaseLeases(ctx context.Context) error {
	return s.inBookkeepingTx(ctx, func(tx *Tx) error {
		if _, err := tx.q().exec(ctx, `UPDATE notifier_outbox SET lease_until = 0 WHERE state = 'PENDING' AND lease_until > 0`); err != nil {
			return fmt.Errorf("release delivery leases: %w", err)
		}
		return nil
	})
}

// RetryDeliveries makes DEAD deliveries of notifierID PENDING again, due now
// and expiring at expires: the ids given, or all of them when ids is empty.
// It returns how many it revived.
func (s *Store) RetryDeliveries(ctx context.Context, notifierID string, ids []string, expires time.Time) (int, error) {
	var n int64
	err := s.inBookkeepingTx(ctx, func(tx *Tx) error {
		stamp := now().UnixNano()
		base := `UPDATE notifier_outbox SET state = 'PENDING', next_attempt_at = ?, expires_at = ?, lease_until = 0, updated_at = ?
			WHERE notifier_id = ? AND state = 'DEAD'`
		args := []any{stamp, expires.UnixNano(), stamp, notifierID}
		if len(ids) == 0 {
			res, err := tx.q().exec(ctx, base, args...)
			if err != nil {
				return fmt.Errorf("retry deliveries: %w", err)
			}
			n, _ = res.RowsAffected()
			return nil
		}
		for _, id := range ids {
			res, err := tx.q().exec(ctx, base+` AND id = ?`, append(args, id)...)
			if err != nil {
				return fmt.Errorf("retry delivery %q: %w", id, err)
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	})
	return int(n), err
}

// ListDeliveries returns a page of deliveries, newest first, and how many
// match in all.
func (s *Store) ListDeliveries(ctx context.Context, dq DeliveryQuery) ([]DeliveryRecord, int, error) {
	var (
		where []string
		args  []any
	)
	for _, f := range []struct{ col, v string }{{"notifier_id", dq.NotifierID}, {"state", dq.State}, {"alert_id", dq.AlertID}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var (
		out   []DeliveryRecord
		total int
	)
	err := s.read(ctx, func(q querier) error {
		if err := q.queryRow(ctx, `SELECT COUNT(*) FROM notifier_outbox`+cond, args...).Scan(&total); err != nil {
			return fmt.Errorf("count deliveries: %w", err)
		}
		rows, err := q.query(ctx, `SELECT `+deliveryColumns+` FROM notifier_outbox`+cond+
			` ORDER BY created_at DESC, id DESC`+s.d.limit(dq.Limit, dq.Offset), args...)
		if err != nil {
			return fmt.Errorf("list deliveries: %w", err)
		}
		out, err = scanDeliveries(rows)
		if err != nil {
			return fmt.Errorf("list deliveries: %w", err)
		}
		return nil
	})
	return out, total, err
}

// DeliveryStatsByNotifier summarises the outbox per notifier id.
func (s *Store) DeliveryStatsByNotifier(ctx context.Context) (map[string]*DeliveryStats, error) {
	out := map[string]*DeliveryStats{}
	get := func(id string) *DeliveryStats {
		st := out[id]
		if st == nil {
			st = &DeliveryStats{}
			out[id] = st
		}
		return st
	}
	err := s.read(ctx, func(q querier) error {
		rows, err := q.query(ctx, `SELECT notifier_id, state, COUNT(*), MAX(delivered_at) FROM notifier_outbox GROUP BY notifier_id, state`)
		if err != nil {
			return fmt.Errorf("delivery stats: %w", err)
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked
		for rows.Next() {
			var (
				id, state string
				n         int
				last      sql.NullInt64
			)
			if err := rows.Scan(&id, &state, &n, &last); err != nil {
				return fmt.Errorf("delivery stats: %w", err)
			}
			st := get(id)
			switch state {
			case DeliveryPending:
				st.Pending = n
			case DeliveryDelivered:
				st.Delivered, st.LastDelivered = n, fromNullNanos(last)
			case DeliveryFolded:
				st.Folded = n
			case DeliveryDead:
				st.Dead = n
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("delivery stats: %w", err)
		}
		// The latest failure per notifier among deliveries not yet delivered.
		erows, err := q.query(ctx, `SELECT notifier_id, last_error, updated_at FROM notifier_outbox o
			WHERE state IN ('PENDING', 'DEAD') AND last_error <> '' AND updated_at = (
				SELECT MAX(updated_at) FROM notifier_outbox i
				WHERE i.notifier_id = o.notifier_id AND i.state IN ('PENDING', 'DEAD') AND i.last_error <> '')`)
		if err != nil {
			return fmt.Errorf("delivery stats: %w", err)
		}
		defer erows.Close() //nolint:errcheck // rows.Err is checked
		for erows.Next() {
			var (
				id, msg string
				at      int64
			)
			if err := erows.Scan(&id, &msg, &at); err != nil {
				return fmt.Errorf("delivery stats: %w", err)
			}
			t := fromNanos(at)
			st := get(id)
			st.LastError, st.LastErrorAt = msg, &t
		}
		return erows.Err()
	})
	return out, err
}

// PruneDeliveries deletes finished deliveries (delivered, folded, dead)
// last changed before before, and returns how many.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inBookkeepingTx(ctx, func(tx *Tx) error {
		res, err := tx.q().exec(ctx, `DELETE FROM notifier_outbox WHERE state IN ('DELIVERED', 'FOLDED', 'DEAD') AND updated_at < ?`, before.UnixNano())
		if err != nil {
			return fmt.Errorf("prune deliveries: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
