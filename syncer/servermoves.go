package syncer

import (
	"fmt"
	"os"
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/internal/msgio"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// A message moved on the server, by another client, from one folder of the
// channel to another is new in the one and gone from the other. Instead of
// deleting its file here and downloading it there, the run moves the file:
// the folders concerned join the move group (route.go), the new messages'
// identities are fetched with their headers (arrivalMeta, no body), the
// gone ones' read from their local files (identifyMoves), and the planner
// pairs them (serverMoves in plan.go).

// arrival is the local file a move-in takes from another folder, and its
// pair there (whose fingerprint and Message-ID the new pair keeps).
type arrival struct {
	msg  maildir.Message
	pair state.Pair
}

// fileHeadKey is the header key of a local file, from its header alone.
func fileHeadKey(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h, err := msgio.ReadHeader(f)
	if err != nil {
		return "", err
	}
	return h.HeadKey(), nil
}

// arrivalMeta fetches the identity (size, header) of the messages new on
// the server in a folder that may have received moved messages; like
// matchContent it needs the folder selected (errRedo otherwise).
func arrivalMeta(c *imapconn.Conn, w *folderSync, selected bool) error {
	if !w.serverMoveDst || w.in.RemoteUnchanged {
		return nil
	}
	var uids []uint32
	for u := range w.in.RemoteFlags {
		if _, ok := w.remoteMeta[u]; !ok && u >= w.st.UIDNext && w.prefetch[u] == nil {
			uids = append(uids, u)
		}
	}
	if len(uids) == 0 {
		return nil
	}
	if !selected {
		return errRedo
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	meta, err := fetchMeta(c, uids)
	if err != nil {
		return fmt.Errorf("%q: %w", w.name, err)
	}
	if w.remoteMeta == nil {
		w.remoteMeta = make(map[uint32]remoteMeta, len(meta))
	}
	for u, m := range meta {
		w.remoteMeta[u] = m
	}
	return nil
}

// identifyMoves gives the planner the identities it pairs moves by: of the
// messages new on the server in each folder (Arrived), and of the local
// files whose server message is gone (Gone), read from the files. It
// returns the files found, by folder and key, for the move-ins.
func identifyMoves(group []*folderSync) map[*folderSync]map[string]arrival {
	anyArrived := false
	for _, w := range group {
		if !w.serverMoveDst {
			continue
		}
		arrived := func(u uint32, id Identity) {
			if w.in.Arrived == nil {
				w.in.Arrived = map[uint32]Identity{}
			}
			w.in.Arrived[u] = id
			anyArrived = true
		}
		for u, m := range w.remoteMeta {
			if u >= w.st.UIDNext {
				arrived(u, Identity{MessageID: m.MessageID, Size: m.Size, HeadKey: m.HeadKey})
			}
		}
		for u, p := range w.prefetch {
			arrived(u, Identity{MessageID: p.msgid, Size: p.size, HeadKey: p.head})
		}
	}
	if !anyArrived {
		return nil
	}
	files := map[*folderSync]map[string]arrival{}
	for _, w := range group {
		in := &w.in
		if in.RemoteUnchanged || in.UIDValidityChanged {
			continue
		}
		for _, p := range w.pairs.list {
			if p.UID == 0 || p.Key == "" || in.RemoteUIDs[p.UID] || p.MessageID == "" {
				continue
			}
			m, ok := goneFile(w, p.Key, p.Flags)
			if !ok {
				continue
			}
			head, err := fileHeadKey(m.Path(w.local))
			if err != nil || head == "" {
				continue // not matched: deleted here, downloaded there
			}
			if in.Gone == nil {
				in.Gone = map[string]Identity{}
			}
			// the pair's size is the server's (the file may have gained a
			// field another tool added)
			in.Gone[p.Key] = Identity{MessageID: p.MessageID, Size: p.Size, HeadKey: head}
			if files[w] == nil {
				files[w] = map[string]arrival{}
			}
			files[w][p.Key] = arrival{msg: m, pair: p}
		}
	}
	return files
}

// goneFile finds the local file of a pair: in the scan when the folder was
// scanned, else under the name its pair's flags give it, else by a lookup.
func goneFile(w *folderSync, key, flags string) (maildir.Message, bool) {
	if w.msgs != nil {
		m, ok := w.msgs[key]
		return m, ok
	}
	if m, ok := w.local.Probe(key, flags); ok {
		return m, true
	}
	m, ok, err := w.local.Lookup(key)
	return m, ok && err == nil
}

// takeMoves hands each destination the files its move-ins take, and marks
// the sources to be listed again next run (their files left them through
// another folder's transaction).
func (r *channelRun) takeMoves(files map[*folderSync]map[string]arrival, planned []*folderSync) {
	for _, w := range planned {
		for _, act := range w.plan.Actions {
			if act.Op != OpMoveIn {
				continue
			}
			src := r.byName[act.From]
			a, ok := files[src][act.Key]
			if src == nil || !ok {
				continue
			}
			if w.arrivals == nil {
				w.arrivals = map[string]arrival{}
			}
			w.arrivals[act.Key] = a
			src.rescan, src.keepServerNumbers = true, true
		}
	}
}

// headsRun is the reading, in a goroutine of its own (as prefetchRun, for
// the same reason), of the flags, sizes and headers of the messages new in
// a folder that may have received moved messages: asked in the gather's
// round trip instead of their bodies.
type headsRun struct {
	done  chan struct{}
	flags map[uint32]string
	meta  map[uint32]remoteMeta
	err   error
}

// startHeads asks for them, up to LIST-STATUS's UIDNEXT (not "n:*", as
// startPrefetch says why).
func startHeads(c *imapconn.Conn, w *folderSync) *headsRun {
	set := imap.UIDSet{imap.UIDRange{Start: imap.UID(w.st.UIDNext), Stop: imap.UID(w.rstat.UIDNext - 1)}}
	sec := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	fc := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{sec}})
	r := &headsRun{done: make(chan struct{}), flags: map[uint32]string{}, meta: map[uint32]remoteMeta{}}
	go func() {
		defer close(r.done)
		r.err = r.read(fc)
	}()
	return r
}

func (r *headsRun) read(fc *imapclient.FetchCommand) error {
	for {
		m := fc.Next()
		if m == nil {
			break
		}
		buf, err := m.Collect()
		if err != nil {
			fc.Close()
			return fmt.Errorf("fetch new messages' headers: %w", err)
		}
		if buf.UID == 0 || buf.Flags == nil {
			continue
		}
		u := uint32(buf.UID)
		r.flags[u] = lettersOf(buf.Flags)
		r.meta[u] = metaOf(buf)
	}
	if err := fc.Close(); err != nil {
		return fmt.Errorf("fetch new messages' headers: %w", err)
	}
	return nil
}

// wait waits for the reading to end.
func (r *headsRun) wait() { <-r.done }
