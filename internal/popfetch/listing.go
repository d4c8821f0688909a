package popfetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/mdsync/mdsync/internal/pop3"
)

// listing returns the maildrop: LIST sizes with UIDLs (or fingerprints).
func (f *Fetcher) listing(ctx context.Context, c *pop3.Client, res *Result) ([]srvMsg, error) {
	list, err := c.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", pop3.Protocol.Classify(err))
	}
	uidls := make(map[int]string, len(list))
	uids, err := c.UIDL(ctx)
	switch {
	case errors.Is(err, pop3.ErrNoUIDL):
		res.NoUIDL = true
		res.warn(f, "the server has no UIDL: messages are identified by a fingerprint of their headers and size")
		for _, m := range list {
			fp, err := fingerprint(ctx, c, m)
			if err != nil {
				return nil, fmt.Errorf("TOP %d 0: %w", m.ID, pop3.Protocol.Classify(err))
			}
			uidls[m.ID] = fp
		}
	case err != nil:
		return nil, fmt.Errorf("UIDL: %w", pop3.Protocol.Classify(err))
	default:
		for _, u := range uids {
			uidls[u.ID] = u.UID
		}
	}
	out := make([]srvMsg, 0, len(list))
	dup := make(map[string]bool, len(list))
	for _, m := range list {
		u, ok := uidls[m.ID]
		if !ok || u == "" {
			res.warn(f, "message %d has no unique-id: skipped", m.ID)
			continue
		}
		if dup[u] {
			res.warn(f, "message %d repeats unique-id %s: skipped", m.ID, u)
			continue
		}
		dup[u] = true
		out = append(out, srvMsg{id: m.ID, size: m.Size, uidl: u})
	}
	return out, nil
}

// fingerprint identifies a message of a server without UIDL: the SHA-256 of
// its headers (TOP n 0, line endings as LF) and its LIST size.
func fingerprint(ctx context.Context, c *pop3.Client, m pop3.MsgInfo) (string, error) {
	rc, err := c.Top(ctx, m.ID, 0)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(h, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "\x00%d", m.Size)
	return "fp:" + hex.EncodeToString(h.Sum(nil)), nil
}
