package maildir

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func newFolder(t testing.TB, layout Layout, name string) *Folder {
	t.Helper()
	s, err := OpenWith(t.TempDir(), Options{Layout: layout})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.CreateFolder(name, '/')
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// listDir returns "sub/name" for every entry of cur, new and tmp.
func listDir(t *testing.T, f *Folder) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"cur", "new", "tmp"} {
		ents, err := os.ReadDir(filepath.Join(f.Path(), sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			out = append(out, sub+"/"+e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

var keyRE = regexp.MustCompile(`^\d+\.M\d+P\d+Q\d+R[0-9a-f]{8}\.[^/:]+$`)

func TestDeliver(t *testing.T) {
	tests := []struct {
		opts     DeliverOpts
		wantName string // with KEY standing for the key
	}{
		{DeliverOpts{Flags: "SFS"}, "cur/KEY:2,FS"},
		{DeliverOpts{}, "cur/KEY:2,"},
		{DeliverOpts{Flags: "Sa"}, "cur/KEY:2,Sa"},
		{DeliverOpts{New: true}, "new/KEY"},
		{DeliverOpts{Key: "1.2.host,U=7", Flags: "S"}, "cur/1.2.host,U=7:2,S"},
	}
	for _, layout := range []Layout{Verbatim, MaildirPP} {
		for _, tc := range tests {
			f := newFolder(t, layout, "INBOX")
			content := strings.Repeat("Subject: hi\r\n\r\nbody line\r\n", 5000)
			h := sha256.New()
			o := tc.opts
			o.Hash = h
			m, err := f.Deliver(strings.NewReader(content), o)
			if err != nil {
				t.Fatal(err)
			}
			if o.Key == "" && !keyRE.MatchString(m.Key) {
				t.Errorf("generated key %q has the wrong form", m.Key)
			}
			want := []string{strings.ReplaceAll(tc.wantName, "KEY", m.Key)}
			if got := listDir(t, f); !reflect.DeepEqual(got, want) {
				t.Errorf("files = %q, want %q", got, want)
			}
			data, err := os.ReadFile(m.Path(f))
			if err != nil || string(data) != content {
				t.Errorf("content differs (%v)", err)
			}
			if sum := sha256.Sum256([]byte(content)); !bytes.Equal(h.Sum(nil), sum[:]) {
				t.Error("hash did not get the bytes")
			}
			if m.Size != int64(len(content)) || m.New != o.New || m.Flags != NormalizeFlags(o.Flags) {
				t.Errorf("message = %+v", m)
			}
			msgs, warns, err := f.Scan()
			if err != nil || len(warns) != 0 {
				t.Fatal(err, warns)
			}
			if got := msgs[m.Key]; len(msgs) != 1 || got.Name != m.Name || got.Size != m.Size || !got.MTime.Equal(m.MTime) {
				t.Errorf("scan = %+v, want %+v", msgs, m)
			}
		}
	}
}

func TestDeliverMTimeAndUniqueKeys(t *testing.T) {
	f := newFolder(t, Verbatim, "INBOX")
	mt := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	keys := map[string]bool{}
	for i := 0; i < 50; i++ {
		m, err := f.Deliver(strings.NewReader("x"), DeliverOpts{MTime: mt})
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(m.Path(f))
		if err != nil || !fi.ModTime().Equal(mt) || !m.MTime.Equal(mt) {
			t.Fatalf("mtime = %v / %v, want %v (%v)", fi.ModTime(), m.MTime, mt, err)
		}
		if keys[m.Key] {
			t.Fatalf("duplicate key %q", m.Key)
		}
		keys[m.Key] = true
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

func TestDeliverFailures(t *testing.T) {
	f := newFolder(t, Verbatim, "INBOX")
	if _, err := f.Deliver(&failingReader{n: 100000}, DeliverOpts{Flags: "S"}); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("err = %v, want the reader's error", err)
	}
	if _, err := f.Deliver(&failingReader{n: 10}, DeliverOpts{New: true}); err == nil {
		t.Error("want an error")
	}
	if _, err := f.Deliver(strings.NewReader("x"), DeliverOpts{New: true, Flags: "S"}); err == nil {
		t.Error("flags into new/: want an error")
	}
	if _, err := f.Deliver(strings.NewReader("x"), DeliverOpts{Flags: "S:"}); err == nil {
		t.Error("bad flag: want an error")
	}
	for _, k := range []string{"a/b", "a:b", ".x", "a!2,S", "a\x00"} {
		if _, err := f.Deliver(strings.NewReader("x"), DeliverOpts{Key: k}); err == nil {
			t.Errorf("key %q: want an error", k)
		}
	}
	if got := listDir(t, f); len(got) != 0 {
		t.Errorf("left behind: %q", got)
	}
	// A key that already exists (with other flags) is refused.
	if _, err := f.Deliver(strings.NewReader("x"), DeliverOpts{Key: "k1", Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Deliver(strings.NewReader("y"), DeliverOpts{Key: "k1", Flags: "F"}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("err = %v, want fs.ErrExist", err)
	}
	if got := listDir(t, f); !reflect.DeepEqual(got, []string{"cur/k1:2,S"}) {
		t.Errorf("files = %q", got)
	}
}

func TestDeliveryStreaming(t *testing.T) {
	f := newFolder(t, Verbatim, "Sent")
	d, err := f.NewDelivery(DeliverOpts{Flags: "S", NoDirSync: true})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(d, "part one, ")
	io.WriteString(d, "part two")
	if got := listDir(t, f); !reflect.DeepEqual(got, []string{"tmp/" + d.Key()}) {
		t.Errorf("before commit: %q", got)
	}
	m, err := d.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SyncDirs(); err != nil {
		t.Fatal(err)
	}
	if len(f.dirty) != 0 {
		t.Errorf("dirty after SyncDirs: %v", f.dirty)
	}
	if data, _ := os.ReadFile(m.Path(f)); string(data) != "part one, part two" {
		t.Errorf("content %q", data)
	}
	if _, err := d.Commit(); err == nil {
		t.Error("second Commit: want an error")
	}
	if err := d.Abort(); err != nil {
		t.Error("Abort after Commit:", err)
	}
	if _, err := os.Stat(m.Path(f)); err != nil {
		t.Error("Abort after Commit removed the message")
	}

	d2, err := f.NewDelivery(DeliverOpts{})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(d2, "discard me")
	if err := d2.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, f); !reflect.DeepEqual(got, []string{"cur/" + m.Name}) {
		t.Errorf("after abort: %q", got)
	}
}

// TestDeliverySyncThenCommit: a delivery synced while in tmp/ (Sync) and
// given its flags afterwards (SetFlags) lands under the name of those
// flags, whole; an aborted synced delivery leaves nothing.
func TestDeliverySyncThenCommit(t *testing.T) {
	for _, tc := range []struct {
		start, flags string
		want         string // the subdirectory and name suffix
	}{
		{"", "", "new/"},
		{"", "FS", "cur/:2,FS"},
		{"S", "", "new/"},
		{"S", "RS", "cur/:2,RS"},
	} {
		t.Run(tc.start+"->"+tc.flags, func(t *testing.T) {
			f := newFolder(t, Verbatim, "INBOX")
			old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC) // the message's date
			d, err := f.NewDelivery(DeliverOpts{Flags: tc.start, New: tc.start == "", NoDirSync: true, MTime: old})
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(d, "body")
			if err := d.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := d.Sync(); err == nil {
				t.Error("second Sync: want an error")
			}
			if _, err := io.WriteString(d, "more"); err == nil {
				t.Error("Write after Sync: want an error")
			}
			// waiting in tmp/, it is no orphan of an old delivery
			if err := f.CleanTmp(TmpMaxAge); err != nil {
				t.Fatal(err)
			}
			if got := listDir(t, f); !reflect.DeepEqual(got, []string{"tmp/" + d.Key()}) {
				t.Errorf("after Sync: %q", got)
			}
			if err := d.SetFlags(tc.flags); err != nil {
				t.Fatal(err)
			}
			m, err := d.Commit()
			if err != nil {
				t.Fatal(err)
			}
			sub, suffix, _ := strings.Cut(tc.want, "/")
			if got := listDir(t, f); !reflect.DeepEqual(got, []string{sub + "/" + d.Key() + suffix}) {
				t.Errorf("after Commit: %q, want %s", got, tc.want)
			}
			if data, _ := os.ReadFile(m.Path(f)); string(data) != "body" || m.Size != 4 {
				t.Errorf("content %q, size %d", data, m.Size)
			}
			fi, err := os.Stat(m.Path(f))
			if err != nil {
				t.Fatal(err)
			}
			if !fi.ModTime().Equal(old) || !m.MTime.Equal(old) {
				t.Errorf("mtime %v / %v, want %v", fi.ModTime(), m.MTime, old)
			}
		})
	}
	f := newFolder(t, Verbatim, "INBOX")
	d, _ := f.NewDelivery(DeliverOpts{New: true})
	io.WriteString(d, "gone")
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := d.SetFlags("bad flags"); err == nil {
		t.Error("SetFlags with invalid flags: want an error")
	}
	if err := d.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, f); len(got) != 0 {
		t.Errorf("after Abort: %q", got)
	}
}

func TestScan(t *testing.T) {
	f := newFolder(t, Verbatim, "INBOX")
	files := map[string]string{
		"cur/a:2,S":            "aaa",
		"cur/b!2,SF":           "bb",
		"cur/c,S=5,W=6:2,RSab": "c",
		"cur/d":                "no info in cur",
		"new/e":                "eeee",
		"new/f:2,T":            "info in new",
		"new/a":                "dup of a in new",
		"cur/g:2,F":            "dup 1",
		"cur/g:2,S":            "dup 2",
		"cur/.hidden":          "x",
		"cur/h:1,x":            "experimental",
		"cur/i:2,S:junk":       "bad info",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(f.Path(), name), content)
	}
	os.Mkdir(filepath.Join(f.Path(), "cur", "subdir"), 0o700)
	os.Symlink("/etc/passwd", filepath.Join(f.Path(), "new", "link"))
	before := listDir(t, f)

	want := map[string]Message{
		"a":         {Key: "a", Flags: "S", Name: "a:2,S", Size: 3},
		"b":         {Key: "b", Flags: "FS", Name: "b!2,SF", Size: 2},
		"c,S=5,W=6": {Key: "c,S=5,W=6", Flags: "RSab", Name: "c,S=5,W=6:2,RSab", Size: 1},
		"d":         {Key: "d", Name: "d", Size: 14},
		"e":         {Key: "e", New: true, Name: "e", Size: 4},
		"f":         {Key: "f", Flags: "T", New: true, Name: "f:2,T", Size: 11},
		"g":         {Key: "g", Flags: "F", Name: "g:2,F", Size: 5},
	}
	for _, stat := range []bool{true, false} {
		msgs, l, warns, err := f.scan(stat)
		if err != nil {
			t.Fatal(err)
		}
		if rl, err := f.ReadListing(); err != nil || rl != l {
			t.Errorf("stat=%v: scan listing %v, ReadListing %v (%v)", stat, l, rl, err)
		}
		for k, m := range msgs {
			if stat && m.MTime.IsZero() || !stat && (m.Size != 0 || !m.MTime.IsZero()) {
				t.Errorf("stat=%v %s: size %d mtime %v", stat, k, m.Size, m.MTime)
			}
			m.MTime = time.Time{}
			msgs[k] = m
		}
		w := want
		if !stat {
			w = map[string]Message{}
			for k, m := range want {
				m.Size = 0
				w[k] = m
			}
		}
		if !reflect.DeepEqual(msgs, w) {
			t.Errorf("stat=%v scan =\n%+v\nwant\n%+v", stat, msgs, w)
		}
		// .hidden, h:1,x, i:2,S:junk, subdir, link, 2 duplicates
		if len(warns) != 7 {
			t.Errorf("warnings = %d:\n%s", len(warns), strings.Join(warns, "\n"))
		}
	}
	if after := listDir(t, f); !reflect.DeepEqual(before, after) {
		t.Errorf("scan changed the folder:\n%q\n%q", before, after)
	}
}

func TestSetFlags(t *testing.T) {
	f := newFolder(t, Verbatim, "INBOX")
	m, err := f.Deliver(strings.NewReader("hello"), DeliverOpts{New: true})
	if err != nil {
		t.Fatal(err)
	}
	// No flags: stays in new/.
	same, err := f.SetFlags(m, "")
	if err != nil || same != m {
		t.Fatalf("SetFlags(\"\") = %+v, %v", same, err)
	}
	m2, err := f.SetFlags(m, "SRS")
	if err != nil {
		t.Fatal(err)
	}
	if m2.Key != m.Key || m2.New || m2.Flags != "RS" || m2.Name != m.Key+":2,RS" {
		t.Errorf("after SetFlags: %+v", m2)
	}
	if got := listDir(t, f); !reflect.DeepEqual(got, []string{"cur/" + m.Key + ":2,RS"}) {
		t.Errorf("files = %q", got)
	}
	// Idempotent, also with the stale message.
	if again, err := f.SetFlags(m2, "RS"); err != nil || again != m2 {
		t.Errorf("again = %+v, %v", again, err)
	}
	if again, err := f.SetFlags(m, "SR"); err != nil || again != m2 {
		t.Errorf("stale = %+v, %v", again, err)
	}
	m3, err := f.SetFlags(m2, "")
	if err != nil || m3.Name != m.Key+":2," || m3.New {
		t.Errorf("clear flags = %+v, %v", m3, err)
	}
	if _, err := f.SetFlags(m3, "S,"); err == nil {
		t.Error("bad flags: want an error")
	}
	// Gone.
	os.Remove(m3.Path(f))
	if _, err := f.SetFlags(m3, "F"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
	// "!2," is kept.
	writeFile(t, filepath.Join(f.Path(), "cur", "w!2,S"), "w")
	msgs, _, _ := f.ScanNames()
	w, err := f.SetFlags(msgs["w"], "FS")
	if err != nil || w.Name != "w!2,FS" {
		t.Errorf("windows name: %+v, %v", w, err)
	}
	// ToCur moves a new message without flags.
	n, err := f.Deliver(strings.NewReader("n"), DeliverOpts{New: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.ToCur(n)
	if err != nil || c.New || c.Name != n.Key+":2," {
		t.Errorf("ToCur = %+v, %v", c, err)
	}
	if _, err := os.Stat(c.Path(f)); err != nil {
		t.Error(err)
	}
}

func TestRemoveMoveLookupOpen(t *testing.T) {
	s, err := OpenWith(t.TempDir(), Options{Layout: MaildirPP})
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.CreateFolder("INBOX", '/')
	if err != nil {
		t.Fatal(err)
	}
	dst, err := s.CreateFolder("Archive", '/')
	if err != nil {
		t.Fatal(err)
	}
	a, _ := src.Deliver(strings.NewReader("a"), DeliverOpts{Flags: "S"})
	b, _ := src.Deliver(strings.NewReader("b"), DeliverOpts{New: true})

	for _, m := range []Message{a, b} {
		got, found, err := src.Lookup(m.Key)
		if err != nil || !found || got.Name != m.Name || got.New != m.New || got.Size != 1 {
			t.Errorf("Lookup(%s) = %+v, %v, %v", m.Key, got, found, err)
		}
	}
	if _, found, err := src.Lookup("nope"); found || err != nil {
		t.Errorf("Lookup(nope) = %v, %v", found, err)
	}
	if _, found, _ := src.Lookup(a.Key[:5]); found {
		t.Error("Lookup matched a key prefix")
	}

	// Open follows a rename done behind our back (e.g. by a mail reader).
	renamed := filepath.Join(src.Path(), "cur", a.Key+":2,RS")
	if err := os.Rename(a.Path(src), renamed); err != nil {
		t.Fatal(err)
	}
	fd, err := src.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(fd)
	fd.Close()
	if string(data) != "a" {
		t.Errorf("Open read %q", data)
	}
	a, _, _ = src.Lookup(a.Key)

	ma, err := src.MoveTo(a, dst)
	if err != nil || ma.Name != a.Key+":2,RS" || ma.Flags != "RS" {
		t.Fatalf("MoveTo = %+v, %v", ma, err)
	}
	mb, err := src.MoveTo(b, dst)
	if err != nil || mb.New || mb.Name != b.Key+":2," {
		t.Fatalf("MoveTo(new) = %+v, %v", mb, err)
	}
	if got := listDir(t, src); len(got) != 0 {
		t.Errorf("src still has %q", got)
	}
	msgs, _, err := dst.Scan()
	if err != nil || len(msgs) != 2 || msgs[a.Key].Flags != "RS" || msgs[b.Key].Name != mb.Name {
		t.Errorf("dst scan = %+v, %v", msgs, err)
	}

	if err := dst.Remove(ma); err != nil {
		t.Fatal(err)
	}
	if err := dst.Remove(ma); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if got := listDir(t, dst); !reflect.DeepEqual(got, []string{"cur/" + mb.Name}) {
		t.Errorf("dst = %q", got)
	}
}

func TestDirMTimes(t *testing.T) {
	f := newFolder(t, Verbatim, "INBOX")
	old := time.Unix(1000, 0)
	for _, sub := range []string{"cur", "new"} {
		if err := os.Chtimes(filepath.Join(f.Path(), sub), old, old); err != nil {
			t.Fatal(err)
		}
	}
	c0, n0, err := f.DirMTimes()
	if err != nil || c0 != old.UnixNano() || n0 != old.UnixNano() {
		t.Fatalf("DirMTimes = %d %d %v", c0, n0, err)
	}
	msgs, _, _ := f.Scan()
	if c1, n1, _ := f.DirMTimes(); c1 != c0 || n1 != n0 || len(msgs) != 0 {
		t.Error("Scan changed the directory mtimes")
	}
	if _, err := f.Deliver(strings.NewReader("x"), DeliverOpts{}); err != nil {
		t.Fatal(err)
	}
	if c1, n1, _ := f.DirMTimes(); c1 == c0 || n1 != n0 {
		t.Errorf("after delivery into cur: %d %d (was %d %d)", c1, n1, c0, n0)
	}
	if _, _, err := (&Folder{path: filepath.Join(f.Path(), "missing")}).DirMTimes(); err == nil {
		t.Error("missing folder: want an error")
	}
}

func TestCleanTmp(t *testing.T) {
	f := newFolder(t, Verbatim, "INBOX")
	oldF, newF := filepath.Join(f.Path(), "tmp", "old"), filepath.Join(f.Path(), "tmp", "fresh")
	writeFile(t, oldF, "x")
	writeFile(t, newF, "x")
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(oldF, past, past)
	if err := f.CleanTmp(36 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, f); !reflect.DeepEqual(got, []string{"tmp/fresh"}) {
		t.Errorf("tmp = %q", got)
	}
}

func TestDeferDirSync(t *testing.T) {
	f := newFolder(t, Verbatim, "INBOX")
	f.DeferDirSync = true
	m, err := f.Deliver(strings.NewReader("x"), DeliverOpts{New: true, NoDirSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.SetFlags(m, "S"); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{filepath.Join(f.Path(), "new"): true, filepath.Join(f.Path(), "cur"): true}
	if !reflect.DeepEqual(f.dirty, want) {
		t.Errorf("dirty = %v, want %v", f.dirty, want)
	}
	if err := f.SyncDirs(); err != nil || len(f.dirty) != 0 {
		t.Errorf("SyncDirs: %v, dirty %v", err, f.dirty)
	}
}

func TestPathToNameOutsideRoot(t *testing.T) {
	s, err := OpenWith(t.TempDir(), Options{Layout: Verbatim})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.Root() + "x", filepath.Dir(s.Root()), s.Root(), s.Root() + "/../x/INBOX"} {
		if n, err := s.PathToName(p, '/'); err == nil {
			t.Errorf("PathToName(%q) = %q, want error", p, n)
		}
	}
	if n, err := s.PathToName(filepath.Join(s.Root(), "INBOX", "a b"), '/'); err != nil || n != "INBOX/a b" {
		t.Errorf("absolute path: %q, %v", n, err)
	}
}

func BenchmarkScan(b *testing.B) {
	f := newFolder(b, Verbatim, "INBOX")
	for i := 0; i < 20000; i++ {
		name := filepath.Join(f.Path(), "cur", strconv.Itoa(1700000000+i)+".M1P2Q3.host,S=100:2,S")
		if err := os.WriteFile(name, nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	for _, stat := range []bool{false, true} {
		b.Run(fmt.Sprintf("stat=%v", stat), func(b *testing.B) {
			for b.Loop() {
				if msgs, _, _, err := f.scan(stat); err != nil || len(msgs) != 20000 {
					b.Fatal(err, len(msgs))
				}
			}
		})
	}
	b.Run("listing", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.ReadListing(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lookup-miss", func(b *testing.B) {
		for b.Loop() {
			if _, found, err := f.Lookup("nope"); err != nil || found {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDurableDelivery: 200 messages of 6 KB delivered durably as the
// sync does (written into tmp/, fsynced with 8 fsyncs in flight, renamed,
// one fsync of the directory). It reports the kernel CPU time per message,
// what new mail costs locally (on the 2-core benchmark VM 0.1-1.3 ms,
// varying with the disk's state from run to run).
func BenchmarkDurableDelivery(b *testing.B) {
	f := newFolder(b, Verbatim, "INBOX")
	body := strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", 94) // 6,016 bytes
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	msgs := 0
	for b.Loop() {
		sem := make(chan struct{}, 8)
		errs := make(chan error, 200)
		var wg sync.WaitGroup
		for i := 0; i < 200; i++ {
			d, err := f.NewDelivery(DeliverOpts{Flags: "S", NoDirSync: true})
			if err != nil {
				b.Fatal(err)
			}
			io.WriteString(d, body)
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := d.Sync(); err != nil {
					errs <- err
					return
				}
				if _, err := d.Commit(); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		if err := f.SyncDirs(); err != nil {
			b.Fatal(err)
		}
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		msgs += 200
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	sys := time.Duration(ru1.Stime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(sys.Microseconds())/float64(msgs), "sys-us/msg")
}
