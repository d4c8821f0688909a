package bench

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// view is one side's content: folder -> Message-ID -> flag letters, plus
// the number of messages per folder (duplicates count twice).
type view struct {
	msgs   map[string]map[string]string
	counts map[string]int
}

func newView() *view { return &view{msgs: map[string]map[string]string{}, counts: map[string]int{}} }

func (v *view) add(folder, id, flags string) {
	m := v.msgs[folder]
	if m == nil {
		m = map[string]string{}
		v.msgs[folder] = m
	}
	m[id] = flags
	v.counts[folder]++
}

var flagLetter = map[imap.Flag]byte{
	imap.FlagDraft: 'D', imap.FlagFlagged: 'F', imap.FlagAnswered: 'R', imap.FlagSeen: 'S', imap.FlagDeleted: 'T',
}

func sortedLetters(b []byte) string {
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// serverView lists every folder of the user with each message's
// Message-ID and flags.
func serverView(addr, user, pass string) (*view, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		return nil, err
	}
	defer func() { _ = c.Logout().Wait() }()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, err
	}
	v := newView()
	for _, l := range list {
		if hasAttr(l.Attrs, imap.MailboxAttrNoSelect) || hasAttr(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		name := l.Mailbox
		v.counts[name] += 0
		sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return nil, fmt.Errorf("select %s: %w", name, err)
		}
		if sel.NumMessages == 0 {
			continue
		}
		fc := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
			UID: true, Flags: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true, Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}}},
		})
		for m := fc.Next(); m != nil; m = fc.Next() {
			buf, err := m.Collect()
			if err != nil {
				fc.Close()
				return nil, err
			}
			var letters []byte
			for _, f := range buf.Flags {
				if l, ok := flagLetter[f]; ok {
					letters = append(letters, l)
				}
			}
			id := ""
			for _, body := range buf.BodySection {
				id = messageID(body.Bytes)
			}
			v.add(name, id, sortedLetters(letters))
		}
		if err := fc.Close(); err != nil {
			return nil, fmt.Errorf("fetch %s: %w", name, err)
		}
	}
	return v, nil
}

func hasAttr(as []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range as {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

// messageID extracts the Message-ID (without brackets) from a header block.
func messageID(hdr []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(hdr))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line == "\r" {
			break
		}
		if len(line) > 11 && strings.EqualFold(line[:11], "message-id:") {
			return strings.Trim(strings.TrimSpace(line[11:]), "<>")
		}
	}
	return ""
}

// walkMaildir visits a Maildir tree: folder for every directory with a
// cur/ (its path), then file for every message file (not hidden) in its
// cur/ and new/.
func walkMaildir(root string, folder func(dir string) error, file func(dir, sub string, e os.DirEntry) error) error {
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		base := d.Name()
		if path != root && (base == "cur" || base == "new" || base == "tmp" || strings.HasPrefix(base, ".")) {
			return filepath.SkipDir
		}
		if st, err := os.Stat(filepath.Join(path, "cur")); err != nil || !st.IsDir() {
			return nil
		}
		if err := folder(path); err != nil {
			return err
		}
		for _, sub := range []string{"cur", "new"} {
			ents, err := os.ReadDir(filepath.Join(path, sub))
			if err != nil {
				return err
			}
			for _, e := range ents {
				if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
					continue
				}
				if err := file(path, sub, e); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// localView scans a Maildir tree: every directory with a cur/ is a folder,
// named by its path below root ('/'-separated; mUTF-7 names decoded).
func localView(root string) (*view, error) {
	v := newView()
	buf := make([]byte, 16<<10)
	nameOf := func(dir string) string {
		rel, _ := filepath.Rel(root, dir)
		name := filepath.ToSlash(rel)
		if dec, ok := decodeMUTF7(name); ok {
			name = dec
		}
		if strings.EqualFold(name, "INBOX") {
			name = "INBOX"
		}
		return name
	}
	var name string // of the folder walkMaildir is in
	err := walkMaildir(root, func(dir string) error {
		name = nameOf(dir)
		v.counts[name] += 0 // an empty folder counts too
		return nil
	}, func(dir, sub string, e os.DirEntry) error {
		f, err := os.Open(filepath.Join(dir, sub, e.Name()))
		if err != nil {
			return err
		}
		n, err := io.ReadFull(f, buf)
		f.Close()
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return err
		}
		v.add(name, messageID(buf[:n]), fileFlags(e.Name()))
		return nil
	})
	return v, err
}

// fileFlags returns the standard flag letters of a Maildir file name.
func fileFlags(name string) string {
	i := strings.LastIndex(name, ":2,")
	if i < 0 {
		return ""
	}
	var letters []byte
	for _, c := range []byte(name[i+3:]) {
		if strings.IndexByte("DFRST", c) >= 0 {
			letters = append(letters, c)
		}
	}
	return sortedLetters(letters)
}

// compare returns "" when local holds exactly what server holds (same
// folders with messages, same counts, same flags per Message-ID), else a
// short description of the first differences.
func compare(server, local *view) string {
	var diffs []string
	names := map[string]bool{}
	for n := range server.counts {
		names[n] = true
	}
	for n, c := range local.counts {
		if c > 0 {
			names[n] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		sc, lc := server.counts[n], local.counts[n]
		if sc != lc {
			diffs = append(diffs, fmt.Sprintf("%s: %d on the server, %d local", n, sc, lc))
			continue
		}
		bad := 0
		example := ""
		for id, sf := range server.msgs[n] {
			lf, ok := local.msgs[n][id]
			if !ok || lf != sf {
				bad++
				if example == "" {
					example = fmt.Sprintf("<%s> server %q local %q (present %v)", id, sf, lf, ok)
				}
			}
		}
		if bad > 0 {
			diffs = append(diffs, fmt.Sprintf("%s: %d messages differ, e.g. %s", n, bad, example))
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("... %d more folders", len(diffs)-5))
	}
	return strings.Join(diffs, "; ")
}

// decodeMUTF7 decodes an IMAP modified UTF-7 name; ok is false when s is
// not pure mUTF-7 (e.g. already UTF-8) or has no encoded part.
func decodeMUTF7(s string) (string, bool) {
	if !strings.Contains(s, "&") {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			return "", false
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", false
		}
		enc := s[i+1 : i+1+j]
		i += j + 2
		if enc == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := base64.RawStdEncoding.DecodeString(strings.ReplaceAll(enc, ",", "/"))
		if err != nil || len(raw)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		b.WriteString(string(utf16.Decode(u)))
	}
	return b.String(), true
}
