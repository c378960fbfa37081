package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// GetSetting returns the value stored under key; ok is false if there is none.
func (s *Store) GetSetting(ctx context.Context, key string) (value string, ok bool, err error) {
	return s.direct().getSetting(ctx, key)
}

// GetSetting is Store.GetSetting inside the transaction.
func (tx *Tx) GetSetting(ctx context.Context, key string) (value string, ok bool, err error) {
	return tx.q().getSetting(ctx, key)
}

func (q querier) getSetting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := q.queryRow(ctx, `SELECT value FROM settings WHERE name = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get setting %q: %w", key, err)
	}
	return v, true, nil
}

// SetSetting stores value under key, replacing any previous value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.SetSetting(ctx, key, value) })
}

// SetSetting is Store.SetSetting inside the transaction.
func (tx *Tx) SetSetting(ctx context.Context, key, value string) error {
	if err := checkKey("setting name", key, true); err != nil {
		return fmt.Errorf("set setting: %w", err)
	}
	if err := checkText(fmt.Sprintf("setting %q value", key), value, false); err != nil {
		return fmt.Errorf("set setting: %w", err)
	}
	// Both SQLite (3.24+) and PostgreSQL (9.5+) spell the upsert this way.
	_, err := tx.q().exec(ctx, `INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, value, now().UnixNano())
	if err != nil {
		return fmt.Errorf("set setting %q: %w", key, err)
	}
	return nil
}

// DeleteSetting removes key; removing a key that is not set is not an error.
func (s *Store) DeleteSetting(ctx context.Context, key string) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.DeleteSetting(ctx, key) })
}

// DeleteSetting is Store.DeleteSetting inside the transaction.
func (tx *Tx) DeleteSetting(ctx context.Context, key string) error {
	if _, err := tx.q().exec(ctx, `DELETE FROM settings WHERE name = ?`, key); err != nil {
		return fmt.Errorf("delete setting %q: %w", key, err)
	}
	return nil
}
