package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/internal/migrate"
	"github.com/mdsync/mdsync/state"
)

// adoption is what adopt did.
type adoption struct {
	Folders  int      `json:"folders"`
	Messages int      `json:"messages"`
	Notes    []string `json:"notes,omitempty"`
}

// adopt writes the sync state another tool left (res.Folders) into the
// state DB as mdsync's own: the folder with the server's UIDVALIDITY that
// tool saw, and one pair per message it knew on both sides. The folder's
// other numbers stay zero, so the first run selects it, reads every flag
// and scans it once, and finds nothing to do where the other tool left
// both sides in agreement. A folder mdsync already holds pairs of is left
// alone: its own state wins. delims are the server's hierarchy delimiters
// by channel ('/' when unknown).
func adopt(ctx context.Context, db *state.DB, res *migrate.Result, delims map[string]rune) (adoption, error) {
	var out adoption
	for _, f := range res.Folders {
		name := f.Name
		if d := delims[f.Channel]; d != 0 && d != '/' {
			name = strings.ReplaceAll(name, "/", string(d))
		}
		st, err := db.EnsureFolder(ctx, f.Channel, name)
		if err != nil {
			return out, fmt.Errorf("adopt %q of channel %s: %w", name, f.Channel, err)
		}
		if n, err := db.CountServerPairs(ctx, st.ID); err != nil {
			return out, fmt.Errorf("adopt %q of channel %s: %w", name, f.Channel, err)
		} else if n > 0 {
			out.Notes = append(out.Notes, fmt.Sprintf("%s: %q: mdsync already knows %d messages of this folder; its own state is kept", f.Channel, name, n))
			continue
		}
		if err := adoptFolder(ctx, db, st, f); err != nil {
			return out, fmt.Errorf("adopt %q of channel %s: %w", name, f.Channel, err)
		}
		out.Folders++
		out.Messages += len(f.Pairs)
	}
	return out, nil
}

func adoptFolder(ctx context.Context, db *state.DB, st *state.Folder, f migrate.Folder) error {
	tx, err := db.BeginDurable(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st.UIDValidity = f.UIDValidity
	st.UIDNext, st.HighestModSeq, st.Messages, st.CurMTime, st.NewMTime, st.Listing = 0, 0, 0, 0, 0, ""
	if err := tx.SaveFolder(st); err != nil {
		return err
	}
	for _, p := range f.Pairs {
		if err := tx.PutPair(st.ID, state.Pair{UID: p.UID, Key: p.Key, Flags: p.Flags}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// serverDelims logs in to each channel's account and asks for its
// hierarchy delimiter (LIST "" ""). An account that cannot be reached is
// left out, with the reason: its folders are adopted with '/'.
func serverDelims(ctx context.Context, cfg *config.Config) (map[string]rune, []string) {
	out := map[string]rune{}
	var notes []string
	byAccount := map[string]rune{}
	for _, ch := range sortedNames(cfg.Channel) {
		acct := cfg.Channel[ch].IMAP
		if d, ok := byAccount[acct]; ok {
			out[ch] = d
			continue
		}
		d, err := serverDelim(ctx, cfg, cfg.IMAP[acct])
		if err != nil {
			notes = append(notes, fmt.Sprintf("imap.%s: %v; folder names are taken as '/'-separated", acct, err))
			continue
		}
		byAccount[acct], out[ch] = d, d
	}
	return out, notes
}

func serverDelim(ctx context.Context, cfg *config.Config, a *config.IMAP) (rune, error) {
	pw, token, err := credentials(cfg, "imap."+a.Name, &a.Server)
	if err != nil {
		return 0, err
	}
	conn, err := imapconn.Dial(ctx, imapOptions(a, pw, token))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	boxes, err := conn.List("", "", nil).Collect()
	if err != nil {
		return 0, fmt.Errorf("ask for the hierarchy delimiter: %w", err)
	}
	for _, b := range boxes {
		if b.Delim != 0 {
			return b.Delim, nil
		}
	}
	return '/', nil
}
