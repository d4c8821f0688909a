package syncer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mdsync/mdsync/state"
)

// syncedFlags are the Maildir flag letters that have an IMAP equivalent
// and are synchronised: D draft, F flagged, P passed ($Forwarded),
// R replied (\Answered), S seen, T trashed (\Deleted).
const syncedFlags = "DFPRST"

// Op is the kind of an action.
type Op string

// The actions a plan is made of.
const (
	OpFetch         Op = "fetch"         // download UID into the Maildir with Flags
	OpAppend        Op = "append"        // upload local Key with Flags
	OpStoreFlags    Op = "store"         // set Add / remove Remove on the server's UID
	OpSetLocalFlags Op = "set-flags"     // rename local Key to carry Flags
	OpDeleteLocal   Op = "delete-local"  // remove local Key (expunged on the server)
	OpExpunge       Op = "expunge"       // \Deleted + UID EXPUNGE of UID (deleted locally)
	OpMove          Op = "move"          // MOVE UID from Folder to DstFolder (moved locally)
	OpMoveIn        Op = "move-in"       // rename local Key of folder From into Folder as UID (moved on the server)
	OpLink          Op = "link"          // record that UID and Key are the same message
	OpForget        Op = "forget"        // drop the pair: gone on both sides
	OpTombstone     Op = "keep-one-side" // deleted on one side, policy keeps the other
	OpUpdateBase    Op = "update-base"   // both sides already agree on new flags
	OpCreateLocal   Op = "create-local"  // folder-level: mkdir in the Maildir
	OpCreateRemote  Op = "create-remote" // folder-level: CREATE on the server
	OpSkipFolder    Op = "skip-folder"   // folder-level: not synced, with Reason
	OpRemoveLocal   Op = "remove-local"  // folder-level: folder gone on the server, remove = maildir|both
	OpRemoveRemote  Op = "remove-remote" // folder-level: folder gone locally, remove = imap|both
	OpBlockedFolder Op = "blocked"       // mass-deletion guard held the folder back
)

// Action is one step of a plan.
type Action struct {
	Op        Op
	Folder    string
	UID       uint32
	Key       string
	Flags     string // resulting synced flags (fetch, append, set-flags, link, move)
	Add       string // store: letters to add on the server
	Remove    string // store: letters to remove on the server
	DstFolder string // move
	DstKey    string // move: the key in the destination folder
	From      string // move-in: the folder the local file comes from
	FromUID   uint32 // move-in: the message's UID there, before the server moved it
	Base      string // the previous base flags, when it matters
	Reason    string
}

// String renders an action as one line of --dry-run output.
func (a Action) String() string {
	switch a.Op {
	case OpFetch:
		return fmt.Sprintf("fetch    uid %d -> maildir [%s]", a.UID, a.Flags)
	case OpAppend:
		return fmt.Sprintf("append   %s -> server [%s]", a.Key, a.Flags)
	case OpStoreFlags:
		s := ""
		if a.Add != "" {
			s += " +" + a.Add
		}
		if a.Remove != "" {
			s += " -" + a.Remove
		}
		return fmt.Sprintf("store    uid %d%s", a.UID, s)
	case OpSetLocalFlags:
		return fmt.Sprintf("flags    %s [%s]", a.Key, a.Flags)
	case OpDeleteLocal:
		return fmt.Sprintf("delete   %s (expunged on server, uid %d)", a.Key, a.UID)
	case OpExpunge:
		return fmt.Sprintf("expunge  uid %d (deleted locally: %s)", a.UID, a.Key)
	case OpMove:
		return fmt.Sprintf("move     uid %d -> %q (moved locally: %s)", a.UID, a.DstFolder, a.DstKey)
	case OpMoveIn:
		return fmt.Sprintf("move-in  %s from %q = uid %d [%s] (moved on the server)", a.Key, a.From, a.UID, a.Flags)
	case OpLink:
		return fmt.Sprintf("link     uid %d = %s [%s]", a.UID, a.Key, a.Flags)
	case OpForget:
		return fmt.Sprintf("forget   uid %d / %s (gone on both sides)", a.UID, a.Key)
	case OpTombstone:
		return fmt.Sprintf("keep     uid %d / %s (%s)", a.UID, a.Key, a.Reason)
	case OpUpdateBase:
		return fmt.Sprintf("agree    uid %d = %s [%s]", a.UID, a.Key, a.Flags)
	default:
		if a.Reason != "" {
			return fmt.Sprintf("%-8s %s", a.Op, a.Reason)
		}
		return string(a.Op)
	}
}

// Local is a message seen in the Maildir.
type Local struct {
	Key         string
	Flags       string
	Fingerprint string // only set when the executor computed it (move detection)
}

// FolderInput is everything the planner needs to know about one folder.
type FolderInput struct {
	Name  string
	Pairs []state.Pair

	// Local holds the whole local scan; when LocalUnchanged is set, Local is
	// ignored and every pair's key is taken as present with its base flags.
	Local          map[string]Local
	LocalUnchanged bool

	// RemoteUIDs is the set of every UID on the server; when RemoteUnchanged
	// is set it is ignored and every pair's UID is taken as present.
	RemoteUIDs      map[uint32]bool
	RemoteUnchanged bool
	// RemoteFlags holds the flags (as Maildir letters) of the messages whose
	// flags changed since the last sync, and of every new message.
	RemoteFlags map[uint32]string

	// UIDValidityChanged means the UIDs of Pairs are void: pairs are matched
	// again through Matches (by content), by key.
	UIDValidityChanged bool
	// Matches links unpaired local keys to unpaired server UIDs that hold the
	// same message (found by Message-ID and size, or fingerprint).
	Matches map[string]uint32

	// LocalOnly are the letters of syncedFlags the server cannot keep in
	// this folder (its PERMANENTFLAGS lack them): they stay on the local
	// side only.
	LocalOnly string

	// Gone holds the identity of local files whose server message left
	// this folder (by local key), and Arrived that of the server's new
	// messages (by UID): a message in both, in two folders, was moved on
	// the server, and its file is moved locally instead of deleted here
	// and downloaded there. Only set for the folders of a move group.
	Gone    map[string]Identity
	Arrived map[uint32]Identity
}

// Identity is what tells two copies of a message apart without their
// bodies: its Message-ID, its size on the server and its header key
// (msgio.HeadKey). Copies equal in all three are the same message.
type Identity struct {
	MessageID string
	Size      int64
	HeadKey   string
}

// known tells whether an identity is complete enough to match on.
func (id Identity) known() bool { return id.MessageID != "" && id.Size > 0 && id.HeadKey != "" }

// Policy holds the per-channel settings the planner obeys.
type Policy struct {
	Expunge          Sides // where a deletion on the other side is applied
	MaxDeletePercent int
	MaxDeleteCount   int // used when >= 0
	ForceDelete      map[string]bool
}

// FolderPlan is the plan of one folder.
type FolderPlan struct {
	Name    string
	Actions []Action
	Blocked string // non-empty: the mass-deletion guard held the folder back
}

// merge is the three-way merge of one message's flags, flag by flag: a
// change on one side wins; when both sides changed a flag they agree (a flag
// is either set or not). With no base (a message new on both sides) the
// result is the union: a flag set on either side stays set. Letters outside
// syncedFlags in local are kept on the local side only and are not part of
// the result.
func merge(base, local, remote string) string {
	var b strings.Builder
	for _, f := range syncedFlags {
		bs, ls, rs := strings.ContainsRune(base, f), strings.ContainsRune(local, f), strings.ContainsRune(remote, f)
		v := bs
		switch {
		case ls != bs:
			// a local change wins; if both changed they changed the same way
			v = ls
		case rs != bs:
			v = rs
		}
		if v {
			b.WriteRune(f)
		}
	}
	return b.String()
}

// synced keeps only the letters of syncedFlags, sorted.
func synced(flags string) string {
	var b strings.Builder
	for _, f := range syncedFlags {
		if strings.ContainsRune(flags, f) {
			b.WriteRune(f)
		}
	}
	return b.String()
}

// without returns flags less the letters of drop.
func without(flags, drop string) string {
	if drop == "" {
		return flags
	}
	var b strings.Builder
	for _, r := range flags {
		if !strings.ContainsRune(drop, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// withLocalOnly returns the synced flags m plus the letters of localOnly
// that local has, sorted: the local file keeps what the server cannot.
func withLocalOnly(m, local, localOnly string) string {
	if localOnly == "" {
		return m
	}
	rs := []rune(m)
	for _, r := range localOnly {
		if strings.ContainsRune(local, r) && !strings.ContainsRune(m, r) {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
	return string(rs)
}

// withLocalExtras returns synced flags plus the non-synced letters of local
// (keyword letters such as Dovecot's lowercase ones), sorted.
func withLocalExtras(synced, local string) string {
	rs := []rune(synced)
	for _, r := range local {
		if !strings.ContainsRune(syncedFlags, r) && !strings.ContainsRune(string(rs), r) {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
	return string(rs)
}

func diff(from, to string) (add, remove string) {
	for _, f := range syncedFlags {
		a, b := strings.ContainsRune(from, f), strings.ContainsRune(to, f)
		if b && !a {
			add += string(f)
		}
		if a && !b {
			remove += string(f)
		}
	}
	return
}

func propagatesLocalDeletes(p Policy) bool  { return p.Expunge.Server() }
func propagatesRemoteDeletes(p Policy) bool { return p.Expunge.Local() }

// PlanFolder plans one folder on its own (no cross-folder moves).
func PlanFolder(in FolderInput, p Policy) FolderPlan {
	return Plan([]FolderInput{in}, p)[0]
}

// Plan plans every folder of a channel. Messages that vanished from one
// local folder and appeared in another (same key, or same fingerprint) become
// server-side moves instead of an upload plus an expunge.
func Plan(ins []FolderInput, p Policy) []FolderPlan {
	plans := make([]FolderPlan, len(ins))
	type gone struct {
		folder int
		idx    int // index in plans[folder].Actions of the expunge
		pair   state.Pair
	}
	goneByKey := map[string]gone{}
	goneByFP := map[string]gone{}
	for i, in := range ins {
		plans[i] = planOne(in, p)
		for j, a := range plans[i].Actions {
			if a.Op != OpExpunge {
				continue
			}
			for _, pr := range in.Pairs {
				if pr.UID == a.UID {
					g := gone{i, j, pr}
					goneByKey[pr.Key] = g
					if pr.Fingerprint != "" {
						goneByFP[pr.Fingerprint] = g
					}
					break
				}
			}
		}
	}
	if len(goneByKey) > 0 {
		// Turn append(dst) + expunge(src) of the same message into a move:
		// the expunge becomes the move, the append goes.
		moved := map[[2]int]bool{}
		for i, in := range ins {
			for j, a := range plans[i].Actions {
				if a.Op != OpAppend {
					continue
				}
				g, ok := goneByKey[a.Key]
				if !ok {
					if fp := in.Local[a.Key].Fingerprint; fp != "" {
						g, ok = goneByFP[fp]
					}
				}
				if !ok || g.folder == i {
					continue
				}
				delete(goneByKey, g.pair.Key) // each source moves once
				if g.pair.Fingerprint != "" {
					delete(goneByFP, g.pair.Fingerprint)
				}
				moved[[2]int{i, j}] = true
				plans[g.folder].Actions[g.idx] = Action{
					Op: OpMove, Folder: ins[g.folder].Name, UID: g.pair.UID, Key: g.pair.Key,
					DstFolder: in.Name, DstKey: a.Key, Flags: a.Flags, Base: g.pair.Flags,
				}
			}
		}
		for i := range plans {
			kept := plans[i].Actions[:0]
			for j, a := range plans[i].Actions {
				if !moved[[2]int{i, j}] {
					kept = append(kept, a)
				}
			}
			plans[i].Actions = kept
		}
	}
	serverMoves(ins, plans)
	for i := range plans {
		guard(&plans[i], len(ins[i].Pairs), p)
		sortActions(plans[i].Actions)
	}
	return plans
}

// serverMoves turns the local deletion of a message whose server copy left
// one folder, and the download of the same message (by Identity) new in
// another, into one move-in of the local file: the destination's fetch
// becomes the move-in, the source's deletion goes. The moved file takes the
// flags of the three-way merge; a flag the server lacks is stored after.
// Matching is one to one.
func serverMoves(ins []FolderInput, plans []FolderPlan) {
	type gone struct {
		folder int
		pair   state.Pair
		local  string // the file's synced flags
	}
	gones := map[Identity][]gone{}
	for i, in := range ins {
		if len(in.Gone) == 0 {
			continue
		}
		byKey := make(map[string]state.Pair, len(in.Pairs))
		for _, pr := range in.Pairs {
			byKey[pr.Key] = pr
		}
		for _, a := range plans[i].Actions {
			id, ok := in.Gone[a.Key]
			if a.Op != OpDeleteLocal || !ok || !id.known() {
				continue
			}
			pr := byKey[a.Key]
			local := pr.Flags
			if !in.LocalUnchanged {
				local = synced(in.Local[a.Key].Flags)
			}
			gones[id] = append(gones[id], gone{folder: i, pair: pr, local: local})
		}
	}
	if len(gones) == 0 {
		return
	}
	dropped := map[[2]int]bool{} // folder, index of a deletion gone
	for j, in := range ins {
		for k, a := range plans[j].Actions {
			id, ok := in.Arrived[a.UID]
			if a.Op != OpFetch || !ok || !id.known() {
				continue
			}
			cands := gones[id]
			at := -1
			for c, g := range cands {
				if g.folder != j {
					at = c
					break
				}
			}
			if at < 0 {
				continue
			}
			g := cands[at]
			gones[id] = append(cands[:at:at], cands[at+1:]...)
			for x, d := range plans[g.folder].Actions {
				if d.Op == OpDeleteLocal && d.Key == g.pair.Key {
					dropped[[2]int{g.folder, x}] = true
				}
			}
			remote := a.Flags
			merged := withLocalOnly(merge(g.pair.Flags, g.local, remote), g.local, in.LocalOnly)
			plans[j].Actions[k] = Action{Op: OpMoveIn, Folder: in.Name, UID: a.UID, Key: g.pair.Key, Flags: merged, Base: remote, From: ins[g.folder].Name, FromUID: g.pair.UID}
			if add, rm := diff(remote, without(merged, in.LocalOnly)); add != "" || rm != "" {
				plans[j].Actions = append(plans[j].Actions, Action{Op: OpStoreFlags, Folder: in.Name, UID: a.UID, Key: g.pair.Key, Add: add, Remove: rm, Flags: merged})
			}
		}
	}
	for i := range plans {
		kept := plans[i].Actions[:0]
		for x, a := range plans[i].Actions {
			if !dropped[[2]int{i, x}] {
				kept = append(kept, a)
			}
		}
		plans[i].Actions = kept
	}
}

// sizeIf is n when cond holds, else 0 (a map's size hint).
func sizeIf(cond bool, n int) int {
	if cond {
		return n
	}
	return 0
}

func planOne(in FolderInput, p Policy) FolderPlan {
	fp := FolderPlan{Name: in.Name}
	add := func(a Action) {
		a.Folder = in.Name
		fp.Actions = append(fp.Actions, a)
	}
	// which keys and UIDs the pairs hold: needed only to find what is new
	// on a side that changed
	keyNeeded, uidNeeded := !in.LocalUnchanged || len(in.Matches) > 0, !in.RemoteUnchanged || len(in.Matches) > 0
	pairedKey := make(map[string]bool, sizeIf(keyNeeded, len(in.Pairs)))
	pairedUID := make(map[uint32]bool, sizeIf(uidNeeded, len(in.Pairs)))
	matchedUID := map[uint32]string{}
	for k, u := range in.Matches {
		matchedUID[u] = k
	}
	localOf := func(key string, base string) (Local, bool) {
		if key == "" {
			return Local{}, false
		}
		if in.LocalUnchanged {
			return Local{Key: key, Flags: base}, true
		}
		l, ok := in.Local[key]
		return l, ok
	}
	// keep drops the letters the folder cannot keep on the server: they
	// stay local, outside the merge, so they are neither pushed nor
	// taken for a removal on the server
	keep := func(flags string) string { return without(flags, in.LocalOnly) }
	remoteOf := func(uid uint32, base string) (string, bool) {
		if uid == 0 {
			return "", false
		}
		if !in.RemoteUnchanged && !in.RemoteUIDs[uid] {
			return "", false
		}
		if f, ok := in.RemoteFlags[uid]; ok {
			return f, true
		}
		return base, true
	}

	for _, pr := range in.Pairs {
		if in.UIDValidityChanged {
			// The old UID means nothing now: the server side of this pair is
			// the content match of its key. Unmatched local files are
			// uploaded again below (never a loss); the executor drops every
			// old pair first, so forgetting here needs no action.
			u, ok := in.Matches[pr.Key]
			if pr.Key == "" || !ok {
				continue
			}
			pr.UID = u
		}
		uid := pr.UID
		if pr.Key != "" && keyNeeded {
			pairedKey[pr.Key] = true
		}
		if uid != 0 && uidNeeded {
			pairedUID[uid] = true
		}
		l, lok := localOf(pr.Key, pr.Flags)
		r, rok := remoteOf(uid, pr.Flags)
		switch {
		case !lok && !rok:
			add(Action{Op: OpForget, UID: pr.UID, Key: pr.Key})
		case !lok && rok:
			if pr.Key == "" { // tombstone: deleted locally earlier, kept on server
				continue
			}
			if propagatesLocalDeletes(p) {
				add(Action{Op: OpExpunge, UID: uid, Key: pr.Key, Base: pr.Flags})
			} else {
				add(Action{Op: OpTombstone, UID: uid, Reason: "deleted locally; expunge policy keeps it on the server"})
			}
		case lok && !rok:
			if pr.UID == 0 { // tombstone: expunged on the server earlier, kept locally
				continue
			}
			if propagatesRemoteDeletes(p) {
				add(Action{Op: OpDeleteLocal, UID: pr.UID, Key: pr.Key})
			} else {
				add(Action{Op: OpTombstone, Key: pr.Key, Reason: "expunged on the server; expunge policy keeps it locally"})
			}
		default:
			ls, r, base := keep(synced(l.Flags)), keep(r), keep(pr.Flags)
			m := merge(base, ls, r)
			changed := false
			if m != r {
				a, rm := diff(r, m)
				add(Action{Op: OpStoreFlags, UID: uid, Key: pr.Key, Add: a, Remove: rm, Flags: m, Base: base})
				changed = true
			}
			if m != ls {
				add(Action{Op: OpSetLocalFlags, UID: uid, Key: pr.Key, Flags: withLocalOnly(m, l.Flags, in.LocalOnly), Base: base})
				changed = true
			}
			if in.UIDValidityChanged {
				add(Action{Op: OpLink, UID: uid, Key: pr.Key, Flags: m})
			} else if !changed && m != pr.Flags {
				add(Action{Op: OpUpdateBase, UID: uid, Key: pr.Key, Flags: m})
			}
		}
	}

	// Messages new on both sides that are the same message.
	for k, u := range in.Matches {
		if pairedKey[k] || pairedUID[u] {
			continue
		}
		l, lok := in.Local[k]
		if !lok || (!in.RemoteUnchanged && !in.RemoteUIDs[u]) {
			continue
		}
		pairedKey[k], pairedUID[u] = true, true
		ls, r := keep(synced(l.Flags)), keep(in.RemoteFlags[u])
		m := merge("", ls, r) // union: neither side has a base
		if m != r {
			a, _ := diff(r, m)
			add(Action{Op: OpStoreFlags, UID: u, Key: k, Add: a, Flags: m})
		}
		if m != ls {
			add(Action{Op: OpSetLocalFlags, UID: u, Key: k, Flags: withLocalOnly(m, l.Flags, in.LocalOnly)})
		}
		add(Action{Op: OpLink, UID: u, Key: k, Flags: m})
	}

	if !in.RemoteUnchanged {
		for u := range in.RemoteUIDs {
			if pairedUID[u] {
				continue
			}
			add(Action{Op: OpFetch, UID: u, Flags: in.RemoteFlags[u]})
		}
	}
	if !in.LocalUnchanged {
		for k, l := range in.Local {
			if pairedKey[k] {
				continue
			}
			add(Action{Op: OpAppend, Key: k, Flags: keep(synced(l.Flags))})
		}
	}
	return fp
}

// guard applies the mass-deletion limit: a folder whose plan deletes too
// much on either side is held back whole.
func guard(fp *FolderPlan, size int, p Policy) {
	if p.ForceDelete[fp.Name] {
		return
	}
	var local, remote int
	for _, a := range fp.Actions {
		switch a.Op {
		case OpDeleteLocal:
			local++
		case OpExpunge:
			remote++
		}
	}
	limit := -1
	if p.MaxDeleteCount >= 0 {
		limit = p.MaxDeleteCount
	} else if size > 20 {
		limit = size * p.MaxDeletePercent / 100
	}
	if limit < 0 || (local <= limit && remote <= limit) {
		return
	}
	side, n := "local", local
	if remote > local {
		side, n = "server", remote
	}
	what := map[string]string{"local": "messages expunged on the server would be deleted locally", "server": "messages missing locally would be expunged on the server"}[side]
	fp.Blocked = fmt.Sprintf("%d of %d %s (limit %d); folder left untouched. If this is intended, run again with --force-delete %q", n, size, what, limit, fp.Name)
	fp.Actions = nil
}

var opOrder = map[Op]int{OpForget: 0, OpTombstone: 1, OpLink: 2, OpUpdateBase: 3, OpDeleteLocal: 4, OpExpunge: 5, OpMove: 6, OpMoveIn: 7, OpStoreFlags: 8, OpSetLocalFlags: 9, OpFetch: 10, OpAppend: 11}

func sortActions(as []Action) {
	sort.SliceStable(as, func(i, j int) bool {
		a, b := as[i], as[j]
		if opOrder[a.Op] != opOrder[b.Op] {
			return opOrder[a.Op] < opOrder[b.Op]
		}
		if a.UID != b.UID {
			return a.UID < b.UID
		}
		return a.Key < b.Key
	})
}
