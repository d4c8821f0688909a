package popfetch

import (
	"fmt"

	"github.com/mdsync/mdsync/state"
)

// plan lists in res.Plan what a run would do: the messages it would fetch,
// those it would delete (already fetched and old enough, or fetched in this
// run when the policy deletes right after the fetch) and the UIDLs it would
// forget.
func (f *Fetcher) plan(msgs, todo []srvMsg, seen map[string]state.UIDL, res *Result) {
	fetching := make(map[string]bool, len(todo))
	for _, m := range todo {
		res.Plan = append(res.Plan, fmt.Sprintf("fetch %d (uidl %s, %d bytes)", m.id, m.uidl, m.size))
		fetching[m.uidl] = true
	}
	now := f.now()
	for _, m := range msgs {
		u, ok := seen[m.uidl]
		if (ok && f.o.Delete.deletes(u.FirstSeen, now)) || (fetching[m.uidl] && f.o.Delete.afterFetch()) {
			res.Plan = append(res.Plan, fmt.Sprintf("delete %d (uidl %s)", m.id, m.uidl))
		}
	}
	for _, uidl := range gone(msgs, seen) {
		res.Plan = append(res.Plan, fmt.Sprintf("forget uidl %s (gone from the server)", uidl))
	}
}
