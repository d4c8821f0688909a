package popfetch

import (
	"context"
	"errors"
	"fmt"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/internal/pop3"
	"github.com/mdsync/mdsync/state"
)

// cleanUp ends a run: the messages the policy selects are deleted (DELE,
// then QUIT commits), but only from a healthy session and only once
// their UIDL is recorded as delivered; then the deletions and the UIDLs
// that vanished from the server are recorded. seen holds what was known at
// the start plus what this run recovered and delivered, all of which is on
// the server listing, so nothing recorded in this run is pruned.
func (f *Fetcher) cleanUp(ctx context.Context, c *pop3.Client, msgs []srvMsg, seen map[string]state.UIDL, healthy bool, res *Result) error {
	pruned := gone(msgs, seen)
	var deleted []state.UIDL
	var sessionErr error
	if healthy {
		deleted, sessionErr = f.dele(ctx, c, msgs, seen, res)
	}
	if err := f.recordCleanUp(ctx, pruned, deleted); err != nil {
		return errors.Join(sessionErr, err)
	}
	res.Pruned, res.Deleted = len(pruned), len(deleted)
	return sessionErr
}

// dele deletes what the policy selects and QUITs; it returns the records
// of the messages whose deletion QUIT committed. A DELE the server refuses
// is a warning; a failed session deletes nothing (the server rolls back).
func (f *Fetcher) dele(ctx context.Context, c *pop3.Client, msgs []srvMsg, seen map[string]state.UIDL, res *Result) ([]state.UIDL, error) {
	var deleted []state.UIDL
	now := f.now()
	for _, m := range msgs {
		u, ok := seen[m.uidl]
		if !ok || !f.o.Delete.deletes(u.FirstSeen, now) {
			continue
		}
		if err := c.Dele(ctx, m.id); err != nil {
			var pe *pop3.Error
			if errors.As(err, &pe) {
				res.warn(f, "DELE %d (uidl %s) refused: %s", m.id, m.uidl, pe.Msg)
				continue
			}
			return nil, fmt.Errorf("DELE %d (uidl %s): %w", m.id, m.uidl, pop3.Protocol.Classify(err))
		}
		failpoint.Hit("pop.after-dele")
		u.Status = state.POPDeleted
		deleted = append(deleted, u)
	}
	if err := c.Quit(ctx); err != nil {
		if len(deleted) > 0 {
			return nil, fmt.Errorf("QUIT (deletions may not have been committed): %w", pop3.Protocol.Classify(err))
		}
		// Everything is recorded; a failing QUIT changes nothing.
		res.warn(f, "QUIT: %v", err)
	}
	return deleted, nil
}

// recordCleanUp records deletions and forgets vanished UIDLs in one
// transaction, even when the run was interrupted: it records what was
// done.
func (f *Fetcher) recordCleanUp(ctx context.Context, pruned []string, deleted []state.UIDL) error {
	if len(pruned) == 0 && len(deleted) == 0 {
		return nil
	}
	acct := f.o.Account
	tx, err := f.o.DB.BeginDurable(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("record deletions: %w", err)
	}
	for _, uidl := range pruned {
		if err := tx.POPForget(acct, uidl); err != nil {
			tx.Rollback()
			return fmt.Errorf("forget vanished uidl %s: %w", uidl, err)
		}
	}
	for _, u := range deleted {
		if err := tx.POPRecord(acct, u); err != nil {
			tx.Rollback()
			return fmt.Errorf("record the deletion of uidl %s: %w", u.UIDL, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record deletions: %w", err)
	}
	return nil
}
