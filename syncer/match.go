package syncer

import (
	"fmt"
	"sort"

	"github.com/mdsync/mdsync/internal/imapconn"
)

// matchContent links messages new on both sides that are the same message,
// so that a lost state, a crash between an upload and its record, a move, a
// UIDVALIDITY change, or a tree another tool synced never make duplicates.
//
// The rule (identity.go): two messages are the same when their headers,
// less the fields sync and delivery tools add, are equal and so are their
// bodies. The fast path needs no body: an equal Message-ID, an equal size
// and equal headers. Otherwise (a file that another tool gave an X-TUID,
// or one without Message-ID) the bodies of the server messages whose
// headers and body sizes match a local file's are fetched and compared.
// Matching is one to one, so byte-identical copies in one folder stay as
// many copies on each side.
func matchContent(c *imapconn.Conn, o Options, w *folderSync, selected bool) error {
	in := &w.in
	if in.LocalUnchanged || in.Local == nil {
		return nil
	}
	pairedK := make(map[string]bool, len(w.pairs.list))
	if !in.UIDValidityChanged {
		for _, p := range w.pairs.list {
			pairedK[p.Key] = true
		}
	}
	var ul []string
	for k := range in.Local {
		if !pairedK[k] {
			ul = append(ul, k)
		}
	}
	if len(ul) == 0 {
		return nil
	}
	sort.Strings(ul)
	w.localInfo = map[string]localFile{}
	for _, k := range ul {
		m := w.msgs[k]
		li, err := readLocalFile(m.Path(w.local))
		if err != nil {
			return fmt.Errorf("read %s: %w", m.Name, err)
		}
		w.localInfo[k] = li
		l := in.Local[k]
		l.Fingerprint = li.Fingerprint
		in.Local[k] = l
	}
	if in.RemoteUnchanged {
		return nil
	}
	pairedU := make(map[uint32]bool, len(w.pairs.list))
	if !in.UIDValidityChanged {
		for _, p := range w.pairs.list {
			pairedU[p.UID] = true
		}
	}
	var ur []uint32
	for u := range in.RemoteUIDs {
		if !pairedU[u] {
			ur = append(ur, u)
		}
	}
	if len(ur) == 0 {
		return nil
	}
	if !selected {
		return errRedo
	}
	sort.Slice(ur, func(i, j int) bool { return ur[i] < ur[j] })
	meta, err := fetchMeta(c, ur)
	if err != nil {
		return fmt.Errorf("%q: %w", w.name, err)
	}
	w.remoteMeta = meta
	in.Matches = map[string]uint32{}
	rest := matchByHeader(ul, ur, w.localInfo, meta, in.Matches)
	if len(rest.uids) == 0 {
		return nil
	}
	hashes, err := fetchBodyHashes(c, rest.uids)
	if err != nil {
		return fmt.Errorf("%q: %w", w.name, err)
	}
	matchByBody(rest, hashes, w.localInfo, meta, in.Matches)
	return nil
}

// identity is a message's header key and body size: messages that differ
// in them are never the same.
type identity struct {
	head string
	size int64
}

// bodyCandidates are the messages the fast path left whose identities
// match: uids are the server messages whose bodies must be compared.
type bodyCandidates struct {
	keys []string
	uids []uint32
}

// matchByHeader links, in order, each local message to the first unlinked
// server message with the same Message-ID, size and header key, and returns
// the messages left over that could still be the same by their bodies.
func matchByHeader(ul []string, ur []uint32, local map[string]localFile, meta map[uint32]remoteMeta, out map[string]uint32) bodyCandidates {
	type fast struct {
		mid  string
		size int64
		head string
	}
	byFast := map[fast][]uint32{}
	for _, u := range ur {
		if m := meta[u]; m.MessageID != "" && m.HeadKey != "" {
			k := fast{m.MessageID, m.Size, m.HeadKey}
			byFast[k] = append(byFast[k], u)
		}
	}
	taken := map[uint32]bool{}
	var left []string
	for _, k := range ul {
		li := local[k]
		if li.MessageID != "" && li.HeadKey != "" {
			key := fast{li.MessageID, li.CRLFSize, li.HeadKey}
			if us := byFast[key]; len(us) > 0 {
				out[k] = us[0]
				taken[us[0]] = true
				byFast[key] = us[1:]
				continue
			}
		}
		if li.HeadKey != "" {
			left = append(left, k)
		}
	}
	wanted := map[identity]bool{}
	for _, k := range left {
		wanted[identity{local[k].HeadKey, local[k].BodySize}] = true
	}
	var rest bodyCandidates
	rest.keys = left
	for _, u := range ur {
		m := meta[u]
		if !taken[u] && m.HeadKey != "" && wanted[identity{m.HeadKey, m.BodySize}] {
			rest.uids = append(rest.uids, u)
		}
	}
	return rest
}

// matchByBody links the candidates whose header keys and bodies are equal,
// in order, one to one.
func matchByBody(rest bodyCandidates, hashes map[uint32]string, local map[string]localFile, meta map[uint32]remoteMeta, out map[string]uint32) {
	type full struct {
		head string
		body string
	}
	byFull := map[full][]uint32{}
	for _, u := range rest.uids {
		if h, ok := hashes[u]; ok {
			k := full{meta[u].HeadKey, h}
			byFull[k] = append(byFull[k], u)
		}
	}
	for _, k := range rest.keys {
		li := local[k]
		key := full{li.HeadKey, li.BodyHash}
		if us := byFull[key]; len(us) > 0 {
			out[k] = us[0]
			byFull[key] = us[1:]
		}
	}
}
