package syncer

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/state"
)

var defPolicy = Policy{Expunge: SidesBoth, MaxDeletePercent: 50, MaxDeleteCount: -1}

func TestMerge(t *testing.T) {
	cases := []struct{ base, local, remote, want string }{
		{"", "", "", ""},
		{"", "S", "", "S"},        // local change wins
		{"", "", "F", "F"},        // remote change wins
		{"S", "", "S", ""},        // local unset wins
		{"S", "S", "", ""},        // remote unset wins
		{"", "S", "F", "FS"},      // independent changes both apply
		{"S", "", "", ""},         // both unset: agree
		{"", "S", "S", "S"},       // both set: agree
		{"FS", "Sa", "FRS", "RS"}, // local letters outside syncedFlags ignored
		{"", "DFPRST", "", "DFPRST"},
	}
	for _, c := range cases {
		if got := merge(c.base, c.local, c.remote); got != c.want {
			t.Errorf("merge(%q,%q,%q) = %q, want %q", c.base, c.local, c.remote, got, c.want)
		}
	}
}

func pairs(ps ...state.Pair) []state.Pair { return ps }

func lines(fps []FolderPlan) string {
	var b strings.Builder
	for _, fp := range fps {
		if fp.Blocked != "" {
			fmt.Fprintf(&b, "%s: BLOCKED %s\n", fp.Name, fp.Blocked)
		}
		for _, a := range fp.Actions {
			fmt.Fprintf(&b, "%s: %s\n", fp.Name, a)
		}
	}
	return b.String()
}

func TestPlanTable(t *testing.T) {
	base := pairs(state.Pair{UID: 1, Key: "a", Flags: "S"}, state.Pair{UID: 2, Key: "b", Flags: ""})
	both := func(extraL map[string]Local, extraR map[uint32]string) FolderInput {
		in := FolderInput{Name: "INBOX", Pairs: base,
			Local:       map[string]Local{"a": {Key: "a", Flags: "S"}, "b": {Key: "b"}},
			RemoteUIDs:  map[uint32]bool{1: true, 2: true},
			RemoteFlags: map[uint32]string{}}
		for k, v := range extraL {
			in.Local[k] = v
		}
		for u, f := range extraR {
			in.RemoteUIDs[u] = true
			in.RemoteFlags[u] = f
		}
		return in
	}
	cases := []struct {
		name   string
		in     FolderInput
		policy Policy
		want   string
	}{
		{"nothing changed", both(nil, nil), defPolicy, ""},
		{"unchanged sides skip", FolderInput{Name: "INBOX", Pairs: base, LocalUnchanged: true, RemoteUnchanged: true}, defPolicy, ""},
		{"new remote", both(nil, map[uint32]string{3: "F"}), defPolicy, "INBOX: fetch    uid 3 -> maildir [F]\n"},
		{"new local", both(map[string]Local{"c": {Key: "c", Flags: "RS"}}, nil), defPolicy, "INBOX: append   c -> server [RS]\n"},
		{"local flag change", func() FolderInput { in := both(nil, nil); in.Local["b"] = Local{Key: "b", Flags: "F"}; return in }(), defPolicy,
			"INBOX: store    uid 2 +F\n"},
		{"remote flag change", func() FolderInput { in := both(nil, nil); in.RemoteFlags[1] = ""; return in }(), defPolicy,
			"INBOX: flags    a []\n"},
		{"both flag change", func() FolderInput {
			in := both(nil, nil)
			in.Local["b"] = Local{Key: "b", Flags: "F"}
			in.RemoteFlags[2] = "S"
			return in
		}(), defPolicy, "INBOX: store    uid 2 +F\nINBOX: flags    b [FS]\n"},
		{"same change on both", func() FolderInput {
			in := both(nil, nil)
			in.Local["b"] = Local{Key: "b", Flags: "R"}
			in.RemoteFlags[2] = "R"
			return in
		}(), defPolicy, "INBOX: agree    uid 2 = b [R]\n"},
		{"local delete", func() FolderInput { in := both(nil, nil); delete(in.Local, "a"); return in }(), defPolicy,
			"INBOX: expunge  uid 1 (deleted locally: a)\n"},
		{"remote delete", func() FolderInput { in := both(nil, nil); delete(in.RemoteUIDs, 2); return in }(), defPolicy,
			"INBOX: delete   b (expunged on server, uid 2)\n"},
		{"delete beats flag change", func() FolderInput {
			in := both(nil, nil)
			delete(in.Local, "a")
			in.RemoteFlags[1] = "FS"
			return in
		}(), defPolicy, "INBOX: expunge  uid 1 (deleted locally: a)\n"},
		{"gone on both", func() FolderInput { in := both(nil, nil); delete(in.Local, "a"); delete(in.RemoteUIDs, 1); return in }(), defPolicy,
			"INBOX: forget   uid 1 / a (gone on both sides)\n"},
		{"expunge=maildir keeps server copy", func() FolderInput { in := both(nil, nil); delete(in.Local, "a"); return in }(),
			Policy{Expunge: SidesLocal, MaxDeleteCount: -1, MaxDeletePercent: 50},
			"INBOX: keep     uid 1 /  (deleted locally; expunge policy keeps it on the server)\n"},
		{"tombstone stays quiet", FolderInput{Name: "INBOX", Pairs: pairs(state.Pair{UID: 1, Key: "", Flags: ""}),
			Local: map[string]Local{}, RemoteUIDs: map[uint32]bool{1: true}}, defPolicy, ""},
		{"content match links", FolderInput{Name: "INBOX", Local: map[string]Local{"x": {Key: "x", Flags: "S"}},
			RemoteUIDs: map[uint32]bool{7: true}, RemoteFlags: map[uint32]string{7: "F"}, Matches: map[string]uint32{"x": 7}}, defPolicy,
			"INBOX: link     uid 7 = x [FS]\nINBOX: store    uid 7 +S\nINBOX: flags    x [FS]\n"},
		{"uidvalidity change relinks, re-uploads unmatched", FolderInput{Name: "INBOX", Pairs: base, UIDValidityChanged: true,
			Local:      map[string]Local{"a": {Key: "a", Flags: "S"}, "b": {Key: "b"}},
			RemoteUIDs: map[uint32]bool{10: true, 11: true}, RemoteFlags: map[uint32]string{10: "S", 11: ""},
			Matches: map[string]uint32{"a": 10}}, defPolicy,
			"INBOX: link     uid 10 = a [S]\nINBOX: fetch    uid 11 -> maildir []\nINBOX: append   b -> server []\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := lines([]FolderPlan{PlanFolder(c.in, c.policy)})
			if got != c.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestPlanMove(t *testing.T) {
	ins := []FolderInput{
		{Name: "INBOX", Pairs: pairs(state.Pair{UID: 5, Key: "k", Flags: "S"}), Local: map[string]Local{},
			RemoteUIDs: map[uint32]bool{5: true}},
		{Name: "Archive", Local: map[string]Local{"k": {Key: "k", Flags: "S"}}, RemoteUIDs: map[uint32]bool{}},
	}
	got := lines(Plan(ins, defPolicy))
	want := "INBOX: move     uid 5 -> \"Archive\" (moved locally: k)\n"
	if got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	// by fingerprint when a client gave the file a new name
	ins[0].Pairs[0].Fingerprint = "fp1"
	ins[1].Local = map[string]Local{"k2": {Key: "k2", Flags: "S", Fingerprint: "fp1"}}
	got = lines(Plan(ins, defPolicy))
	want = "INBOX: move     uid 5 -> \"Archive\" (moved locally: k2)\n"
	if got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
}

// TestPlanServerMove: a message gone from one server folder and new in
// another, with the same identity, is a move-in of its local file: no
// deletion there, no download here; its flags merge, and a local change the
// server lacks is stored. A different identity is a deletion and a download.
func TestPlanServerMove(t *testing.T) {
	id := Identity{MessageID: "<1@x>", Size: 120, HeadKey: "h1"}
	other := Identity{MessageID: "<1@x>", Size: 121, HeadKey: "h1"}
	tests := []struct {
		name    string
		arrived Identity
		local   map[string]Local // INBOX's scan (nil: unchanged)
		want    string
	}{
		{"same identity", id, nil,
			"Archive: move-in  k from \"INBOX\" = uid 9 [S] (moved on the server)\n"},
		{"flagged locally meanwhile", id, map[string]Local{"k": {Key: "k", Flags: "FS"}},
			"Archive: move-in  k from \"INBOX\" = uid 9 [FS] (moved on the server)\n" +
				"Archive: store    uid 9 +F\n"},
		{"other size", other, nil,
			"INBOX: delete   k (expunged on server, uid 5)\n" +
				"Archive: fetch    uid 9 -> maildir [S]\n"},
		{"no identity", Identity{}, nil,
			"INBOX: delete   k (expunged on server, uid 5)\n" +
				"Archive: fetch    uid 9 -> maildir [S]\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inbox := FolderInput{Name: "INBOX", Pairs: pairs(state.Pair{UID: 5, Key: "k", Flags: "S", MessageID: "<1@x>", Size: 120}),
				LocalUnchanged: tc.local == nil, Local: tc.local, RemoteUIDs: map[uint32]bool{}, RemoteFlags: map[uint32]string{},
				Gone: map[string]Identity{"k": id}}
			archive := FolderInput{Name: "Archive", LocalUnchanged: true, RemoteUIDs: map[uint32]bool{9: true},
				RemoteFlags: map[uint32]string{9: "S"}, Arrived: map[uint32]Identity{9: tc.arrived}}
			got := lines(Plan([]FolderInput{inbox, archive}, defPolicy))
			if got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
	// one to one: two arrivals of one identity take one file
	inbox := FolderInput{Name: "INBOX", Pairs: pairs(state.Pair{UID: 5, Key: "k", Flags: "S"}), LocalUnchanged: true,
		RemoteUIDs: map[uint32]bool{}, Gone: map[string]Identity{"k": id}}
	archive := FolderInput{Name: "Archive", LocalUnchanged: true, RemoteUIDs: map[uint32]bool{8: true, 9: true},
		RemoteFlags: map[uint32]string{8: "", 9: ""}, Arrived: map[uint32]Identity{8: id, 9: id}}
	got := lines(Plan([]FolderInput{inbox, archive}, defPolicy))
	if strings.Count(got, "move-in") != 1 || strings.Count(got, "fetch") != 1 || strings.Contains(got, "delete") {
		t.Errorf("two copies arrived, one file gone:\n%s", got)
	}
}

func TestMassDeleteGuard(t *testing.T) {
	var ps []state.Pair
	local := map[string]Local{}
	remote := map[uint32]bool{}
	for i := 1; i <= 30; i++ {
		k := fmt.Sprint("k", i)
		ps = append(ps, state.Pair{UID: uint32(i), Key: k})
		local[k] = Local{Key: k}
	}
	in := FolderInput{Name: "INBOX", Pairs: ps, Local: local, RemoteUIDs: remote} // server shows an empty folder
	fp := PlanFolder(in, defPolicy)
	if fp.Blocked == "" || len(fp.Actions) != 0 || !strings.Contains(fp.Blocked, `--force-delete "INBOX"`) {
		t.Fatalf("guard did not hold: %+v", fp)
	}
	p := defPolicy
	p.ForceDelete = map[string]bool{"INBOX": true}
	fp = PlanFolder(in, p)
	if fp.Blocked != "" || len(fp.Actions) != 30 {
		t.Fatalf("force-delete: blocked %q, %d actions", fp.Blocked, len(fp.Actions))
	}
	// 10 of 30 is under 50%
	for i := 1; i <= 20; i++ {
		remote[uint32(i)] = true
	}
	fp = PlanFolder(in, defPolicy)
	if fp.Blocked != "" || len(fp.Actions) != 10 {
		t.Fatalf("10 deletions: blocked %q, %d actions", fp.Blocked, len(fp.Actions))
	}
	// small folders are not guarded by percentage
	small := FolderInput{Name: "S", Pairs: ps[:5], Local: map[string]Local{}, RemoteUIDs: map[uint32]bool{1: true, 2: true, 3: true, 4: true, 5: true}}
	if fp := PlanFolder(small, defPolicy); fp.Blocked != "" {
		t.Fatalf("small folder blocked: %s", fp.Blocked)
	}
	// an absolute count applies to any folder
	p = defPolicy
	p.MaxDeleteCount = 2
	if fp := PlanFolder(small, p); fp.Blocked == "" {
		t.Fatal("max_delete=2 did not hold 5 deletions")
	}
}

// ---- model-based fuzzing: random histories on both sides must converge ----

type msg struct {
	id    int // content identity
	flags string
}

type world struct {
	server  map[uint32]msg
	nextUID uint32
	local   map[string]msg
	nextKey int
	pairs   map[uint32]state.Pair // by uid (tombstones with uid 0 kept by key)
	tombs   map[string]state.Pair
	deleted map[int]bool // content ids the user deleted on some side
	nextID  int
}

func newWorld() *world {
	return &world{server: map[uint32]msg{}, nextUID: 1, local: map[string]msg{}, pairs: map[uint32]state.Pair{}, tombs: map[string]state.Pair{}, deleted: map[int]bool{}}
}

func randFlags(r *rand.Rand) string {
	var b strings.Builder
	for _, f := range syncedFlags {
		if r.Intn(3) == 0 {
			b.WriteRune(f)
		}
	}
	return b.String()
}

func (w *world) mutate(r *rand.Rand) {
	for n := r.Intn(6); n > 0; n-- {
		switch r.Intn(6) {
		case 0: // new on server
			w.nextID++
			w.server[w.nextUID] = msg{w.nextID, randFlags(r)}
			w.nextUID++
		case 1: // new locally
			w.nextID++
			w.nextKey++
			w.local[fmt.Sprint("k", w.nextKey)] = msg{w.nextID, randFlags(r)}
		case 2: // server flag change
			for u, m := range w.server {
				m.flags = randFlags(r)
				w.server[u] = m
				break
			}
		case 3: // local flag change
			for k, m := range w.local {
				m.flags = randFlags(r)
				w.local[k] = m
				break
			}
		case 4: // server expunge
			for u, m := range w.server {
				delete(w.server, u)
				w.deleted[m.id] = true
				break
			}
		case 5: // local delete
			for k, m := range w.local {
				delete(w.local, k)
				w.deleted[m.id] = true
				break
			}
		}
	}
}

// sync plans with full knowledge and applies the plan to the model, as the
// executor does to the real sides.
func (w *world) sync(t *testing.T) {
	in := FolderInput{Name: "INBOX", Local: map[string]Local{}, RemoteUIDs: map[uint32]bool{}, RemoteFlags: map[uint32]string{}, Matches: map[string]uint32{}}
	for _, p := range w.pairs {
		in.Pairs = append(in.Pairs, p)
	}
	for _, p := range w.tombs {
		in.Pairs = append(in.Pairs, p)
	}
	sort.Slice(in.Pairs, func(i, j int) bool {
		return in.Pairs[i].UID < in.Pairs[j].UID || in.Pairs[i].UID == in.Pairs[j].UID && in.Pairs[i].Key < in.Pairs[j].Key
	})
	for k, m := range w.local {
		in.Local[k] = Local{Key: k, Flags: m.flags}
	}
	pairedK, pairedU := map[string]bool{}, map[uint32]bool{}
	for _, p := range in.Pairs {
		pairedK[p.Key], pairedU[p.UID] = true, true
	}
	byID := map[int]uint32{}
	for u, m := range w.server {
		in.RemoteUIDs[u] = true
		in.RemoteFlags[u] = m.flags
		if !pairedU[u] {
			byID[m.id] = u
		}
	}
	for k, m := range w.local {
		if u, ok := byID[m.id]; ok && !pairedK[k] {
			in.Matches[k] = u
			delete(byID, m.id)
		}
	}
	fp := PlanFolder(in, Policy{Expunge: SidesBoth, MaxDeleteCount: -1, MaxDeletePercent: 100})
	for _, a := range fp.Actions {
		switch a.Op {
		case OpFetch:
			w.nextKey++
			k := fmt.Sprint("k", w.nextKey)
			w.local[k] = msg{w.server[a.UID].id, a.Flags}
			w.pairs[a.UID] = state.Pair{UID: a.UID, Key: k, Flags: a.Flags}
		case OpAppend:
			u := w.nextUID
			w.nextUID++
			w.server[u] = msg{w.local[a.Key].id, a.Flags}
			w.pairs[u] = state.Pair{UID: u, Key: a.Key, Flags: a.Flags}
		case OpStoreFlags:
			m := w.server[a.UID]
			m.flags = a.Flags
			w.server[a.UID] = m
			w.pairs[a.UID] = state.Pair{UID: a.UID, Key: a.Key, Flags: a.Flags}
		case OpSetLocalFlags:
			m := w.local[a.Key]
			m.flags = a.Flags
			w.local[a.Key] = m
			w.pairs[a.UID] = state.Pair{UID: a.UID, Key: a.Key, Flags: a.Flags}
		case OpLink, OpUpdateBase:
			w.pairs[a.UID] = state.Pair{UID: a.UID, Key: a.Key, Flags: a.Flags}
		case OpDeleteLocal:
			delete(w.local, a.Key)
			delete(w.pairs, a.UID)
		case OpExpunge:
			delete(w.server, a.UID)
			delete(w.pairs, a.UID)
		case OpForget:
			delete(w.pairs, a.UID)
		default:
			t.Fatalf("unexpected action %v", a)
		}
	}
}

func (w *world) check(t *testing.T, alive map[int]bool) {
	t.Helper()
	srv, loc := map[int]string{}, map[int]string{}
	for _, m := range w.server {
		if _, dup := srv[m.id]; dup {
			t.Fatalf("duplicate on server: %d", m.id)
		}
		srv[m.id] = m.flags
	}
	for _, m := range w.local {
		if _, dup := loc[m.id]; dup {
			t.Fatalf("duplicate locally: %d", m.id)
		}
		loc[m.id] = m.flags
	}
	if len(srv) != len(loc) {
		t.Fatalf("sides differ: server %v local %v", srv, loc)
	}
	for id, f := range srv {
		lf, ok := loc[id]
		if !ok || lf != f {
			t.Fatalf("message %d: server [%s] local [%s] %v", id, f, lf, ok)
		}
	}
	if len(w.pairs) != len(srv) {
		t.Fatalf("%d pairs for %d messages", len(w.pairs), len(srv))
	}
	for id := range alive {
		if _, ok := srv[id]; !ok && !w.deleted[id] {
			t.Fatalf("message %d lost without a user deletion", id)
		}
	}
}

func runHistory(t *testing.T, seed int64, rounds int) {
	r := rand.New(rand.NewSource(seed))
	w := newWorld()
	for i := 0; i < rounds; i++ {
		w.mutate(r)
		alive := map[int]bool{}
		for _, m := range w.server {
			alive[m.id] = true
		}
		for _, m := range w.local {
			alive[m.id] = true
		}
		w.sync(t)
		w.check(t, alive)
		// a second sync right after must be a no-op
		before := fmt.Sprint(len(w.server), len(w.local), w.nextUID, w.nextKey)
		w.sync(t)
		if after := fmt.Sprint(len(w.server), len(w.local), w.nextUID, w.nextKey); after != before {
			t.Fatalf("second sync changed things: %s -> %s", before, after)
		}
	}
}

func TestRandomHistories(t *testing.T) {
	for seed := int64(0); seed < 300; seed++ {
		runHistory(t, seed, 20)
	}
}

func FuzzPlanConverges(f *testing.F) {
	for _, s := range []int64{1, 2, 3, 42} {
		f.Add(s, uint8(10))
	}
	f.Fuzz(func(t *testing.T, seed int64, rounds uint8) {
		runHistory(t, seed, int(rounds%40)+1)
	})
}

// TestPlanLocalOnlyFlags: letters the folder cannot keep on the server
// (PERMANENTFLAGS without $Forwarded) are never stored there, never taken
// for a removal there, and stay on the local file.
func TestPlanLocalOnlyFlags(t *testing.T) {
	tests := []struct {
		name          string
		base, l, r    string
		wantStoreAdd  string
		wantLocal     string // "" = no local change
		wantNoActions bool
	}{
		{"local P and S: only S goes up", "", "PS", "", "S", "", false},
		{"P stays after the server's change", "S", "PS", "FS", "", "FPS", false},
		{"an old base with P is no removal", "PS", "PS", "S", "", "", true},
		{"nothing but P", "", "P", "", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := FolderInput{Name: "INBOX", Pairs: []state.Pair{{UID: 1, Key: "k", Flags: tc.base}},
				Local: map[string]Local{"k": {Key: "k", Flags: tc.l}}, RemoteUIDs: map[uint32]bool{1: true},
				RemoteFlags: map[uint32]string{1: tc.r}, LocalOnly: "P"}
			fp := PlanFolder(in, Policy{Expunge: SidesBoth, MaxDeletePercent: 100, MaxDeleteCount: -1})
			var add, local string
			for _, a := range fp.Actions {
				switch a.Op {
				case OpStoreFlags:
					add = a.Add
					if strings.Contains(a.Add+a.Remove, "P") {
						t.Errorf("P sent to the server: %+v", a)
					}
				case OpSetLocalFlags:
					local = a.Flags
				case OpUpdateBase, OpLink:
				default:
					t.Errorf("unexpected %+v", a)
				}
			}
			if add != tc.wantStoreAdd || local != tc.wantLocal {
				t.Errorf("store +%q, local %q; want +%q, %q (%v)", add, local, tc.wantStoreAdd, tc.wantLocal, fp.Actions)
			}
			if tc.wantNoActions && (add != "" || local != "") {
				t.Errorf("actions %v", fp.Actions)
			}
		})
	}
}
