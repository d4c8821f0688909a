package syncer

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/state"
)

// removeFolder propagates a folder deletion (remove policy), but only when
// the folder holds nothing the state does not know: a message that arrived
// since the last sync keeps the folder, and the run says so.
func removeFolder(ctx context.Context, c *imapconn.Conn, o Options, act Action, st *state.Folder, rs *imap.StatusData, delim rune) error {
	if st == nil {
		return nil
	}
	pairs, err := o.DB.Pairs(ctx, st.ID)
	if err != nil {
		return err
	}
	switch act.Op {
	case OpRemoveRemote:
		n := 0
		for _, p := range pairs {
			if p.UID > 0 {
				n++
			}
		}
		if rs == nil || rs.NumMessages == nil || int(*rs.NumMessages) != n || uint32(rs.UIDNext) != st.UIDNext || rs.UIDValidity != st.UIDValidity {
			return fmt.Errorf("not deleted on the server: it changed since the last sync")
		}
		if err := c.Delete(o.ns.toServer(act.Folder)).Wait(); err != nil {
			return fmt.Errorf("delete %q on the server: %w", act.Folder, err)
		}
	case OpRemoveLocal:
		lf, err := o.Store.Folder(act.Folder, delim)
		if err != nil {
			return err
		}
		msgs, _, err := lf.ScanNames()
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, p := range pairs {
			known[p.Key] = true
		}
		for k := range msgs {
			if !known[k] {
				return fmt.Errorf("not deleted locally: it holds messages never synced")
			}
		}
		for _, m := range msgs {
			if err := lf.Remove(m); err != nil {
				return err
			}
		}
		for _, sub := range []string{"tmp", "new", "cur"} {
			if err := os.RemoveAll(filepath.Join(lf.Path(), sub)); err != nil {
				return err
			}
		}
		os.Remove(filepath.Join(lf.Path(), "maildirfolder"))
		os.Remove(lf.Path()) // stays when it holds sub-folders
	}
	return forgetFolder(ctx, o.DB, st)
}

// followRenames renames locally the folders the server renamed
// (serverRenames; the new name's UIDNEXT not below what the state saw),
// directory and state alike, so that their messages are neither
// downloaded again nor left twice under the old name.
func followRenames(ctx context.Context, o Options, all []folderSides, stFolders map[string]*state.Folder, rstat map[string]*imap.StatusData, delim rune, res *Result) []folderSides {
	oldUV, newUV := map[string]uint32{}, map[string]uint32{}
	for n, f := range stFolders {
		oldUV[n] = f.UIDValidity
	}
	for n, st := range rstat {
		if st != nil {
			newUV[n] = st.UIDValidity
		}
	}
	renames := serverRenames(all, oldUV, newUV)
	if len(renames) == 0 {
		return all
	}
	olds := slices.Sorted(maps.Keys(renames)) // parents before children
	done := map[string]bool{}
	for _, old := range olds {
		nw, st := renames[old], stFolders[old]
		if rs := rstat[nw]; rs == nil || uint32(rs.UIDNext) < st.UIDNext {
			continue
		}
		if !o.DryRun {
			if err := o.Store.RenameFolder(old, nw, delim); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("%s: follow the server's rename to %q: %v", old, nw, err))
				continue
			}
			tx, err := o.DB.BeginDurable(context.WithoutCancel(ctx))
			if err == nil {
				err = tx.RenameFolder(st.ID, nw)
				if err == nil {
					err = tx.Commit()
				} else {
					tx.Rollback()
				}
			}
			if err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("%s: record the rename to %q: %v", old, nw, err))
				continue
			}
		}
		done[old], done[nw] = true, true
		if o.DryRun {
			// planned as it will be once renamed: not at all this run
			res.notice("%q was renamed to %q on the server: would be renamed locally", old, nw)
			continue
		}
		res.notice("%q was renamed to %q on the server: renamed locally", old, nw)
		st.Name = nw
		stFolders[nw] = st
		delete(stFolders, old)
	}
	kept := all[:0]
	for _, s := range all {
		if !done[s.Name] {
			kept = append(kept, s)
		}
	}
	for _, old := range olds {
		if done[old] && !o.DryRun {
			kept = append(kept, folderSides{Name: renames[old], Local: true, Remote: true, InState: true})
		}
	}
	return kept
}

// forgetFolder drops a folder's state (pairs, numbers, journal).
func forgetFolder(ctx context.Context, db *state.DB, st *state.Folder) error {
	tx, err := db.BeginDurable(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.DeleteFolder(st.ID); err != nil {
		return err
	}
	return tx.Commit()
}
