package maildir

import (
	"bytes"
	"sort"
	"testing"

	gomaildir "github.com/emersion/go-maildir"
)

// TestGoMaildirReadsOurFiles checks that what this package writes is what
// other Maildir readers expect: emersion/go-maildir (the reference library
// of the design card) sees the same keys and flags in cur/.
func TestGoMaildirReadsOurFiles(t *testing.T) {
	s, err := OpenWith(t.TempDir(), Options{Layout: Verbatim})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.CreateFolder("INBOX", '/')
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, flags := range []string{"", "S", "FS", "DPRST", "Sa"} {
		m, err := f.Deliver(bytes.NewReader([]byte("Subject: x\n\nbody\n")), DeliverOpts{Flags: flags})
		if err != nil {
			t.Fatal(err)
		}
		if m, err = f.SetFlags(m, flags); err != nil {
			t.Fatal(err)
		}
		want[m.Key] = flags
	}
	got := map[string]string{}
	err = gomaildir.Dir(f.Path()).Walk(func(m *gomaildir.Message) error {
		var fl []string
		for _, r := range m.Flags() {
			fl = append(fl, string(r))
		}
		sort.Strings(fl)
		s := ""
		for _, x := range fl {
			s += x
		}
		got[m.Key()] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("go-maildir saw %d messages, want %d", len(got), len(want))
	}
	for k, fl := range want {
		if got[k] != fl {
			t.Errorf("key %s: go-maildir reads flags %q, want %q", k, got[k], fl)
		}
	}
}
