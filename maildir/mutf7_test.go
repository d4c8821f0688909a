package maildir

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestNamings: the paths of the flat layout and of modified UTF-7 names,
// and their inverse.
func TestNamings(t *testing.T) {
	tests := []struct {
		o    Options
		name string
		want string // relative to root; "" means an error
	}{
		{Options{Layout: Verbatim, Names: MUTF7}, "Entwürfe", "Entw&APw-rfe"},
		{Options{Layout: Verbatim, Names: MUTF7}, "Archiv/Entwürfe", "Archiv/Entw&APw-rfe"},
		{Options{Layout: Verbatim, Names: MUTF7}, "A&B", "A&-B"},
		{Options{Layout: Verbatim, Names: MUTF7}, "INBOX/ü", "INBOX/&APw-"},
		{Options{Layout: Verbatim, Names: MUTF7}, "ü/..", "&APw-/%2E."},
		{Options{Layout: MaildirPP, Names: MUTF7}, "Entwürfe/ü", ".Entw&APw-rfe.&APw-"},
		{Options{Layout: MaildirPP, Names: MUTF7}, "INBOX", "."},
		{Options{Layout: Flat}, "INBOX", "INBOX"},
		{Options{Layout: Flat}, "INBOX/Sent", "INBOX.Sent"},
		{Options{Layout: Flat}, "Archive/2023", "Archive.2023"},
		{Options{Layout: Flat}, "a.b/c", "a%2Eb.c"},
		{Options{Layout: Flat}, ".hidden", "%2Ehidden"},
		{Options{Layout: Flat}, "Entwürfe", "Entwürfe"},
		{Options{Layout: Flat, Names: MUTF7}, "Entwürfe/2023", "Entw&APw-rfe.2023"},
	}
	for _, tc := range tests {
		s, err := OpenWith(t.TempDir(), tc.o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.NameToPath(tc.name, '/')
		if tc.want == "" {
			if err == nil {
				t.Errorf("%+v NameToPath(%q) = %q, want an error", tc.o, tc.name, got)
			}
			continue
		}
		want := filepath.Join(s.Root(), tc.want)
		if err != nil || got != want {
			t.Errorf("%+v NameToPath(%q) = %q, %v; want %q", tc.o, tc.name, got, err, want)
			continue
		}
		if back, err := s.PathToName(got, '/'); err != nil || back != tc.name {
			t.Errorf("%+v PathToName(%q) = %q, %v; want %q", tc.o, got, back, err, tc.name)
		}
	}
}

// TestFoldersMUTF7AndFlat: Folders lists the folders of such trees by
// their UTF-8 names, and skips directories that are not the image of one.
func TestFoldersMUTF7AndFlat(t *testing.T) {
	for _, o := range []Options{{Layout: Verbatim, Names: MUTF7}, {Layout: Flat, Names: MUTF7}, {Layout: Flat}} {
		s, err := OpenWith(t.TempDir(), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"INBOX", "Entwürfe", "Archive/2023", "INBOX/Sent"} {
			if _, err := s.CreateFolder(n, '/'); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Folders('/')
		if err != nil {
			t.Fatal(err)
		}
		// (in the verbatim layout Archive has no cur/ and new/: not a folder)
		want := []string{"Archive/2023", "Entwürfe", "INBOX", "INBOX/Sent"}
		if len(got) != len(want) {
			t.Fatalf("%+v: folders %q, want %q", o, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%+v: folders %q, want %q", o, got, want)
			}
		}
	}
}

// TestUnmapped: a folder whose directory name holds the server's
// delimiter is no folder name, and is listed as unmapped, not dropped.
func TestUnmapped(t *testing.T) {
	s, err := OpenWith(t.TempDir(), Options{Layout: Verbatim})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"INBOX", "Notes.old", "Archive/2023.q1", "Plain"} {
		if _, err := s.CreateFolder(n, '/'); err != nil {
			t.Fatal(err)
		}
	}
	names, _ := s.Folders('.')
	un, err := s.Unmapped('.')
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(names) != "[INBOX Plain]" || fmt.Sprint(un) != "[Archive/2023.q1 Notes.old]" {
		t.Errorf("folders %v, unmapped %v", names, un)
	}
	if un, _ := s.Unmapped('/'); len(un) != 0 {
		t.Errorf("unmapped with '/': %v", un)
	}
}

// TestHasFolder: a tree with a folder, however deep, has one; an empty
// root, or one holding only other files and directories, has none.
func TestHasFolder(t *testing.T) {
	for _, o := range []Options{{Layout: Verbatim}, {Layout: MaildirPP}, {Layout: Flat}} {
		s, err := OpenWith(t.TempDir(), o)
		if err != nil {
			t.Fatal(err)
		}
		if s.HasFolder() {
			t.Errorf("%v: an empty root has a folder", o.Layout)
		}
		os.MkdirAll(filepath.Join(s.Root(), "notes", "x"), 0o700)
		if s.HasFolder() {
			t.Errorf("%v: a plain directory taken for a folder", o.Layout)
		}
		name := "INBOX"
		if o.Layout == Verbatim {
			name = "Archive/2023/Q1"
		}
		if _, err := s.CreateFolder(name, '/'); err != nil {
			t.Fatal(err)
		}
		if !s.HasFolder() {
			t.Errorf("%v: %s not found", o.Layout, name)
		}
	}
}
