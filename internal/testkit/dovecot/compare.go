package dovecot

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/maildir"
)

// Msg is a message as both sides can show it: the SHA-256 of its content
// with line endings normalised, and its flags as Maildir letters (only the
// six that sync: D F P R S T).
type Msg struct {
	SHA256 string
	Flags  string
}

var imapLetters = map[string]string{`\draft`: "D", `\flagged`: "F", `$forwarded`: "P", `\answered`: "R", `\seen`: "S", `\deleted`: "T"}

func letters(s string) string {
	var b []string
	for _, r := range s {
		if strings.ContainsRune("DFPRST", r) {
			b = append(b, string(r))
		}
	}
	sort.Strings(b)
	return strings.Join(b, "")
}

func sortMsgs(m map[string][]Msg) map[string][]Msg {
	for _, v := range m {
		sort.Slice(v, func(i, j int) bool { return v[i].SHA256+v[i].Flags < v[j].SHA256+v[j].Flags })
	}
	return m
}

// ServerState returns every selectable folder of user with its messages.
func (d *Server) ServerState(t testing.TB, user string) map[string][]Msg {
	t.Helper()
	out := map[string][]Msg{}
	for folder, msgs := range d.Snapshot(t, user) {
		out[folder] = []Msg{}
		for _, m := range msgs {
			var fl string
			for _, f := range m.Flags {
				fl += imapLetters[strings.ToLower(f)]
			}
			out[folder] = append(out[folder], Msg{m.SHA256, letters(fl)})
		}
	}
	return sortMsgs(out)
}

// ClientState is ServerState through an open, logged-in connection (for
// servers other than this package's Dovecot).
func ClientState(t testing.TB, c *imapclient.Client) map[string][]Msg {
	t.Helper()
	names, err := listFolders(c)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]Msg{}
	for _, name := range names {
		msgs, err := snapshotFolder(c, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = []Msg{}
		for _, m := range msgs {
			var fl string
			for _, f := range m.Flags {
				fl += imapLetters[strings.ToLower(f)]
			}
			out[name] = append(out[name], Msg{m.SHA256, letters(fl)})
		}
	}
	return sortMsgs(out)
}

// LocalState returns every folder of a verbatim Maildir tree with its
// messages.
func LocalState(t testing.TB, root string) map[string][]Msg {
	t.Helper()
	store, err := maildir.OpenWith(root, maildir.Options{Layout: maildir.Verbatim})
	if err != nil {
		t.Fatal(err)
	}
	names, err := store.Folders('/')
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]Msg{}
	for _, n := range names {
		f, err := store.Folder(n, '/')
		if err != nil {
			t.Fatal(err)
		}
		msgs, _, err := f.ScanNames()
		if err != nil {
			t.Fatal(err)
		}
		out[n] = []Msg{}
		for _, m := range msgs {
			b, err := os.ReadFile(filepath.Join(f.Path(), map[bool]string{true: "new", false: "cur"}[m.New], m.Name))
			if err != nil {
				t.Fatal(err)
			}
			out[n] = append(out[n], Msg{BodySHA256(b), letters(m.Flags)})
		}
	}
	return sortMsgs(out)
}

// Diff describes how two states differ, or returns "".
func Diff(a, b map[string][]Msg) string {
	var out []string
	names := map[string]bool{}
	for n := range a {
		names[n] = true
	}
	for n := range b {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if fmt.Sprint(a[n]) != fmt.Sprint(b[n]) {
			out = append(out, fmt.Sprintf("%s: %d vs %d messages: %s", n, len(a[n]), len(b[n]), short(a[n], b[n])))
		}
	}
	return strings.Join(out, "\n")
}

func short(a, b []Msg) string {
	count := func(ms []Msg) map[Msg]int {
		m := map[Msg]int{}
		for _, x := range ms {
			m[x]++
		}
		return m
	}
	ca, cb := count(a), count(b)
	var d []string
	for m, n := range ca {
		if cb[m] != n {
			d = append(d, fmt.Sprintf("%s[%s] %d/%d", m.SHA256[:8], m.Flags, n, cb[m]))
		}
	}
	for m, n := range cb {
		if _, ok := ca[m]; !ok {
			d = append(d, fmt.Sprintf("%s[%s] 0/%d", m.SHA256[:8], m.Flags, n))
		}
	}
	sort.Strings(d)
	if len(d) > 10 {
		d = append(d[:10], "...")
	}
	return strings.Join(d, " ")
}

// Duplicates lists content that occurs more than once in a folder.
func Duplicates(s map[string][]Msg) []string {
	var out []string
	for f, ms := range s {
		seen := map[string]int{}
		for _, m := range ms {
			seen[m.SHA256]++
		}
		for sha, n := range seen {
			if n > 1 {
				out = append(out, fmt.Sprintf("%s: %s x%d", f, sha[:8], n))
			}
		}
	}
	sort.Strings(out)
	return out
}
