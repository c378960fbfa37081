package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SessionRecord is a dashboard sign-in session. IDHash is the hex SHA-256
// of the session id, which only the browser holds.
type SessionRecord struct {
	IDHash string
	// Kind is "user" or "token", as in auth.Identity.
	Kind     string
	UserName string
	Role     string
	// Credential is what the session was opened with: the API token's id,
	// or a fingerprint of the admin password hash.
	Credential string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// sessionTouchResolution is how stale LastSeenAt may get: TouchSession,
// called on every request a session makes, writes at most once per
// session per interval.
const sessionTouchResolution = time.Minute

const sessionColumns = `id_hash, kind, user_name, role, credential, created_at, last_seen_at, expires_at`

func scanSession(row interface{ Scan(...any) error }) (SessionRecord, error) {
	var (
		s                      SessionRecord
		created, seen, expires int64
	)
	if err := row.Scan(&s.IDHash, &s.Kind, &s.UserName, &s.Role, &s.Credential, &created, &seen, &expires); err != nil {
		return SessionRecord{}, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromNanos(created), fromNanos(seen), fromNanos(expires)
	return s, nil
}

// CreateSession stores a new session; an existing id is ErrConflict. A zero
// CreatedAt is set to now and a zero LastSeenAt to CreatedAt; ExpiresAt is
// required.
func (s *Store) CreateSession(ctx context.Context, rec SessionRecord) error {
	for _, f := range []struct {
		name, v string
	}{{"session id hash", rec.IDHash}, {"session kind", rec.Kind}, {"session user name", rec.UserName},
		{"session role", rec.Role}, {"session credential", rec.Credential}} {
		if err := checkKey(f.name, f.v, true); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = now()
	}
	if rec.LastSeenAt.IsZero() {
		rec.LastSeenAt = rec.CreatedAt
	}
	if rec.ExpiresAt.IsZero() {
		return fmt.Errorf("create session: no expiry time: %w", ErrInvalid)
	}
	var times [3]int64
	for i, f := range []struct {
		name string
		t    time.Time
	}{{"created", rec.CreatedAt}, {"last seen", rec.LastSeenAt}, {"expires", rec.ExpiresAt}} {
		n, err := nanos(f.name, f.t)
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		times[i] = n
	}
	return s.inBookkeepingTx(ctx, func(tx *Tx) error {
		q := tx.q()
		_, err := q.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.IDHash, rec.Kind, rec.UserName, rec.Role, rec.Credential, times[0], times[1], times[2])
		if q.d.isUniqueViolation(err) {
			return fmt.Errorf("session: %w", ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return nil
	})
}

// GetSession returns the session whose id hashes to idHash, or an
// ErrNotFound error. Expired sessions are returned too: expiry is the
// caller's decision, and DeleteExpiredSessions removes them.
func (s *Store) GetSession(ctx context.Context, idHash string) (SessionRecord, error) {
	rec, err := scanSession(s.direct().queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id_hash = ?`, idHash))
	if errors.Is(err, sql.ErrNoRows) {
		return SessionRecord{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return SessionRecord{}, fmt.Errorf("get session: %w", err)
	}
	return rec, nil
}

// TouchSession records that the session was used at at. It writes only
// when the stored time is older than at by sessionTouchResolution or more,
// and never moves it backwards. A missing session is not an error: it may
// have been signed out by a concurrent request.
func (s *Store) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	n, err := nanos("last seen", at)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	threshold := n - int64(sessionTouchResolution)
	if threshold > n { // wrapped around below 1678
		threshold = n
	}
	if _, err := s.direct().exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at <= ?`,
		n, idHash, threshold); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession removes a session (sign-out); a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.direct().exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions whose absolute expiry is at or
// before at, or whose last use is at or before idleBefore, and returns how
// many it removed.
func (s *Store) DeleteExpiredSessions(ctx context.Context, at, idleBefore time.Time) (int, error) {
	n, err := nanos("expiry", at)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	idle, err := nanos("idle", idleBefore)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	res, err := s.direct().exec(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`, n, idle)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	removed, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: rows affected: %w", err)
	}
	return int(removed), nil
}

// CountSessions returns the number of stored sessions.
func (s *Store) CountSessions(ctx context.Context) (int, error) {
	var n int
	if err := s.direct().queryRow(ctx, `SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}

// TrimSessions keeps the newest keep sessions opened with credential and
// removes the others, so that one credential cannot fill the store with
// sessions.
func (s *Store) TrimSessions(ctx context.Context, credential string, keep int) error {
	if keep < 0 {
		keep = 0
	}
	_, err := s.direct().exec(ctx, `DELETE FROM sessions WHERE credential = ? AND id_hash NOT IN (
		SELECT id_hash FROM sessions WHERE credential = ? ORDER BY created_at DESC, id_hash DESC LIMIT ?)`,
		credential, credential, keep)
	if err != nil {
		return fmt.Errorf("trim sessions: %w", err)
	}
	return nil
}
