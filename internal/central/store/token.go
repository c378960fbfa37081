package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TokenRecord is an API token. Only a hash of its secret is stored.
type TokenRecord struct {
	ID         string
	Name       string
	Role       string
	SecretHash []byte
	CreatedAt  time.Time
	ExpiresAt  *time.Time // nil: never expires
	RevokedAt  *time.Time // nil: not revoked
	LastUsedAt *time.Time // nil: never used
}

// touchResolution is how stale LastUsedAt may get: TouchToken, called on every
// authenticated request, writes at most once per token per interval.
const touchResolution = time.Minute

const tokenColumns = `id, name, role, secret_hash, created_at, expires_at, revoked_at, last_used_at` //nolint:gosec // column names, not a credential

func scanToken(row interface{ Scan(...any) error }) (TokenRecord, error) {
	var (
		t                        TokenRecord
		created                  int64
		expires, revoked, lastUs sql.NullInt64
	)
	if err := row.Scan(&t.ID, &t.Name, &t.Role, &t.SecretHash, &created, &expires, &revoked, &lastUs); err != nil {
		return TokenRecord{}, err
	}
	t.CreatedAt = fromNanos(created)
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromNullNanos(expires), fromNullNanos(revoked), fromNullNanos(lastUs)
	return t, nil
}

// CreateToken stores a new token; an existing id is ErrConflict. A zero
// CreatedAt is set to now.
func (s *Store) CreateToken(ctx context.Context, t TokenRecord) error {
	return s.inBookkeepingTx(ctx, func(tx *Tx) error { return tx.CreateToken(ctx, t) })
}

// CreateToken is Store.CreateToken inside the transaction.
func (tx *Tx) CreateToken(ctx context.Context, t TokenRecord) error {
	if err := checkKey("token id", t.ID, true); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	if err := checkText("token name", t.Name, false); err != nil {
		return fmt.Errorf("create token %q: %w", t.ID, err)
	}
	if err := checkKey("token role", t.Role, true); err != nil {
		return fmt.Errorf("create token %q: %w", t.ID, err)
	}
	if len(t.SecretHash) == 0 || len(t.SecretHash) > 1024 {
		return fmt.Errorf("create token %q: secret hash is %d bytes, want 1–1024: %w", t.ID, len(t.SecretHash), ErrInvalid)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	created, err := nanos("created", t.CreatedAt)
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.ID, err)
	}
	var nulls [3]sql.NullInt64
	for i, f := range []struct {
		name string
		t    *time.Time
	}{{"expires", t.ExpiresAt}, {"revoked", t.RevokedAt}, {"last used", t.LastUsedAt}} {
		if nulls[i], err = nullNanos(f.name, f.t); err != nil {
			return fmt.Errorf("create token %q: %w", t.ID, err)
		}
	}
	q := tx.q()
	_, err = q.exec(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Role, t.SecretHash, created, nulls[0], nulls[1], nulls[2])
	if q.d.isUniqueViolation(err) {
		return fmt.Errorf("token %q: %w", t.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.ID, err)
	}
	return nil
}

// GetToken returns the token with id, or an ErrNotFound error.
func (s *Store) GetToken(ctx context.Context, id string) (TokenRecord, error) {
	t, err := scanToken(s.direct().queryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return TokenRecord{}, fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return TokenRecord{}, fmt.Errorf("get token %q: %w", id, err)
	}
	return t, nil
}

// ListTokens returns every token, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]TokenRecord, error) {
	rows, err := s.direct().query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, id`+s.d.byteOrder)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []TokenRecord
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken marks the token with id revoked at at. Revoking a revoked token
// keeps the first revocation time. A missing token is ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	n, err := nanos("revoked", at)
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", id, err)
	}
	return s.inBookkeepingTx(ctx, func(tx *Tx) error {
		res, err := tx.q().exec(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, n, id)
		if err != nil {
			return fmt.Errorf("revoke token %q: %w", id, err)
		}
		return mustAffect(res, fmt.Sprintf("token %q", id))
	})
}

// TouchToken records that the token with id was used at at. It is called on
// every authenticated request, so it writes only when the stored time is
// older than at by touchResolution or more (never moving it backwards), and
// otherwise costs one read. A missing token is ErrNotFound.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	n, err := nanos("last used", at)
	if err != nil {
		return fmt.Errorf("touch token %q: %w", id, err)
	}
	threshold := n - int64(touchResolution)
	if threshold > n { // wrapped around below 1678
		threshold = n
	}
	var last sql.NullInt64
	err = s.direct().queryRow(ctx, `SELECT last_used_at FROM api_tokens WHERE id = ?`, id).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("touch token %q: %w", id, err)
	}
	if last.Valid && last.Int64 > threshold {
		return nil
	}
	return s.inBookkeepingTx(ctx, func(tx *Tx) error {
		// Re-check in the update: another request may have touched it since.
		_, err := tx.q().exec(ctx, `UPDATE api_tokens SET last_used_at = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`, n, id, threshold)
		if err != nil {
			return fmt.Errorf("touch token %q: %w", id, err)
		}
		return nil
	})
}
