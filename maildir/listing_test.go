package maildir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListingTracksChanges: the listing before plus what a Folder changed
// equals the listing read afterwards, whatever the Folder did; a change
// made behind its back makes them differ.
func TestListingTracksChanges(t *testing.T) {
	deliver := func(t *testing.T, f *Folder, o DeliverOpts) Message {
		t.Helper()
		m, err := f.Deliver(strings.NewReader("Subject: x\n\nbody\n"), o)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := []struct {
		name    string
		do      func(t *testing.T, f, other *Folder, ms []Message)
		foreign bool // the test changes the folder behind the Folder's back
	}{
		{"nothing", func(t *testing.T, f, _ *Folder, _ []Message) {}, false},
		{"deliver new and cur", func(t *testing.T, f, _ *Folder, _ []Message) {
			deliver(t, f, DeliverOpts{New: true})
			deliver(t, f, DeliverOpts{Flags: "FS", NoDirSync: true})
		}, false},
		{"set flags, new to cur", func(t *testing.T, f, _ *Folder, ms []Message) {
			for _, m := range ms {
				if _, err := f.SetFlags(m, "RS"); err != nil {
					t.Fatal(err)
				}
			}
		}, false},
		{"set flags already done by someone", func(t *testing.T, f, _ *Folder, ms []Message) {
			m := ms[1]
			to := filepath.Join(f.Path(), "cur", curName(m.Key, "S", m.Name))
			if err := os.Rename(m.Path(f), to); err != nil {
				t.Fatal(err)
			}
			if _, err := f.SetFlags(m, "S"); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"remove, one already gone", func(t *testing.T, f, _ *Folder, ms []Message) {
			os.Remove(ms[0].Path(f))
			for _, m := range ms {
				if err := f.Remove(m); err != nil {
					t.Fatal(err)
				}
			}
		}, false},
		{"to cur and move out", func(t *testing.T, f, other *Folder, ms []Message) {
			m, err := f.ToCur(ms[0])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.MoveTo(m, other); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"a foreign rename", func(t *testing.T, f, _ *Folder, ms []Message) {
			if _, err := f.SetFlags(ms[0], "S"); err != nil {
				t.Fatal(err)
			}
			m := ms[1]
			if err := os.Rename(m.Path(f), filepath.Join(f.Path(), "cur", curName(m.Key, "F", m.Name))); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a foreign file in new", func(t *testing.T, f, _ *Folder, _ []Message) {
			writeFile(t, filepath.Join(f.Path(), "new", "123.foreign"), "x")
		}, true},
		{"a foreign hidden file", func(t *testing.T, f, _ *Folder, _ []Message) {
			writeFile(t, filepath.Join(f.Path(), "cur", ".hidden"), "x")
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenWith(t.TempDir(), Options{Layout: Verbatim})
			if err != nil {
				t.Fatal(err)
			}
			seed, _ := s.CreateFolder("INBOX", '/')
			ms := []Message{deliver(t, seed, DeliverOpts{New: true}), deliver(t, seed, DeliverOpts{Flags: "S"}), deliver(t, seed, DeliverOpts{})}
			other, _ := s.CreateFolder("Other", '/')
			f, _ := s.Folder("INBOX", '/') // a fresh value: no changes yet
			_, before, _, err := f.ScanListing()
			if err != nil {
				t.Fatal(err)
			}
			otherBefore, _ := other.ReadListing()
			tc.do(t, f, other, ms)
			after, err := f.ReadListing()
			if err != nil {
				t.Fatal(err)
			}
			if got := before.Plus(f.Changes()); (got == after) == tc.foreign {
				t.Errorf("before+changes = %v, after = %v; foreign change %v", got, after, tc.foreign)
			}
			if oa, _ := other.ReadListing(); otherBefore.Plus(other.Changes()) != oa {
				t.Errorf("other folder: before+changes %v, after %v", otherBefore.Plus(other.Changes()), oa)
			}
			if p, err := ParseListing(after.String()); err != nil || p != after {
				t.Errorf("ParseListing(%q) = %v, %v", after.String(), p, err)
			}
		})
	}
	if _, err := ParseListing("zz"); err == nil {
		t.Error("ParseListing accepted garbage")
	}
	var empty Listing
	f := newFolder(t, Verbatim, "E")
	if l, err := f.ReadListing(); err != nil || l != empty {
		t.Errorf("empty folder: %v %v", l, err)
	}
}

// TestScanUnless: the names are parsed only when the listing differs.
func TestScanUnless(t *testing.T) {
	f := newFolder(t, Verbatim, "INBOX")
	if _, err := f.Deliver(strings.NewReader("Subject: a\n\nx\n"), DeliverOpts{Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	_, l, _, err := f.ScanListing()
	if err != nil {
		t.Fatal(err)
	}
	msgs, l2, _, err := f.ScanUnless(l)
	if err != nil || msgs != nil || l2 != l {
		t.Fatalf("unchanged: %v %v %v", msgs, l2 == l, err)
	}
	writeFile(t, filepath.Join(f.Path(), "new", "123.other"), "Subject: b\n\ny\n")
	msgs, l3, _, err := f.ScanUnless(l)
	if err != nil || len(msgs) != 2 || l3 == l {
		t.Fatalf("changed: %d messages, %v", len(msgs), err)
	}
}
