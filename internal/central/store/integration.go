package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ImageIntegrationRecord is a stored image integration. JSON is the
// integration document with its secret fields already encrypted by the
// caller, stored and returned byte for byte; Name and Type are copies for
// uniqueness and listing. Names are unique case-insensitively.
type ImageIntegrationRecord struct {
	ID        string
	Name      string
	Type      string
	JSON      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

const imageIntegrationColumns = `id, name, type, created_at, updated_at, body`

func scanImageIntegration(row interface{ Scan(...any) error }) (ImageIntegrationRecord, error) {
	var (
		r                ImageIntegrationRecord
		created, updated int64
	)
	if err := row.Scan(&r.ID, &r.Name, &r.Type, &created, &updated, &r.JSON); err != nil {
		return ImageIntegrationRecord{}, err
	}
	r.CreatedAt, r.UpdatedAt = fromNanos(created), fromNanos(updated)
	return r, nil
}

// checkImageIntegration validates rec and fills in missing times.
func checkImageIntegration(rec *ImageIntegrationRecord) error {
	if err := checkKey("image integration id", rec.ID, true); err != nil {
		return err
	}
	if err := checkKey(fmt.Sprintf("image integration %q name", rec.ID), rec.Name, true); err != nil {
		return err
	}
	if err := checkKey(fmt.Sprintf("image integration %q type", rec.ID), rec.Type, true); err != nil {
		return err
	}
	if err := checkDoc(fmt.Sprintf("image integration %q JSON", rec.ID), rec.JSON); err != nil {
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
			return fmt.Errorf("image integration %q: %w", rec.ID, err)
		}
	}
	return nil
}

// ListImageIntegrations returns every image integration ordered by name
// (case-insensitively), then id.
func (s *Store) ListImageIntegrations(ctx context.Context) ([]ImageIntegrationRecord, error) {
	rows, err := s.direct().query(ctx, `SELECT `+imageIntegrationColumns+` FROM image_integrations ORDER BY name_fold, name, id`)
	if err != nil {
		return nil, fmt.Errorf("list image integrations: %w", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []ImageIntegrationRecord
	for rows.Next() {
		r, err := scanImageIntegration(rows)
		if err != nil {
			return nil, fmt.Errorf("list image integrations: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list image integrations: %w", err)
	}
	return out, nil
}

// GetImageIntegration returns the integration with id, or an ErrNotFound
// error.
func (s *Store) GetImageIntegration(ctx context.Context, id string) (ImageIntegrationRecord, error) {
	return s.direct().getImageIntegration(ctx, id)
}

// GetImageIntegration is Store.GetImageIntegration inside the transaction.
func (tx *Tx) GetImageIntegration(ctx context.Context, id string) (ImageIntegrationRecord, error) {
	return tx.q().getImageIntegration(ctx, id)
}

func (q querier) getImageIntegration(ctx context.Context, id string) (ImageIntegrationRecord, error) {
	r, err := scanImageIntegration(q.queryRow(ctx, `SELECT `+imageIntegrationColumns+` FROM image_integrations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ImageIntegrationRecord{}, fmt.Errorf("image integration %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return ImageIntegrationRecord{}, fmt.Errorf("get image integration %q: %w", id, err)
	}
	return r, nil
}

// CreateImageIntegration stores a new integration. The same id, or the same
// name compared case-insensitively, is an ErrConflict error. A zero
// CreatedAt is set to now, a zero UpdatedAt to CreatedAt.
func (s *Store) CreateImageIntegration(ctx context.Context, rec ImageIntegrationRecord) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.CreateImageIntegration(ctx, rec) })
}

// CreateImageIntegration is Store.CreateImageIntegration inside the
// transaction.
func (tx *Tx) CreateImageIntegration(ctx context.Context, rec ImageIntegrationRecord) error {
	if err := checkImageIntegration(&rec); err != nil {
		return fmt.Errorf("create image integration: %w", err)
	}
	if err := tx.q().checkImageIntegrationName(ctx, rec); err != nil {
		return err
	}
	_, err := tx.q().exec(ctx, `INSERT INTO image_integrations (id, name, name_fold, type, created_at, updated_at, body)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, rec.ID, rec.Name, fold(rec.Name), rec.Type, rec.CreatedAt.UnixNano(), rec.UpdatedAt.UnixNano(), rec.JSON)
	if tx.d.isUniqueViolation(err) {
		return fmt.Errorf("image integration %q: id or name %q already exists: %w", rec.ID, rec.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create image integration %q: %w", rec.ID, err)
	}
	return nil
}

// checkImageIntegrationName refuses a name another integration has, naming
// it, before the unique index would refuse it without saying which.
func (q querier) checkImageIntegrationName(ctx context.Context, rec ImageIntegrationRecord) error {
	var other string
	err := q.queryRow(ctx, `SELECT id FROM image_integrations WHERE name_fold = ? AND id <> ?`, fold(rec.Name), rec.ID).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("image integration %q: check name: %w", rec.ID, err)
	}
	return fmt.Errorf("image integration name %q is taken by integration %q: %w", rec.Name, other, ErrConflict)
}

// UpdateImageIntegration replaces the stored integration with rec.ID,
// keeping its creation time. A missing id is ErrNotFound, a name another
// integration has is ErrConflict. A zero UpdatedAt is set to now.
func (s *Store) UpdateImageIntegration(ctx context.Context, rec ImageIntegrationRecord) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.UpdateImageIntegration(ctx, rec) })
}

// UpdateImageIntegration is Store.UpdateImageIntegration inside the
// transaction.
func (tx *Tx) UpdateImageIntegration(ctx context.Context, rec ImageIntegrationRecord) error {
	rec.CreatedAt = time.Time{}
	if err := checkImageIntegration(&rec); err != nil {
		return fmt.Errorf("update image integration: %w", err)
	}
	if err := tx.q().checkImageIntegrationName(ctx, rec); err != nil {
		return err
	}
	res, err := tx.q().exec(ctx, `UPDATE image_integrations SET name = ?, name_fold = ?, type = ?, updated_at = ?, body = ? WHERE id = ?`,
		rec.Name, fold(rec.Name), rec.Type, rec.UpdatedAt.UnixNano(), rec.JSON, rec.ID)
	if tx.d.isUniqueViolation(err) {
		return fmt.Errorf("image integration name %q already exists: %w", rec.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update image integration %q: %w", rec.ID, err)
	}
	return mustAffect(res, fmt.Sprintf("image integration %q", rec.ID))
}

// DeleteImageIntegration removes the integration with id, or returns an
// ErrNotFound error.
func (s *Store) DeleteImageIntegration(ctx context.Context, id string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.q().exec(ctx, `DELETE FROM image_integrations WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete image integration %q: %w", id, err)
		}
		return mustAffect(res, fmt.Sprintf("image integration %q", id))
	})
}
