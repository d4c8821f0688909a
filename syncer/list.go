package syncer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/mdsync/mdsync/internal/imapconn"
)

// FolderListing is one folder of a channel as `mdsync list` shows it: on
// which side it is, how many messages each side holds, whether the folders
// patterns select it and whether it was synced before.
type FolderListing struct {
	Name     string `json:"name"`
	Server   int    `json:"server"` // messages on the server, -1: not there
	Local    int    `json:"local"`  // message files locally, -1: not there
	Selected bool   `json:"selected"`
	Synced   bool   `json:"synced"`
}

// List lists the folders of both sides of a channel. It changes nothing.
func List(ctx context.Context, o Options) ([]FolderListing, error) {
	pool := &connPool{o: o, max: 1}
	c, err := pool.dial(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer pool.closeAll()
	nsCmd := askNamespace(c, o.Server.Prefix)
	remote, err := listFolders(c, nil)
	if err == nil {
		o.ns, err = personalNamespace(nsCmd, o.Server.Prefix)
	}
	if err != nil {
		return nil, imapconn.Classify(err)
	}
	remote = o.ns.channelFolders(remote)
	delim := '/'
	for _, f := range remote {
		if f.Delim != 0 {
			delim = f.Delim
			break
		}
	}
	byName := map[string]*FolderListing{}
	row := func(n string) *FolderListing {
		if r := byName[n]; r != nil {
			return r
		}
		r := &FolderListing{Name: n, Server: -1, Local: -1, Selected: MatchFolder(o.Folders, n, delim)}
		byName[n] = r
		return r
	}
	for _, f := range remote {
		r := row(f.Name)
		r.Server = 0
		if f.Status != nil && f.Status.NumMessages != nil {
			r.Server = int(*f.Status.NumMessages)
		}
	}
	local, _, err := o.Store.List(delim)
	if err != nil {
		return nil, fmt.Errorf("list local folders: %w", err)
	}
	for _, n := range local {
		lf, err := o.Store.Folder(n, delim)
		if err != nil {
			continue
		}
		r := row(n)
		r.Local = 0
		for _, sub := range []string{"cur", "new"} {
			ents, _ := os.ReadDir(filepath.Join(lf.Path(), sub))
			r.Local += len(ents)
		}
	}
	st, err := o.DB.Folders(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	for n, f := range st {
		if f.SyncedAt > 0 {
			if r := byName[n]; r != nil {
				r.Synced = true
			}
		}
	}
	out := make([]FolderListing, 0, len(byName))
	for _, r := range byName {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
