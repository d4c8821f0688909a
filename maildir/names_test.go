package maildir

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestNameToPath(t *testing.T) {
	tests := []struct {
		layout Layout
		delim  rune
		name   string
		want   string // relative to root; "" means an error
	}{
		{Verbatim, '/', "INBOX", "INBOX"},
		{Verbatim, '/', "inbox", "INBOX"},
		{Verbatim, '/', "inbox/sub", "INBOX/sub"},
		{Verbatim, '/', "Archive/2023", "Archive/2023"},
		{Verbatim, '/', "Archive/inbox", "Archive/inbox"},
		{Verbatim, '/', "../../etc", "%2E./%2E./etc"},
		{Verbatim, '/', "a/../../b", "a/%2E./%2E./b"},
		{Verbatim, '/', "./a", "%2E/a"},
		{Verbatim, '/', "/etc", ""},
		{Verbatim, '/', "a//b", ""},
		{Verbatim, '/', "a/", ""},
		{Verbatim, '/', "", ""},
		{Verbatim, '/', "x\x00y", "x%00y"},
		{Verbatim, '/', "tab\there\x7f", "tab%09here%7F"},
		{Verbatim, '/', ".hidden", "%2Ehidden"},
		{Verbatim, '/', "a.b", "a.b"},
		{Verbatim, '/', "~user/x~", "%7Euser/x~"},
		{Verbatim, '/', "cur", "%63ur"},
		{Verbatim, '/', "A/new", "A/%6Eew"},
		{Verbatim, '/', "A/tmp/x", "A/%74mp/x"},
		{Verbatim, '/', "A/Cur/curly", "A/Cur/curly"},
		{Verbatim, '/', "Entwürfe", "Entwürfe"},
		{Verbatim, '/', "%41", "%2541"},
		{Verbatim, '/', `a\b`, "a%5Cb"},
		{Verbatim, '/', "a:b", "a:b"},
		{Verbatim, '/', "bad\xffutf8", "bad%FFutf8"},
		{Verbatim, '/', "\uFFFD", "\uFFFD"},
		{Verbatim, '.', "a/b.c", "a%2Fb/c"},
		{Verbatim, '.', "INBOX.Sent", "INBOX/Sent"},
		{Verbatim, '.', "a..b", ""},
		{Verbatim, 0, "a/b.c", "a%2Fb.c"},
		{Verbatim, 0, "Inbox", "INBOX"},
		{Verbatim, '/', strings.Repeat("x", 256), ""},
		{MaildirPP, '/', "INBOX", "."},
		{MaildirPP, '/', "InBoX", "."},
		{MaildirPP, '/', "INBOX/x", ".INBOX.x"},
		{MaildirPP, '/', "Archive/2023", ".Archive.2023"},
		{MaildirPP, '/', "a.b", ".a%2Eb"},
		{MaildirPP, '/', "cur", ".cur"},
		{MaildirPP, '/', "../x", ".%2E%2E.x"},
		{MaildirPP, '/', "..", ".%2E%2E"},
		{MaildirPP, '/', "Entwürfe/ü", ".Entwürfe.ü"},
		{MaildirPP, '.', "a.b", ".a.b"},
		{MaildirPP, '.', "a/b", ".a%2Fb"},
		{MaildirPP, '.', ".a", ""},
	}
	for _, tc := range tests {
		s, err := OpenWith(t.TempDir(), Options{Layout: tc.layout})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.NameToPath(tc.name, tc.delim)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%v %q NameToPath(%q) = %q, want error", tc.layout, tc.delim, tc.name, got)
			}
			continue
		}
		want := filepath.Join(s.Root(), tc.want)
		if err != nil || got != want {
			t.Errorf("%v %q NameToPath(%q) = %q, %v; want %q", tc.layout, tc.delim, tc.name, got, err, want)
			continue
		}
		back, err := s.PathToName(got, tc.delim)
		wantName := tc.name
		if l, _ := splitName(tc.name, tc.delim); l[0] == "INBOX" {
			wantName = "INBOX" + tc.name[5:]
		}
		if err != nil || back != wantName {
			t.Errorf("%v %q PathToName(%q) = %q, %v; want %q", tc.layout, tc.delim, got, back, err, wantName)
		}
	}
}

func TestPathToNameRejects(t *testing.T) {
	tests := []struct {
		layout Layout
		path   string
	}{
		{Verbatim, "."},
		{Verbatim, "inbox"},
		{Verbatim, "Inbox/x"},
		{Verbatim, "%2e"},
		{Verbatim, "%41"},
		{Verbatim, "%2"},
		{Verbatim, "a%"},
		{Verbatim, "%zz"},
		{Verbatim, "cur"},
		{Verbatim, "a/new"},
		{Verbatim, ".hidden"},
		{Verbatim, "~x"},
		{Verbatim, "a/"},
		{Verbatim, "a//b"},
		{Verbatim, "a/./b"},
		{Verbatim, "../x"},
		{Verbatim, ".."},
		{Verbatim, "/etc"},
		{Verbatim, "a%2Fb"}, // '/' inside a level with delim '/'
		{Verbatim, "a\x01"},
		{Verbatim, "bad\xff"},
		{MaildirPP, "x"},
		{MaildirPP, ".INBOX"},
		{MaildirPP, ".inbox.x"},
		{MaildirPP, "..a"},
		{MaildirPP, ".a..b"},
		{MaildirPP, ".a."},
		{MaildirPP, ".a/b"},
		{MaildirPP, ".%2e"},
		{MaildirPP, "cur"},
		{MaildirPP, ".."},
	}
	for _, tc := range tests {
		s, err := OpenWith(t.TempDir(), Options{Layout: tc.layout})
		if err != nil {
			t.Fatal(err)
		}
		if name, err := s.PathToName(tc.path, '/'); err == nil {
			t.Errorf("%v PathToName(%q) = %q, want error", tc.layout, tc.path, name)
		}
	}
}

func TestNameToPathRefusesSymlinks(t *testing.T) {
	outside := t.TempDir()
	for _, layout := range []Layout{Verbatim, MaildirPP} {
		s, err := OpenWith(t.TempDir(), Options{Layout: layout})
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := naming{layout: layout}.relPath("Evil/sub", '/')
		link := filepath.Join(s.Root(), strings.Split(rel, "/")[0])
		if err := os.Symlink(outside, link); err != nil {
			t.Fatal(err)
		}
		if p, err := s.NameToPath("Evil/sub", '/'); err == nil {
			t.Errorf("%v: NameToPath through a symlink = %q, want error", layout, p)
		}
		if _, err := s.CreateFolder("Evil/sub", '/'); err == nil {
			t.Errorf("%v: CreateFolder through a symlink succeeded", layout)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("something was created outside the root: %v", ents)
	}
}

func TestFolders(t *testing.T) {
	tests := []struct {
		layout Layout
		delim  rune
		create []string
		want   []string
	}{
		{Verbatim, '/',
			[]string{"INBOX", "inbox/Sub", "Archive/2023", "Archive", "Entwürfe/ü", "cur/new", ".hidden", "a.b", "Deep/er/est"},
			[]string{".hidden", "Archive", "Archive/2023", "Deep/er/est", "Entwürfe/ü", "INBOX", "INBOX/Sub", "a.b", "cur/new"}},
		{Verbatim, '.',
			[]string{"INBOX", "INBOX.Sub", "a/b.c", "Entwürfe"},
			[]string{"Entwürfe", "INBOX", "INBOX.Sub", "a/b.c"}},
		{MaildirPP, '/',
			[]string{"INBOX", "INBOX/x", "Archive/2023", "Archive", "Entwürfe/ü", "a.b", "cur", ".x"},
			[]string{".x", "Archive", "Archive/2023", "Entwürfe/ü", "INBOX", "INBOX/x", "a.b", "cur"}},
		{MaildirPP, '.',
			[]string{"Sub", "a/b.c"},
			[]string{"Sub", "a/b.c"}},
	}
	for _, tc := range tests {
		s, err := OpenWith(t.TempDir(), Options{Layout: tc.layout})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range tc.create {
			f, err := s.CreateFolder(n, tc.delim)
			if err != nil {
				t.Fatalf("%v CreateFolder(%q): %v", tc.layout, n, err)
			}
			if !f.Exists() {
				t.Errorf("%v: folder %q does not exist after CreateFolder", tc.layout, n)
			}
			for _, sub := range []string{"cur", "new", "tmp"} {
				if fi, err := os.Stat(filepath.Join(f.Path(), sub)); err != nil || fi.Mode().Perm() != 0o700 {
					t.Errorf("%v %q/%s: %v %v", tc.layout, n, sub, fi, err)
				}
			}
		}
		// Junk that must not be listed: undecodable names, a dot dir, a
		// symlink to a maildir outside the root, a maildir without new/.
		outside := t.TempDir()
		for _, d := range []string{"cur", "new", "tmp"} {
			os.Mkdir(filepath.Join(outside, d), 0o700)
		}
		junk := []string{"inbox", "%zz", "%41", ".git", "..x", "X/cur", "a/%2fb"}
		if tc.layout == MaildirPP {
			junk = []string{"plain", ".%zz", ".%41", ".a..b", ".INBOX", ".inbox.x", ".%2e", ".a%2Fb/.c"}
		}
		for _, j := range junk {
			for _, d := range []string{"cur", "new"} {
				if err := os.MkdirAll(filepath.Join(s.Root(), j, d), 0o700); err != nil {
					t.Fatal(err)
				}
			}
		}
		os.MkdirAll(filepath.Join(s.Root(), "NoNew", "cur"), 0o700)
		os.MkdirAll(filepath.Join(s.Root(), ".NoNew", "cur"), 0o700)
		if err := os.Symlink(outside, filepath.Join(s.Root(), "Link")); err != nil {
			t.Fatal(err)
		}
		os.Symlink(outside, filepath.Join(s.Root(), ".Link"))
		got, err := s.Folders(tc.delim)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v %q Folders = %q, want %q", tc.layout, tc.delim, got, tc.want)
		}
	}
}

func TestCreateFolderMaildirPP(t *testing.T) {
	s, err := OpenWith(t.TempDir(), Options{Layout: MaildirPP})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFolder("Sub", '/'); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), ".Sub", "maildirfolder")); err != nil {
		t.Error("maildirfolder missing:", err)
	}
	// Idempotent.
	if _, err := s.CreateFolder("Sub", '/'); err != nil {
		t.Fatal(err)
	}
	f, err := s.Folder("Other", '/')
	if err != nil || f.Exists() {
		t.Fatalf("Folder(Other) = %v, exists=%v", err, f.Exists())
	}
}

func FuzzNameMapping(f *testing.F) {
	for _, seed := range []string{"../../etc", "/etc", "a/../../b", "x\x00y", ".hidden", "INBOX",
		"inbox/sub", "cur", "A/new", "Entwürfe", "%41", "a//b", "a.b/c", ".a..b", "~", "a\\b", "\xff\xfe",
		"INBOX.x", "%2E", ".INBOX.x", "%63ur"} {
		f.Add(seed, '/')
	}
	f.Add("a%b", '%')
	f.Add("a\u00fcb", '\u00fc')
	f.Add("Entw&APw-rfe", '/')
	f.Add("a&-b.c", '.')
	var stores []*Store
	for _, l := range []Layout{Verbatim, MaildirPP, Flat} {
		for _, n := range []Names{UTF8, MUTF7} {
			s, err := OpenWith(f.TempDir(), Options{Layout: l, Names: n})
			if err != nil {
				f.Fatal(err)
			}
			stores = append(stores, s)
		}
	}
	f.Fuzz(func(t *testing.T, name string, extra rune) {
		for _, s := range stores {
			for _, delim := range []rune{'/', '.', 0, extra} {
				// name -> path -> name
				if p, err := s.NameToPath(name, delim); err == nil {
					rel, err := filepath.Rel(s.Root(), p)
					if err != nil || filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
						t.Fatalf("%v %q: %q -> %q escapes the root", s.layout, delim, name, p)
					}
					if s.layout != MaildirPP && rel == "." {
						t.Fatalf("%v: %q -> the root", s.layout, name)
					}
					back, err := s.PathToName(p, delim)
					want := name
					if l, _ := splitName(name, delim); l != nil && l[0] == "INBOX" {
						want = "INBOX" + name[5:]
					}
					if err != nil || back != want {
						t.Fatalf("%v %q: %q -> %q -> %q, %v", s.layout, delim, name, p, back, err)
					}
				}
				// path -> name -> path, reading the input as a relative path
				if n, err := s.PathToName(name, delim); err == nil {
					p, err := s.NameToPath(n, delim)
					if err != nil || p != filepath.Join(s.Root(), name) {
						t.Fatalf("%v %q: path %q -> %q -> %q, %v", s.layout, delim, name, n, p, err)
					}
				}
			}
		}
	})
}
