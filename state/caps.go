package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ServerCaps returns the capabilities an account's server announced after
// the login in an earlier run ("" when unknown), space-separated.
func (d *DB) ServerCaps(ctx context.Context, account string) (string, error) {
	var caps string
	err := d.db.QueryRowContext(ctx, `SELECT caps FROM server_caps WHERE account = ?`, account).Scan(&caps)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return caps, err
}

// SaveServerCaps remembers what an account's server announced after the
// login.
func (d *DB) SaveServerCaps(ctx context.Context, account, caps string) error {
	tx, err := d.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.exec(`INSERT INTO server_caps(account, caps) VALUES(?, ?) ON CONFLICT(account) DO UPDATE SET caps = excluded.caps`, account, caps); err != nil {
		return fmt.Errorf("save server capabilities: %w", err)
	}
	return tx.Commit()
}
