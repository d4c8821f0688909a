package popfetch

import (
	"context"
	"errors"
	"fmt"

	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// Batch limits: intents are journaled, and UIDLs recorded, per batch (one
// directory fsync and two commits per batch instead of per message). Tests
// change batchMessages.
var (
	batchMessages       = 128
	batchBytes    int64 = 32 << 20
)

// Run performs one fetch. The error wraps mailnet.ErrTemporary (what may
// pass by itself), mailnet.ErrAuth (login refused) or mailnet.ErrTLS
// (certificate not trusted, TLS mode mismatch) where that applies. The
// Result is meaningful even with an error: it counts what was done before
// it.
func (f *Fetcher) Run(ctx context.Context) (Result, error) {
	var res Result
	acct := f.o.Account
	if f.o.Store == nil || f.o.DB == nil {
		return res, fmt.Errorf("pop %s: popfetch needs a Store and a DB", acct)
	}
	folderName := f.o.Folder
	if folderName == "" {
		folderName = "INBOX"
	}
	var folder *maildir.Folder
	var err error
	if f.o.DryRun {
		folder, err = f.o.Store.Folder(folderName, '/')
	} else {
		folder, err = f.o.Store.CreateFolder(folderName, '/')
	}
	if err != nil {
		return res, fmt.Errorf("pop %s: folder %q: %w", acct, folderName, err)
	}

	seen, err := f.o.DB.POPSeen(ctx, acct)
	if err != nil {
		return res, fmt.Errorf("pop %s: read the fetched UIDLs: %w", acct, err)
	}
	if err := f.recover(ctx, folder, seen, &res); err != nil {
		return res, fmt.Errorf("pop %s: recovery: %w", acct, err)
	}

	c, err := f.Dial(ctx)
	if err != nil {
		return res, fmt.Errorf("pop %s: %w", acct, err)
	}
	defer c.Close()
	msgs, err := f.listing(ctx, c, &res)
	if err != nil {
		return res, fmt.Errorf("pop %s: %w", acct, err)
	}
	todo := f.choose(msgs, seen, &res)
	if f.o.DryRun {
		f.plan(msgs, todo, seen, &res)
		if err := c.Quit(ctx); err != nil {
			f.logf("pop %s: QUIT: %v", acct, err)
		}
		return res, nil
	}

	msgErrs, fetchErr := f.fetchAll(ctx, c, folder, todo, seen, &res)
	if err := f.cleanUp(ctx, c, msgs, seen, fetchErr == nil, &res); err != nil && fetchErr == nil {
		fetchErr = err
	}
	if res.Fetched > 0 || res.Deleted > 0 || res.Pruned > 0 {
		f.logf("pop %s: fetched %d (%d bytes), deleted %d, pruned %d", acct, res.Fetched, res.Bytes, res.Deleted, res.Pruned)
	}
	switch {
	case fetchErr != nil:
		return res, fmt.Errorf("pop %s: %w", acct, fetchErr)
	case len(msgErrs) > 0:
		return res, fmt.Errorf("pop %s: %d message(s) not fetched (tried again next run): %w", acct, len(msgErrs), errors.Join(msgErrs...))
	}
	return res, nil
}

// choose returns the new messages this run fetches: not fetched before,
// within max_size (a bigger one is skipped with a warning, and fetched
// once the limit allows) and max_messages (the rest wait for a later run).
func (f *Fetcher) choose(msgs []srvMsg, seen map[string]state.UIDL, res *Result) []srvMsg {
	var todo []srvMsg
	for _, m := range msgs {
		if _, ok := seen[m.uidl]; ok {
			continue
		}
		if f.o.MaxSize > 0 && m.size > f.o.MaxSize {
			res.Skipped++
			res.warn(f, "message %d (uidl %s) is %d bytes, over max_size %d: skipped (it is fetched once the limit allows)", m.id, m.uidl, m.size, f.o.MaxSize)
			continue
		}
		if f.o.MaxMessages > 0 && len(todo) >= f.o.MaxMessages {
			res.Remaining++
			continue
		}
		todo = append(todo, m)
	}
	if res.Remaining > 0 {
		f.logf("pop %s: max_messages %d: %d new messages left for a later run", f.o.Account, f.o.MaxMessages, res.Remaining)
	}
	return todo
}

// gone returns the recorded UIDLs that are no longer on the server.
func gone(msgs []srvMsg, seen map[string]state.UIDL) []string {
	onServer := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		onServer[m.uidl] = true
	}
	var out []string
	for uidl := range seen {
		if !onServer[uidl] {
			out = append(out, uidl)
		}
	}
	return out
}
