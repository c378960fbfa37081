package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PolicyRecord is a stored policy. JSON is the policy document, returned byte
// for byte; Name, Disabled and Builtin are kept beside it for uniqueness,
// listing and toggling, and where they disagree with the document the columns
// win (SetPolicyDisabled changes only the column).
type PolicyRecord struct {
	ID        string
	Name      string
	Disabled  bool
	Builtin   bool
	JSON      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

const policyColumns = `id, name, disabled, builtin, body, created_at, updated_at`

func scanPolicy(row interface{ Scan(...any) error }) (PolicyRecord, error) {
	var (
		p                PolicyRecord
		created, updated int64
	)
	if err := row.Scan(&p.ID, &p.Name, &p.Disabled, &p.Builtin, &p.JSON, &created, &updated); err != nil {
		return PolicyRecord{}, err
	}
	p.CreatedAt, p.UpdatedAt = fromNanos(created), fromNanos(updated)
	return p, nil
}

// checkPolicy validates rec and fills in missing times.
func checkPolicy(rec *PolicyRecord) error {
	if err := checkKey("policy id", rec.ID, true); err != nil {
		return err
	}
	if err := checkKey(fmt.Sprintf("policy %q name", rec.ID), rec.Name, true); err != nil {
		return err
	}
	if err := checkDoc(fmt.Sprintf("policy %q JSON", rec.ID), rec.JSON); err != nil {
		return err
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = now()
	}
	if rec.UpdatedAt.IsZero() {
		rec.UpdatedAt = rec.CreatedAt
	}
	return nil
}

// ListPolicies returns every policy ordered by name (case-insensitively).
func (s *Store) ListPolicies(ctx context.Context) ([]PolicyRecord, error) {
	rows, err := s.direct().query(ctx, `SELECT `+policyColumns+` FROM policies ORDER BY name_fold`+s.d.byteOrder+`, name`+s.d.byteOrder+`, id`+s.d.byteOrder)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []PolicyRecord
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	return out, nil
}

// CountPolicies returns the number of stored policies.
func (s *Store) CountPolicies(ctx context.Context) (int, error) {
	var n int
	if err := s.direct().queryRow(ctx, `SELECT COUNT(*) FROM policies`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count policies: %w", err)
	}
	return n, nil
}

// GetPolicy returns the policy with id, or an ErrNotFound error.
func (s *Store) GetPolicy(ctx context.Context, id string) (PolicyRecord, error) {
	return s.direct().getPolicy(ctx, id)
}

// GetPolicy is Store.GetPolicy inside the transaction.
func (tx *Tx) GetPolicy(ctx context.Context, id string) (PolicyRecord, error) {
	return tx.q().getPolicy(ctx, id)
}

func (q querier) getPolicy(ctx context.Context, id string) (PolicyRecord, error) {
	p, err := scanPolicy(q.queryRow(ctx, `SELECT `+policyColumns+` FROM policies WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return PolicyRecord{}, fmt.Errorf("policy %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return PolicyRecord{}, fmt.Errorf("get policy %q: %w", id, err)
	}
	return p, nil
}

// CreatePolicy stores a new policy. A policy with the same id, or with the same
// name compared case-insensitively, is an ErrConflict error. Zero times are set
// to now.
func (s *Store) CreatePolicy(ctx context.Context, rec PolicyRecord) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.CreatePolicy(ctx, rec) })
}

// CreatePolicy is Store.CreatePolicy inside the transaction.
func (tx *Tx) CreatePolicy(ctx context.Context, rec PolicyRecord) error {
	if err := checkPolicy(&rec); err != nil {
		return fmt.Errorf("create policy: %w", err)
	}
	return tx.q().insertPolicy(ctx, rec)
}

// clash returns an ErrConflict error naming a stored policy, other than
// exceptID, that has id or (case-insensitively) name, or nil. Checking first
// keeps a PostgreSQL transaction usable and names the clash; the unique
// indexes remain the guarantee.
func (q querier) clash(ctx context.Context, id, name, exceptID string) error {
	rows, err := q.query(ctx, `SELECT id, name FROM policies WHERE (id = ? OR name_fold = ?) AND id <> ?`,
		id, fold(name), exceptID)
	if err != nil {
		return fmt.Errorf("check policy clashes: %w", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	if rows.Next() {
		var otherID, otherName string
		if err := rows.Scan(&otherID, &otherName); err != nil {
			return fmt.Errorf("check policy clashes: %w", err)
		}
		if otherID == id {
			return fmt.Errorf("id already exists: %w", ErrConflict)
		}
		return fmt.Errorf("policy name %q already used by policy %q (%q): %w", name, otherID, otherName, ErrConflict)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check policy clashes: %w", err)
	}
	return nil
}

func (q querier) insertPolicy(ctx context.Context, rec PolicyRecord) error {
	if err := q.clash(ctx, rec.ID, rec.Name, ""); err != nil {
		return fmt.Errorf("policy %q: %w", rec.ID, err)
	}
	created, err := nanos("created", rec.CreatedAt)
	if err != nil {
		return fmt.Errorf("policy %q: %w", rec.ID, err)
	}
	updated, err := nanos("updated", rec.UpdatedAt)
	if err != nil {
		return fmt.Errorf("policy %q: %w", rec.ID, err)
	}
	_, err = q.exec(ctx, `INSERT INTO policies (id, name, name_fold, disabled, builtin, body, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		rec.ID, rec.Name, fold(rec.Name), rec.Disabled, rec.Builtin, rec.JSON, created, updated)
	if q.d.isUniqueViolation(err) {
		return fmt.Errorf("policy %q (%q): %w", rec.ID, rec.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert policy %q: %w", rec.ID, err)
	}
	return nil
}

// UpdatePolicy replaces the stored policy with rec.ID, keeping its creation
// time. A missing policy is ErrNotFound; a name another policy has is
// ErrConflict. A zero UpdatedAt is set to now.
func (s *Store) UpdatePolicy(ctx context.Context, rec PolicyRecord) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.UpdatePolicy(ctx, rec) })
}

// UpdatePolicy is Store.UpdatePolicy inside the transaction.
func (tx *Tx) UpdatePolicy(ctx context.Context, rec PolicyRecord) error {
	if rec.UpdatedAt.IsZero() {
		rec.UpdatedAt = now()
	}
	if err := checkPolicy(&rec); err != nil {
		return fmt.Errorf("update policy: %w", err)
	}
	q := tx.q()
	// An empty id matches no stored policy: only the name is checked.
	if err := q.clash(ctx, "", rec.Name, rec.ID); err != nil {
		return fmt.Errorf("update policy %q: %w", rec.ID, err)
	}
	updated, err := nanos("updated", rec.UpdatedAt)
	if err != nil {
		return fmt.Errorf("update policy %q: %w", rec.ID, err)
	}
	res, err := q.exec(ctx, `UPDATE policies SET name = ?, name_fold = ?, disabled = ?, builtin = ?, body = ?, updated_at = ?
		WHERE id = ?`,
		rec.Name, fold(rec.Name), rec.Disabled, rec.Builtin, rec.JSON, updated, rec.ID)
	if q.d.isUniqueViolation(err) {
		return fmt.Errorf("update policy %q: name %q: %w", rec.ID, rec.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update policy %q: %w", rec.ID, err)
	}
	return mustAffect(res, fmt.Sprintf("policy %q", rec.ID))
}

// DeletePolicy removes the policy with id, or returns an ErrNotFound error.
func (s *Store) DeletePolicy(ctx context.Context, id string) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.DeletePolicy(ctx, id) })
}

// DeletePolicy is Store.DeletePolicy inside the transaction.
func (tx *Tx) DeletePolicy(ctx context.Context, id string) error {
	res, err := tx.q().exec(ctx, `DELETE FROM policies WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete policy %q: %w", id, err)
	}
	return mustAffect(res, fmt.Sprintf("policy %q", id))
}

// SetPolicyDisabled enables or disables the policy with id and bumps its
// UpdatedAt, or returns an ErrNotFound error.
func (s *Store) SetPolicyDisabled(ctx context.Context, id string, disabled bool) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.SetPolicyDisabled(ctx, id, disabled) })
}

// SetPolicyDisabled is Store.SetPolicyDisabled inside the transaction.
func (tx *Tx) SetPolicyDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := tx.q().exec(ctx, `UPDATE policies SET disabled = ?, updated_at = ? WHERE id = ?`, disabled, now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("set policy %q disabled: %w", id, err)
	}
	return mustAffect(res, fmt.Sprintf("policy %q", id))
}

// ImportPolicies writes all of recs in one transaction, or none of them.
// Without overwrite, a record whose id or name (case-insensitively) clashes
// with a stored policy or an earlier record is an ErrConflict error. With
// overwrite, every stored policy sharing a record's id or name is replaced by
// that record (keeping the replaced policy's creation time when the ids match
// and the record has none).
func (s *Store) ImportPolicies(ctx context.Context, recs []PolicyRecord, overwrite bool) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.ImportPolicies(ctx, recs, overwrite) })
}

// ImportPolicies is Store.ImportPolicies inside the transaction.
func (tx *Tx) ImportPolicies(ctx context.Context, recs []PolicyRecord, overwrite bool) error {
	q := tx.q()
	for i, rec := range recs {
		wrap := func(err error) error {
			return fmt.Errorf("import policy %d of %d: %w", i+1, len(recs), err)
		}
		keepCreated := rec.CreatedAt.IsZero()
		if err := checkPolicy(&rec); err != nil {
			return wrap(err)
		}
		if overwrite {
			if keepCreated {
				var created int64
				err := q.queryRow(ctx, `SELECT created_at FROM policies WHERE id = ?`, rec.ID).Scan(&created)
				switch {
				case err == nil:
					rec.CreatedAt = fromNanos(created)
				case !errors.Is(err, sql.ErrNoRows):
					return wrap(fmt.Errorf("policy %q: %w", rec.ID, err))
				}
			}
			if _, err := q.exec(ctx, `DELETE FROM policies WHERE id = ? OR name_fold = ?`, rec.ID, fold(rec.Name)); err != nil {
				return wrap(fmt.Errorf("replace policy %q: %w", rec.ID, err))
			}
		}
		if err := q.insertPolicy(ctx, rec); err != nil {
			return wrap(err)
		}
	}
	return nil
}
