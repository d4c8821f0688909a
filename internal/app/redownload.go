package app

import (
	"context"

	"github.com/mdsync/mdsync/state"
)

// forgetChannel drops what the state knows of a channel (--redownload):
// its next sync is a first one, which downloads what the server has and
// links what is still on disk by content; it deletes nothing anywhere.
func forgetChannel(ctx context.Context, db *state.DB, channel string) error {
	folders, err := db.Folders(ctx, channel)
	if err != nil {
		return err
	}
	tx, err := db.BeginDurable(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, f := range folders {
		if err := tx.DeleteFolder(f.ID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// forgetPOP drops the UIDLs an account recorded (--redownload): the next
// fetch downloads again what the server still holds.
func forgetPOP(ctx context.Context, db *state.DB, account string) error {
	seen, err := db.POPSeen(ctx, account)
	if err != nil {
		return err
	}
	tx, err := db.BeginDurable(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for u := range seen {
		if err := tx.POPForget(account, u); err != nil {
			return err
		}
	}
	return tx.Commit()
}
