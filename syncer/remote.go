package syncer

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/internal/msgio"
)

// imapToLetter maps the IMAP flags that mdsync synchronises to Maildir
// letters.
var imapToLetter = map[imap.Flag]byte{
	imap.FlagDraft:     'D',
	imap.FlagFlagged:   'F',
	imap.FlagForwarded: 'P',
	imap.FlagAnswered:  'R',
	imap.FlagSeen:      'S',
	imap.FlagDeleted:   'T',
}

var letterToIMAP = map[byte]imap.Flag{}

func init() {
	for f, l := range imapToLetter {
		letterToIMAP[l] = f
	}
}

// lettersOf converts IMAP flags to sorted Maildir letters; keywords other
// than $Forwarded are not synchronised and are dropped here (they stay on
// the server untouched).
func lettersOf(flags []imap.Flag) string {
	var b []byte
	for _, f := range flags {
		for k, l := range imapToLetter {
			if strings.EqualFold(string(k), string(f)) {
				b = append(b, l)
			}
		}
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return synced(string(b))
}

// flagsOf converts Maildir letters to IMAP flags.
func flagsOf(letters string) []imap.Flag {
	var out []imap.Flag
	for i := 0; i < len(letters); i++ {
		if f, ok := letterToIMAP[letters[i]]; ok {
			out = append(out, f)
		}
	}
	return out
}

// remoteFolder is a folder as LIST (with STATUS) shows it.
type remoteFolder struct {
	Name   string
	Delim  rune
	Status *imap.StatusData
}

// listResult is the outcome of a LIST sent ahead (pipelined with LOGIN).
type listResult struct {
	ld  []*imap.ListData
	err error
}

// statusItems are the numbers that tell whether a folder changed.
func statusItems(condstore bool) *imap.StatusOptions {
	return &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, HighestModSeq: condstore}
}

// startList sends LIST "" "*" RETURN (STATUS (...)) before the server's
// capabilities are known (it shares LOGIN's round trip) and collects the
// answer in the background. A server without LIST-STATUS or CONDSTORE
// answers BAD, and listFolders falls back.
func startList(c *imapclient.Client) <-chan listResult {
	ch := make(chan listResult, 1)
	cmd := c.List("", "*", &imap.ListOptions{ReturnStatus: statusItems(true)})
	go func() {
		ld, err := cmd.Collect()
		ch <- listResult{ld, err}
	}()
	return ch
}

// listFolders lists every selectable folder with its status numbers: from
// the LIST sent ahead when there is one and it worked, else in one round
// trip where the server has LIST-STATUS, else with pipelined STATUS.
func listFolders(c *imapconn.Conn, ahead <-chan listResult) ([]remoteFolder, error) {
	condstore := c.Caps.Has(imap.CapCondStore)
	so := statusItems(condstore)
	var ld []*imap.ListData
	var err error
	if ahead != nil {
		r := <-ahead
		ld, err = r.ld, r.err
		var ie *imap.Error
		if errors.As(err, &ie) {
			ld, err = nil, nil // refused: ask again the way the server supports
		}
		if err != nil {
			return nil, fmt.Errorf("list folders: %w", err)
		}
	}
	if ld == nil {
		opts := &imap.ListOptions{}
		if c.Caps.Has(imap.CapListStatus) || c.Caps.Has(imap.CapIMAP4rev2) {
			opts.ReturnStatus = so
		}
		if ld, err = c.List("", "*", opts).Collect(); err != nil {
			return nil, fmt.Errorf("list folders: %w", err)
		}
	}
	var out []remoteFolder
	for _, l := range ld {
		skip := false
		for _, a := range l.Attrs {
			if a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrNonExistent {
				skip = true
			}
		}
		if skip {
			continue
		}
		name := l.Mailbox
		if strings.EqualFold(name, "INBOX") {
			name = "INBOX"
		}
		out = append(out, remoteFolder{Name: name, Delim: l.Delim, Status: l.Status})
	}
	// Folders the LIST came without numbers for: pipelined STATUS (all
	// sent, then each awaited).
	cmds := make([]*imapclient.StatusCommand, len(out))
	for i := range out {
		if out[i].Status == nil {
			cmds[i] = c.Status(out[i].Name, so)
		}
	}
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		sd, err := cmd.Wait()
		if err != nil {
			return nil, fmt.Errorf("status %q: %w", out[i].Name, err)
		}
		out[i].Status = sd
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// flagListing is the result of a UID FETCH of flags.
type flagListing struct {
	Flags map[uint32]string
	Sizes map[uint32]int64
	Max   uint32
}

// fetchFlags runs UID FETCH set (UID FLAGS [RFC822.SIZE]) [CHANGEDSINCE m].
func fetchFlags(c *imapconn.Conn, set imap.UIDSet, changedSince uint64, sizes bool) (*flagListing, error) {
	return readFlags(sendFetchFlags(c, set, changedSince, sizes), sizes)
}

// sendFetchFlags sends the UID FETCH of flags without waiting for it.
func sendFetchFlags(c *imapconn.Conn, set imap.UIDSet, changedSince uint64, sizes bool) *imapclient.FetchCommand {
	return c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, RFC822Size: sizes, ChangedSince: changedSince})
}

// fetchItems are the items of one FETCH answer read so far.
type fetchItems struct {
	uid      uint32
	flags    []imap.Flag
	gotFlags bool
	size     int64
	// internalDate is the server's arrival date, if it came before the
	// body (servers send the literal last; a date after it is not used)
	internalDate time.Time
}

// readItems reads one FETCH answer's items, handing each body section to
// body (with the items before it: the client routes an answer by its UID,
// so the UID comes before any body) until body fails.
func readItems(m *imapclient.FetchMessageData, body func(items *fetchItems, lit imap.LiteralReader) error) (fetchItems, error) {
	var out fetchItems
	for {
		it := m.Next()
		if it == nil {
			return out, nil
		}
		switch it := it.(type) {
		case imapclient.FetchItemDataUID:
			out.uid = uint32(it.UID)
		case imapclient.FetchItemDataFlags:
			out.flags, out.gotFlags = it.Flags, true
		case imapclient.FetchItemDataRFC822Size:
			out.size = it.Size
		case imapclient.FetchItemDataInternalDate:
			out.internalDate = it.Time
		case imapclient.FetchItemDataBodySection:
			if body != nil && it.Literal != nil {
				if err := body(&out, it.Literal); err != nil {
					return out, err
				}
			}
		}
	}
}

// readFlags reads the answer of sendFetchFlags.
func readFlags(fc *imapclient.FetchCommand, sizes bool) (*flagListing, error) {
	defer fc.Close()
	out := &flagListing{Flags: map[uint32]string{}, Sizes: map[uint32]int64{}}
	for {
		m := fc.Next()
		if m == nil {
			break
		}
		items, _ := readItems(m, nil)
		uid := items.uid
		if uid == 0 || !items.gotFlags {
			continue // an unsolicited FETCH (e.g. a flag change pushed by the server)
		}
		out.Flags[uid] = lettersOf(items.flags)
		if sizes {
			out.Sizes[uid] = items.size
		}
		if uid > out.Max {
			out.Max = uid
		}
	}
	if err := fc.Close(); err != nil {
		return nil, fmt.Errorf("fetch flags: %w", err)
	}
	return out, nil
}

// searchAll returns every UID of the selected folder (ESEARCH where the
// server has it, as a compact set).
func searchAll(c *imapconn.Conn) (map[uint32]bool, error) {
	var opts *imap.SearchOptions
	if c.Caps.Has(imap.CapESearch) || c.Caps.Has(imap.CapIMAP4rev2) {
		opts = &imap.SearchOptions{ReturnAll: true}
	}
	sd, err := c.UIDSearch(&imap.SearchCriteria{}, opts).Wait()
	if err != nil {
		return nil, fmt.Errorf("search all uids: %w", err)
	}
	out := map[uint32]bool{}
	for _, u := range sd.AllUIDs() {
		out[uint32(u)] = true
	}
	return out, nil
}

// remoteMeta is what content matching needs of a server message.
type remoteMeta struct {
	Size      int64
	MessageID string
	HeadKey   string // see identity.go
	BodySize  int64  // Size less the header block
}

// metaOf is what a FETCH of RFC822.SIZE and BODY.PEEK[HEADER] tells of a
// message.
func metaOf(buf *imapclient.FetchMessageBuffer) remoteMeta {
	var hdr []byte
	for _, b := range buf.BodySection {
		hdr = b.Bytes
	}
	rm := remoteMeta{Size: buf.RFC822Size, MessageID: msgio.HeaderValue(hdr, "Message-Id")}
	if len(hdr) > 0 {
		rm.HeadKey, rm.BodySize = msgio.HeadKey(hdr), buf.RFC822Size-int64(len(hdr))
	}
	return rm
}

// fetchMeta fetches the size and the header block of some messages.
func fetchMeta(c *imapconn.Conn, uids []uint32) (map[uint32]remoteMeta, error) {
	out := map[uint32]remoteMeta{}
	for _, chunk := range chunks(uids, 1000) {
		set := uidSet(chunk)
		sec := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
		fc := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{sec}})
		for {
			m := fc.Next()
			if m == nil {
				break
			}
			buf, err := m.Collect()
			if err != nil {
				fc.Close()
				return nil, fmt.Errorf("fetch message headers: %w", err)
			}
			if buf.UID == 0 {
				continue
			}
			out[uint32(buf.UID)] = metaOf(buf)
		}
		if err := fc.Close(); err != nil {
			return nil, fmt.Errorf("fetch message headers: %w", err)
		}
	}
	return out, nil
}

// fetchBodyHashes streams the bodies (BODY.PEEK[TEXT]) of some messages
// through the hash a local file's body gets (SHA-256 with LF endings).
func fetchBodyHashes(c *imapconn.Conn, uids []uint32) (map[uint32]string, error) {
	out := map[uint32]string{}
	fc := c.Fetch(uidSet(uids), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierText, Peek: true}}})
	for {
		m := fc.Next()
		if m == nil {
			break
		}
		_, err := readItems(m, func(items *fetchItems, body imap.LiteralReader) error {
			if items.uid == 0 {
				return nil
			}
			lw := msgio.NewLFWriter(io.Discard)
			n, err := io.Copy(lw, body)
			if err == nil && n != body.Size() {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				return fmt.Errorf("fetch uid %d for comparison: %w: %w", items.uid, errBodyRead, err)
			}
			lw.Flush()
			out[items.uid] = lw.Fingerprint()
			return nil
		})
		if err != nil {
			if errors.Is(err, errBodyRead) {
				c.Abort()
			} else {
				fc.Close()
			}
			return nil, err
		}
	}
	if err := fc.Close(); err != nil {
		return nil, fmt.Errorf("fetch bodies for comparison: %w", err)
	}
	return out, nil
}

// fetchBodies streams the bodies of some messages (BODY.PEEK[]) to fn, with
// their UIDs. A body whose UID the server sent after it is skipped (the
// library cannot route it before); callers fetch what is missing again. When
// fn fails the command is drained, or, if the body could not be read whole
// (errBodyRead), the connection is dropped: draining would re-read the failed
// literal concurrently with the library's reader.
// sent (if not nil) runs once the FETCH is sent, before its answer is read.
func fetchBodies(c *imapconn.Conn, uids imap.UIDSet, sent func(), fn func(uid uint32, arrived time.Time, body imap.LiteralReader) error) error {
	fc := c.Fetch(uids, &imap.FetchOptions{UID: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	if sent != nil {
		sent()
	}
	for {
		m := fc.Next()
		if m == nil {
			break
		}
		_, err := readItems(m, func(items *fetchItems, body imap.LiteralReader) error {
			if items.uid == 0 {
				return nil
			}
			return fn(items.uid, items.internalDate, body)
		})
		if err != nil {
			if errors.Is(err, errBodyRead) {
				c.Abort()
			} else {
				fc.Close()
			}
			return err
		}
	}
	if err := fc.Close(); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	return nil
}

func uidSet(uids []uint32) imap.UIDSet {
	var s imap.UIDSet
	for _, u := range uids {
		s.AddNum(imap.UID(u))
	}
	return s
}

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}
