package syncer

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/mdsync/mdsync/state"
)

// Run synchronises a channel: list both sides, prepare each folder (what
// changed, if anything), route the changed ones, apply their plans, report.
// doc.go describes the phases and who owns what while they run.
func Run(ctx context.Context, o Options) (*Result, error) {
	r, err := newChannelRun(ctx, o)
	if err != nil {
		return r.res, err
	}
	defer r.close()
	c0, remote, err := r.connect()
	if err != nil {
		return r.res, err
	}
	r.folders, err = r.choose(c0, remote)
	r.pool.put(c0, nil)
	if err != nil {
		return r.res, err
	}
	changed, err := r.prepare()
	if err != nil {
		return r.res, err
	}
	r.apply(r.route(changed))
	return r.report()
}

// channelRun is what one run of a channel shares between its phases. Its
// fields are written by Run's goroutine between phases; during a phase the
// goroutines it starts read them and write only their own folder's work.
type channelRun struct {
	ctx       context.Context
	o         Options
	res       *Result
	pool      *connPool
	policy    Policy
	stFolders map[string]*state.Folder // the state's folders of the channel
	looks     func() map[string]localLook
	folders   []*folderSync          // the folders to sync (choose)
	byName    map[string]*folderSync // folders by name (a move's destination)
	delim     rune                   // the server's hierarchy delimiter
	condstore bool
	dialTook  time.Duration // the first login: how near the server is
}

func newChannelRun(ctx context.Context, o Options) (*channelRun, error) {
	r := &channelRun{ctx: ctx, o: o, res: &Result{progress: o.Progress}, pool: newPool(o), policy: o.Policy, delim: '/'}
	r.policy.ForceDelete = o.ForceDelete
	var err error
	if r.stFolders, err = o.DB.Folders(ctx, o.Name); err != nil {
		r.pool.closeAll()
		return r, err
	}
	r.looks = startLooks(ctx, o, r.stFolders)
	return r, nil
}

// close ends what the run started: looks, connections, prefetched bodies
// no plan took.
func (r *channelRun) close() {
	r.looks()
	r.pool.closeAll()
	for _, w := range r.folders {
		w.dropPrefetched()
	}
}

func (r *channelRun) tracef(format string, args ...any) { r.o.tracef(format, args...) }

// report collects the folders' errors (and a dry run's plans) into the
// result.
func (r *channelRun) report() (*Result, error) {
	res := r.res
	if r.o.DryRun {
		for _, w := range r.folders {
			if w.plan != nil {
				res.Plans = append(res.Plans, *w.plan)
			}
		}
	}
	for _, w := range r.folders {
		if w.err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", w.name, w.err))
			if r.o.Log != nil && !r.o.DryRun {
				r.o.Log("%s: %s: error: %v", r.o.Name, w.name, w.err)
			}
		}
	}
	sort.Strings(res.Errors)
	if !r.o.DryRun {
		res.Folders = len(r.folders)
	}
	return res, summarize(res)
}
