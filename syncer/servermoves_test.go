package syncer

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/mdsync/mdsync/state"
)

// serverMoveCase builds folders whose messages random other clients moved
// between them, expunged, flagged or added anew, with identities that may
// collide (copies of one message), and returns the planner's inputs.
func serverMoveCase(seed int64) []FolderInput {
	r := rand.New(rand.NewSource(seed))
	nf := 2 + r.Intn(3)
	ins := make([]FolderInput, nf)
	ids := []Identity{}
	for i := 0; i < 6; i++ {
		ids = append(ids, Identity{MessageID: fmt.Sprintf("<%d@x>", i), Size: int64(100 + i%3), HeadKey: fmt.Sprintf("h%d", i%4)})
	}
	for f := range ins {
		in := FolderInput{Name: fmt.Sprintf("F%d", f), RemoteUIDs: map[uint32]bool{}, RemoteFlags: map[uint32]string{},
			Gone: map[string]Identity{}, Arrived: map[uint32]Identity{}, LocalUnchanged: r.Intn(2) == 0}
		if !in.LocalUnchanged {
			in.Local = map[string]Local{}
		}
		n := 1 + r.Intn(6)
		for k := 0; k < n; k++ {
			uid := uint32(k + 1)
			key := fmt.Sprintf("f%dk%d", f, k)
			id := ids[r.Intn(len(ids))]
			flags := []string{"", "S", "FS"}[r.Intn(3)]
			in.Pairs = append(in.Pairs, state.Pair{UID: uid, Key: key, Flags: flags, MessageID: id.MessageID, Size: id.Size})
			if in.Local != nil {
				in.Local[key] = Local{Key: key, Flags: []string{flags, "S", "FRS"}[r.Intn(3)]}
			}
			if r.Intn(3) == 0 { // gone from the server (moved or expunged)
				in.Gone[key] = id
				continue
			}
			in.RemoteUIDs[uid] = true
		}
		for k := 0; k < r.Intn(4); k++ { // new on the server (moved here or new)
			uid := uint32(100 + k)
			in.RemoteUIDs[uid] = true
			in.RemoteFlags[uid] = []string{"", "S", "RS"}[r.Intn(3)]
			in.Arrived[uid] = ids[r.Intn(len(ids))]
		}
		ins[f] = in
	}
	return ins
}

// checkServerMoves: every message gone from a folder's server side is
// either deleted locally or moved into exactly one other folder, never
// both; every new server message is downloaded or moved in, once; a
// move-in joins equal identities of two different folders, one to one.
func checkServerMoves(t *testing.T, ins []FolderInput, plans []FolderPlan) {
	t.Helper()
	byName := map[string]int{}
	for i, in := range ins {
		byName[in.Name] = i
	}
	movedKey := map[string]int{} // "folder/key" -> times moved in
	for j, fp := range plans {
		in := ins[j]
		taken := map[uint32]int{}
		for _, a := range fp.Actions {
			switch a.Op {
			case OpFetch:
				taken[a.UID]++
			case OpMoveIn:
				taken[a.UID]++
				src, ok := byName[a.From]
				if !ok || src == j {
					t.Fatalf("move-in from %q into %q", a.From, in.Name)
				}
				gone, ok := ins[src].Gone[a.Key]
				if !ok || gone != in.Arrived[a.UID] {
					t.Fatalf("move-in of %s/%s (%+v) as uid %d (%+v): not the same message", a.From, a.Key, gone, a.UID, in.Arrived[a.UID])
				}
				movedKey[a.From+"/"+a.Key]++
			}
		}
		for u, n := range taken {
			if n != 1 {
				t.Fatalf("%s: uid %d taken %d times", in.Name, u, n)
			}
		}
		for u := range in.Arrived {
			if taken[u] != 1 {
				t.Fatalf("%s: new uid %d neither downloaded nor moved in:\n%v", in.Name, u, fp.Actions)
			}
		}
	}
	for i, fp := range plans {
		deleted := map[string]bool{}
		for _, a := range fp.Actions {
			if a.Op == OpDeleteLocal {
				deleted[a.Key] = true
			}
		}
		for key := range ins[i].Gone {
			moved := movedKey[ins[i].Name+"/"+key]
			if moved > 1 || (moved == 1) == deleted[key] {
				t.Fatalf("%s/%s: moved in %d times, deleted %v", ins[i].Name, key, moved, deleted[key])
			}
		}
	}
}

func TestServerMovesRandom(t *testing.T) {
	for seed := int64(0); seed < 2000; seed++ {
		ins := serverMoveCase(seed)
		checkServerMoves(t, ins, Plan(ins, Policy{Expunge: SidesBoth, MaxDeletePercent: 100, MaxDeleteCount: -1}))
	}
}

func FuzzServerMoves(f *testing.F) {
	for _, s := range []int64{1, 7, 42} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed int64) {
		ins := serverMoveCase(seed)
		checkServerMoves(t, ins, Plan(ins, Policy{Expunge: SidesBoth, MaxDeletePercent: 100, MaxDeleteCount: -1}))
	})
}
