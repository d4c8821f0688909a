package mbsync

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/migrate"
)

// tree writes files (path relative to root -> content); a path ending in
// '/' is a directory.
func tree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o700); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// maildirFolder returns the files of a Maildir folder at dir with
// .uidvalidity uv and the given message files ("cur/x" or "new/x").
func maildirFolder(dir, uv string, msgs ...string) map[string]string {
	m := map[string]string{dir + "/cur/": "", dir + "/new/": "", dir + "/tmp/": "", dir + "/.uidvalidity": uv + "\n100\n"}
	for _, f := range msgs {
		m[dir+"/"+f] = "Subject: x\n\nbody\n"
	}
	return m
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

const adoptRC = `IMAPAccount acc
Host imap.example.com
User me
Pass secret

IMAPStore far
Account acc

MaildirStore near
Path ~/Mail/
Inbox ~/Mail/INBOX
SubFolders Verbatim

Channel main
Far :far:
Near :near:
Patterns * !Junk
`

func stateText(farUV, nearUV string, lines ...string) string {
	return "FarUidValidity " + farUV + "\nNearUidValidity " + nearUV + "\nMaxPulledUid 20\nMaxPushedUid 20\n\n" + strings.Join(lines, "\n") + "\n"
}

// TestAdopt covers every reason a state line or a folder is not adopted.
func TestAdopt(t *testing.T) {
	home := t.TempDir()
	st := func(far, near string) string { return ".mbsync/:far:" + far + "_:near:" + near }
	tree(t, home, merge(
		map[string]string{".mbsyncrc": adoptRC},
		maildirFolder("Mail/INBOX", "100",
			"cur/a,U=1:2,S", "new/b,U=2:2,", "cur/c,U=3:2,FS",
			"cur/dup1,U=4:2,", "new/dup2,U=4:2,",
			"cur/local,U=6:2,S", "cur/ph,U=7:2,", "cur/exp,U=8:2,ST", "new/fresh"),
		map[string]string{st("INBOX", "INBOX"): stateText("555", "100",
			"1 1 S", "2 2 ", "3 3 S", "4 4 ", "5 5 S", "0 6 S", "9 7 >", "10 8 ~S", "11 0 ", "12 13 <", "14 9 ")},
		maildirFolder("Mail/Archive", "100"), // no state: mbsync never synced it
		maildirFolder("Mail/Archive/2023", "100", "cur/x,U=1:2,RS"),
		map[string]string{st("Archive!2023", "Archive!2023"): stateText("7", "100", "1 1 RS")},
		maildirFolder("Mail/Entw&APw-rfe", "100", "cur/y,U=1:2,"),
		map[string]string{st("Entw&APw-rfe", "Entw&APw-rfe"): stateText("8", "100", "1 1 ")},
		maildirFolder("Mail/Sent", "100", "cur/s,U=1:2,S"),
		map[string]string{st("Sent", "Sent"): stateText("9", "100", "1 1 S"), st("Sent", "Sent") + ".journal": "4\n", st("Sent", "Sent") + ".new": ""},
		maildirFolder("Mail/Drafts", "101", "cur/d,U=1:2,D"),
		map[string]string{st("Drafts", "Drafts"): stateText("10", "100", "1 1 D")},
		maildirFolder("Mail/.hidden", "100", "cur/h,U=1:2,"),
		map[string]string{st(".hidden", ".hidden"): stateText("11", "100", "1 1 ")},
		maildirFolder("Mail/Junk", "100", "cur/j,U=1:2,"),
		map[string]string{st("Junk", "Junk"): stateText("12", "100", "1 1 ")},
		map[string]string{st("Gone", "Gone"): stateText("13", "100", "1 1 ")}, // no local folder
		maildirFolder("Mail/Broken", "100", "cur/k,U=1:2,"),
		map[string]string{st("Broken", "Broken"): "FarUidValidity 1\nWhat 2\n\n"},
	))
	path := filepath.Join(home, ".mbsyncrc")
	res, err := Read(t.Context(), path, Options{Home: home, StateHome: filepath.Join(home, "state"), Version: "1.4"})
	if err != nil {
		t.Fatal(err)
	}
	var inbox *migrate.Folder
	for i := range res.Folders {
		if res.Folders[i].Name == "INBOX" {
			inbox = &res.Folders[i]
		}
	}
	want := []migrate.Pair{{UID: 1, Key: "a,U=1", Flags: "S"}, {UID: 2, Key: "b,U=2", Flags: ""}, {UID: 3, Key: "c,U=3", Flags: "S"}}
	if inbox == nil || inbox.UIDValidity != 555 || inbox.Channel != "main" || !reflect.DeepEqual(inbox.Pairs, want) {
		t.Errorf("INBOX = %+v\nwant pairs %+v", inbox, want)
	}
	golden(t, "adopt.golden", render(res, home, path))
}

// TestSyncStateLocations finds the state where each SyncState puts it.
func TestSyncStateLocations(t *testing.T) {
	for _, tc := range []struct {
		name, global, channel, version string
		statePath                      string // relative to home; {dir} is the box's directory
	}{
		{"1.4 default", "", "", "1.4", ".mbsync/:far:Archive!2023_:near:Archive!2023"},
		{"1.5 default", "", "", "1.5", "state/isync/:far:Archive!2023_:near:Archive!2023"},
		{"global prefix", "SyncState ~/st/\n", "", "1.4", "st/:far:Archive!2023_:near:Archive!2023"},
		{"global star", "SyncState *\n", "", "1.4", "Mail/Archive/2023/.mbsyncstate"},
		{"channel star", "", "SyncState *\n", "1.4", "Mail/Archive/2023/.mbsyncstate"},
		{"channel prefix", "SyncState *\n", "SyncState ~/st/pre-\n", "1.4", "st/pre-Archive!2023"},
		{"field delimiter", "FieldDelimiter ;\n", "", "1.4", ".mbsync/;far;Archive!2023_;near;Archive!2023"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			rc := tc.global + strings.Replace(adoptRC, "Patterns * !Junk\n", "Patterns *\n"+tc.channel, 1)
			if tc.name == "field delimiter" {
				rc = strings.Replace(rc, "SubFolders Verbatim\n", "SubFolders Verbatim\nInfoDelimiter :\n", 1)
			}
			tree(t, home, merge(
				map[string]string{".mbsyncrc": rc},
				maildirFolder("Mail/Archive/2023", "100", "cur/x,U=1:2,RS"),
				map[string]string{tc.statePath: stateText("7", "100", "1 1 RS")},
			))
			res, err := Read(t.Context(), filepath.Join(home, ".mbsyncrc"), Options{Home: home, StateHome: filepath.Join(home, "state"), Version: tc.version})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Folders) != 1 || res.Folders[0].Name != "Archive/2023" || len(res.Folders[0].Pairs) != 1 {
				t.Fatalf("folders = %+v\nnotes:\n%s", res.Folders, notesText(res.Notes))
			}
			if p := res.Folders[0].Pairs[0]; p != (migrate.Pair{UID: 1, Key: "x,U=1", Flags: "RS"}) {
				t.Errorf("pair = %+v", p)
			}
		})
	}
}

// TestNamesDetection: mUTF-7 directories mean "mutf7", UTF-8 ones "utf8",
// none the version's own spelling.
func TestNamesDetection(t *testing.T) {
	for _, tc := range []struct {
		name, dir, version, want string
	}{
		{"mutf7 dir", "Mail/Entw&APw-rfe", "1.5", "mutf7"},
		{"utf8 dir", "Mail/Entwürfe", "1.4", "utf8"},
		{"ampersand only", "Mail/A&-B", "1.5", "utf8"},
		{"nothing, 1.4", "Mail/Plain", "1.4", "mutf7"},
		{"nothing, 1.5", "Mail/Plain", "1.5", "utf8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			tree(t, home, merge(map[string]string{".mbsyncrc": adoptRC}, maildirFolder(tc.dir, "1")))
			res, err := Read(t.Context(), filepath.Join(home, ".mbsyncrc"), Options{Home: home, StateHome: filepath.Join(home, "state"), Version: tc.version})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Config.Maildir[0].Names; got != tc.want {
				t.Errorf("names = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVersionDetection(t *testing.T) {
	for _, tc := range []struct {
		name, rc, file, probe string
		mkdirs                []string
		want                  version
	}{
		{"TLSType", "IMAPAccount a\nHost h\nTLSType IMAPS\n", ".mbsyncrc", "", nil, v15},
		{"Sync Gone", "Sync Gone\n", ".mbsyncrc", "", nil, v15},
		{"UseIMAPS", "IMAPAccount a\nHost h\nUseIMAPS yes\n", ".mbsyncrc", "isync 1.5.0", nil, v14},
		{"isyncrc", "", ".config/isyncrc", "", nil, v15},
		{"xdg state", "", ".mbsyncrc", "", []string{"state/isync"}, v15},
		{"both state dirs: probe", "", ".mbsyncrc", "isync 1.5.1", []string{"state/isync", ".mbsync"}, v15},
		{"probe 1.4", "", ".mbsyncrc", "isync 1.4.4", nil, v14},
		{"nothing", "", ".mbsyncrc", "", nil, v14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			tree(t, home, map[string]string{tc.file: tc.rc})
			for _, d := range tc.mkdirs {
				tree(t, home, map[string]string{d + "/": ""})
			}
			r := &reader{path: filepath.Join(home, tc.file), home: home, stateHome: filepath.Join(home, "state"), ctx: t.Context(),
				opt: Options{Probe: func(context.Context) string { return tc.probe }}}
			rc, lerr := parseRC(tc.rc)
			if lerr != nil {
				t.Fatal(lerr.Msg)
			}
			if got, why := r.detectVersion(rc); got != tc.want {
				t.Errorf("version %v (%s), want %v", got, why, tc.want)
			}
		})
	}
}

func TestDefaultConfigPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	if got, want := DefaultConfigPath(), filepath.Join(home, ".mbsyncrc"); got != want {
		t.Errorf("without isyncrc: %q, want %q", got, want)
	}
	tree(t, home, map[string]string{".config/isyncrc": ""})
	if got, want := DefaultConfigPath(), filepath.Join(home, ".config", "isyncrc"); got != want {
		t.Errorf("with ~/.config/isyncrc: %q, want %q", got, want)
	}
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "xdg"))
	if got, want := DefaultConfigPath(), filepath.Join(home, ".mbsyncrc"); got != want {
		t.Errorf("XDG_CONFIG_HOME without isyncrc: %q, want %q", got, want)
	}
	tree(t, home, map[string]string{"xdg/isyncrc": ""})
	if got, want := DefaultConfigPath(), filepath.Join(home, "xdg", "isyncrc"); got != want {
		t.Errorf("XDG_CONFIG_HOME with isyncrc: %q, want %q", got, want)
	}
}
