package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IntegrationRecord is a stored integration: an image integration (how
// Central logs in to a registry) or a notifier (where alerts go). JSON is
// the integration document with its secret fields already encrypted by the
// caller, stored and returned byte for byte; Name and Type are copies for
// uniqueness and listing. Names are unique case-insensitively within a kind.
type IntegrationRecord struct {
	ID        string
	Name      string
	Type      string
	JSON      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ImageIntegrationRecord is a stored image integration.
type ImageIntegrationRecord = IntegrationRecord

// NotifierRecord is a stored notifier.
type NotifierRecord = IntegrationRecord

// integrationKind is one table of integrations and the noun its errors use.
type integrationKind struct {
	table string
	noun  string
}

var (
	imageIntegrations = integrationKind{table: "image_integrations", noun: "image integration"}
	notifiers         = integrationKind{table: "notifiers", noun: "notifier"}
)

const integrationColumns = `id, name, type, created_at, updated_at, body`

func scanIntegration(row interface{ Scan(...any) error }) (IntegrationRecord, error) {
	var (
		r                IntegrationRecord
		created, updated int64
	)
	if err := row.Scan(&r.ID, &r.Name, &r.Type, &created, &updated, &r.JSON); err != nil {
		return IntegrationRecord{}, err
	}
	r.CreatedAt, r.UpdatedAt = fromNanos(created), fromNanos(updated)
	return r, nil
}

// check validates rec and fills in missing times.
func (k integrationKind) check(rec *IntegrationRecord) error {
	if err := checkKey(k.noun+" id", rec.ID, true); err != nil {
		return err
	}
	if err := checkKey(fmt.Sprintf("%s %q name", k.noun, rec.ID), rec.Name, true); err != nil {
		return err
	}
	if err := checkKey(fmt.Sprintf("%s %q type", k.noun, rec.ID), rec.Type, true); err != nil {
		return err
	}
	if err := checkDoc(fmt.Sprintf("%s %q JSON", k.noun, rec.ID), rec.JSON); err != nil {
		return err
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = now()
	}
	if rec.UpdatedAt.IsZero() {
		rec.UpdatedAt = rec.CreatedAt
	}
	for field, t := range map[string]time.Time{"created": rec.CreatedAt, "updated": rec.UpdatedAt} {
		if _, err := nanos(field, t); err != nil {
			return fmt.Errorf("%s %q: %w", k.noun, rec.ID, err)
		}
	}
	return nil
}

func (k integrationKind) list(ctx context.Context, q querier) ([]IntegrationRecord, error) {
	rows, err := q.query(ctx, `SELECT `+integrationColumns+` FROM `+k.table+` ORDER BY name_fold, name, id`)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", k.noun, err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []IntegrationRecord
	for rows.Next() {
		r, err := scanIntegration(rows)
		if err != nil {
			return nil, fmt.Errorf("list %ss: %w", k.noun, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %ss: %w", k.noun, err)
	}
	return out, nil
}

func (k integrationKind) get(ctx context.Context, q querier, id string) (IntegrationRecord, error) {
	r, err := scanIntegration(q.queryRow(ctx, `SELECT `+integrationColumns+` FROM `+k.table+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return IntegrationRecord{}, fmt.Errorf("%s %q: %w", k.noun, id, ErrNotFound)
	}
	if err != nil {
		return IntegrationRecord{}, fmt.Errorf("get %s %q: %w", k.noun, id, err)
	}
	return r, nil
}

func (k integrationKind) create(ctx context.Context, tx *Tx, rec IntegrationRecord) error {
	if err := k.check(&rec); err != nil {
		return fmt.Errorf("create %s: %w", k.noun, err)
	}
	if err := k.checkName(ctx, tx.q(), rec); err != nil {
		return err
	}
	_, err := tx.q().exec(ctx, `INSERT INTO `+k.table+` (id, name, name_fold, type, created_at, updated_at, body)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, rec.ID, rec.Name, fold(rec.Name), rec.Type, rec.CreatedAt.UnixNano(), rec.UpdatedAt.UnixNano(), rec.JSON)
	if tx.d.isUniqueViolation(err) {
		return fmt.Errorf("%s %q: id or name %q already exists: %w", k.noun, rec.ID, rec.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create %s %q: %w", k.noun, rec.ID, err)
	}
	return nil
}

// checkName refuses a name another integration of the kind has, naming it,
// before the unique index would refuse it without saying which.
func (k integrationKind) checkName(ctx context.Context, q querier, rec IntegrationRecord) error {
	var other string
	err := q.queryRow(ctx, `SELECT id FROM `+k.table+` WHERE name_fold = ? AND id <> ?`, fold(rec.Name), rec.ID).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("%s %q: check name: %w", k.noun, rec.ID, err)
	}
	return fmt.Errorf("%s name %q is taken by %s %q: %w", k.noun, rec.Name, k.noun, other, ErrConflict)
}

func (k integrationKind) update(ctx context.Context, tx *Tx, rec IntegrationRecord) error {
	rec.CreatedAt = time.Time{}
	if err := k.check(&rec); err != nil {
		return fmt.Errorf("update %s: %w", k.noun, err)
	}
	if err := k.checkName(ctx, tx.q(), rec); err != nil {
		return err
	}
	res, err := tx.q().exec(ctx, `UPDATE `+k.table+` SET name = ?, name_fold = ?, type = ?, updated_at = ?, body = ? WHERE id = ?`,
		rec.Name, fold(rec.Name), rec.Type, rec.UpdatedAt.UnixNano(), rec.JSON, rec.ID)
	if tx.d.isUniqueViolation(err) {
		return fmt.Errorf("%s name %q already exists: %w", k.noun, rec.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update %s %q: %w", k.noun, rec.ID, err)
	}
	return mustAffect(res, fmt.Sprintf("%s %q", k.noun, rec.ID))
}

func (k integrationKind) delete(ctx context.Context, tx *Tx, id string) error {
	res, err := tx.q().exec(ctx, `DELETE FROM `+k.table+` WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", k.noun, id, err)
	}
	return mustAffect(res, fmt.Sprintf("%s %q", k.noun, id))
}

// ListImageIntegrations returns every image integration ordered by name
// (case-insensitively), then id.
func (s *Store) ListImageIntegrations(ctx context.Context) ([]ImageIntegrationRecord, error) {
	return imageIntegrations.list(ctx, s.direct())
}

// GetImageIntegration returns the integration with id, or an ErrNotFound
// error.
func (s *Store) GetImageIntegration(ctx context.Context, id string) (ImageIntegrationRecord, error) {
	return imageIntegrations.get(ctx, s.direct(), id)
}

// GetImageIntegration is Store.GetImageIntegration inside the transaction.
func (tx *Tx) GetImageIntegration(ctx context.Context, id string) (ImageIntegrationRecord, error) {
	return imageIntegrations.get(ctx, tx.q(), id)
}

// CreateImageIntegration stores a new integration. The same id, or the same
// name compared case-insensitively, is an ErrConflict error. A zero
// CreatedAt is set to now, a zero UpdatedAt to CreatedAt.
func (s *Store) CreateImageIntegration(ctx context.Context, rec ImageIntegrationRecord) error {
	return s.InTx(ctx, func(tx *Tx) error { return imageIntegrations.create(ctx, tx, rec) })
}

// UpdateImageIntegration replaces the stored integration with rec.ID,
// keeping its creation time. A missing id is ErrNotFound, a name another
// integration has is ErrConflict. A zero UpdatedAt is set to now.
func (s *Store) UpdateImageIntegration(ctx context.Context, rec ImageIntegrationRecord) error {
	return s.InTx(ctx, func(tx *Tx) error { return imageIntegrations.update(ctx, tx, rec) })
}

// DeleteImageIntegration removes the integration with id, or returns an
// ErrNotFound error.
func (s *Store) DeleteImageIntegration(ctx context.Context, id string) error {
	return s.InTx(ctx, func(tx *Tx) error { return imageIntegrations.delete(ctx, tx, id) })
}

// ListNotifiers returns every notifier ordered by name (case-insensitively),
// then id.
func (s *Store) ListNotifiers(ctx context.Context) ([]NotifierRecord, error) {
	return notifiers.list(ctx, s.direct())
}

// GetNotifier returns the notifier with id, or an ErrNotFound error.
func (s *Store) GetNotifier(ctx context.Context, id string) (NotifierRecord, error) {
	return notifiers.get(ctx, s.direct(), id)
}

// CreateNotifier stores a new notifier; the rules are CreateImageIntegration's.
func (s *Store) CreateNotifier(ctx context.Context, rec NotifierRecord) error {
	return s.InTx(ctx, func(tx *Tx) error { return notifiers.create(ctx, tx, rec) })
}

// UpdateNotifier replaces the stored notifier with rec.ID; the rules are
// UpdateImageIntegration's.
func (s *Store) UpdateNotifier(ctx context.Context, rec NotifierRecord) error {
	return s.InTx(ctx, func(tx *Tx) error { return notifiers.update(ctx, tx, rec) })
}

// DeleteNotifier removes the notifier with id and its pending deliveries
// (delivered and dead ones stay as history until pruned), or returns an
// ErrNotFound error.
func (s *Store) DeleteNotifier(ctx context.Context, id string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if err := notifiers.delete(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.q().exec(ctx, `DELETE FROM notifier_outbox WHERE notifier_id = ? AND state = ?`, id, DeliveryPending); err != nil {
			return fmt.Errorf("delete notifier %q deliveries: %w", id, err)
		}
		return nil
	})
}
