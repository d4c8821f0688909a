package syncer

import (
	"fmt"
	"maps"
	"slices"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/imapconn"
)

// choose decides what the run does with each folder the patterns select on
// either side (sync, create, remove, follow a rename, skip) and returns the
// folders to sync. Folder removals are done here, on c0.
func (r *channelRun) choose(c0 *imapconn.Conn, remote []remoteFolder) ([]*folderSync, error) {
	ctx, o, res, delim := r.ctx, r.o, r.res, r.delim
	localNames, unmapped, err := o.Store.List(delim)
	if err != nil {
		return nil, fmt.Errorf("list local folders: %w", err)
	}
	reportUnmapped(o, unmapped, delim, res)
	rstat := map[string]*imap.StatusData{}
	all := r.sides(remote, localNames, rstat)
	if len(all) == 0 {
		res.notice("folders = %q matches no folder on the server or in the maildir: nothing is synced", o.Folders)
	}
	all = followRenames(ctx, o, all, r.stFolders, rstat, delim, res)
	all = r.narrow(all, rstat)
	all = r.dropLookalikes(all)
	var works []*folderSync
	for _, d := range planFolders(all, o.Create, o.Remove) {
		if d.Action.Op != "" {
			res.FolderOps = append(res.FolderOps, d.Action)
			switch d.Action.Op {
			case OpSkipFolder:
				res.Notes = append(res.Notes, Note{Text: d.Action.Reason, Notice: d.Notice})
			case OpRemoveLocal, OpRemoveRemote:
				if o.DryRun {
					break
				}
				if err := removeFolder(ctx, c0, o, d.Action, r.stFolders[d.Name], rstat[d.Name], delim); err != nil {
					res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", d.Name, err))
				} else {
					res.notice("%s: done", d.Action.Reason)
				}
			}
		}
		if !d.Sync {
			continue
		}
		lf, err := o.Store.Folder(d.Name, delim)
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", d.Name, err))
			continue
		}
		st := r.stFolders[d.Name]
		if d.Redownload && st != nil {
			res.notice("%s", d.Action.Reason)
			if !o.DryRun {
				if err := forgetFolder(ctx, o.DB, st); err != nil {
					res.Errors = append(res.Errors, fmt.Sprintf("%s: forget the removed folder's state: %v", d.Name, err))
					continue
				}
			}
			st = nil
		}
		works = append(works, &folderSync{name: d.Name, delim: delim, local: lf, st: st, rstat: rstat[d.Name], createLocal: d.CreateLocal, createRemote: d.CreateRemote})
	}
	r.byName = make(map[string]*folderSync, len(works))
	for _, w := range works {
		r.byName[w.name] = w
	}
	return works, nil
}

// narrow keeps, in a run narrowed by Options.Only, the folders named and,
// when a move on the server is possible (some folder lost messages and
// another received some, by LIST-STATUS against the state) and a named
// folder is one of them, every folder that lost or received messages: a
// move between any of them is then followed as in a full run. A watch pass
// for the folder an IDLE saw change would otherwise delete a moved
// message's file there and download it again in the other folder's pass.
func (r *channelRun) narrow(all []folderSides, rstat map[string]*imap.StatusData) []folderSides {
	if r.o.Only == nil {
		return all
	}
	roles := make(map[string][2]bool, len(all))
	srcs, dsts := 0, 0
	named := false
	for _, s := range all {
		src, dst := moveRolesOf(rstat[s.Name], r.stFolders[s.Name])
		if !src && !dst {
			continue
		}
		roles[s.Name] = [2]bool{src, dst}
		if src {
			srcs++
		}
		if dst {
			dsts++
		}
		named = named || r.o.only(s.Name)
	}
	// two different folders, one that lost and one that received
	widen := named && srcs > 0 && dsts > 0 && len(roles) > 1
	return slices.DeleteFunc(all, func(s folderSides) bool {
		_, moving := roles[s.Name]
		return !r.o.only(s.Name) && !(widen && moving)
	})
}

// sides tells, for every folder the patterns select, on which sides it is
// and whether the state knows it; rstat receives the server folders'
// LIST-STATUS numbers.
func (r *channelRun) sides(remote []remoteFolder, localNames []string, rstat map[string]*imap.StatusData) []folderSides {
	o, delim := r.o, r.delim
	sides := map[string]*folderSides{}
	side := func(n string) *folderSides {
		if s, ok := sides[n]; ok {
			return s
		}
		s := &folderSides{Name: n}
		sides[n] = s
		return s
	}
	for _, f := range remote {
		if MatchFolder(o.Folders, f.Name, delim) {
			side(f.Name).Remote = true
			rstat[f.Name] = f.Status
		}
	}
	for _, n := range localNames {
		if MatchFolder(o.Folders, n, delim) {
			side(n).Local = true
		}
	}
	for n, f := range r.stFolders {
		if MatchFolder(o.Folders, n, delim) && f.SyncedAt > 0 {
			side(n).InState = true
		}
	}
	all := make([]folderSides, 0, len(sides))
	for _, s := range sides {
		all = append(all, *s)
	}
	return all
}

// dropLookalikes leaves out, with an error each, the local folders named in
// modified UTF-7 after a server folder, and that server folder: synced as
// they are, every message would be there twice.
func (r *channelRun) dropLookalikes(all []folderSides) []folderSides {
	look := mutf7Lookalikes(all, r.delim)
	if len(look) == 0 {
		return all
	}
	drop := map[string]bool{}
	for _, l := range slices.Sorted(maps.Keys(look)) {
		drop[l], drop[look[l]] = true, true
		r.res.Errors = append(r.res.Errors, fmt.Sprintf("local folder %q is the modified UTF-7 spelling of the server's %q (mbsync 1.4 and OfflineIMAP name folders so): set names = \"mutf7\" in the maildir section (mdsync import does), or rename the directory; neither is synced until then", l, look[l]))
	}
	return slices.DeleteFunc(all, func(s folderSides) bool { return drop[s.Name] })
}
