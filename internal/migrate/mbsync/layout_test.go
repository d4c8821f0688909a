package mbsync

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mdsync/mdsync/internal/migrate"
)

// TestBoxPath checks mbsync's placement of boxes against the examples of
// its man page and what mbsync 1.4.4 wrote in the integration test.
func TestBoxPath(t *testing.T) {
	for _, tc := range []struct {
		style, flatten, path string
		box, want            string
	}{
		{"verbatim", "", "/m/", "INBOX", "/in"},
		{"verbatim", "", "/m/", "top/sub/subsub", "/m/top/sub/subsub"},
		{"verbatim", "", "/m/", "INBOX/sub/subsub", "/in/sub/subsub"},
		{"maildir++", "", "", "top/sub/subsub", "/in/.top.sub.subsub"},
		{"maildir++", "", "", "INBOX/sub/subsub", "/in/..sub.subsub"},
		{"legacy", "", "/m/", "top/sub/subsub", "/m/top/.sub/.subsub"},
		{"legacy", "", "/m/", "INBOX/sub/subsub", "/in/.sub/.subsub"},
		{"", "", "/m/", "Archive", "/m/Archive"},
		{"", "", "/m", "Archive", "/mArchive"},
		{"", "", "/m/", "Archive/2023", ""},
		{"", ".", "/m/", "Archive/2023", "/m/Archive.2023"},
		{"", ".", "/m/", "INBOX/sub", "/m/INBOX.sub"},
		{"verbatim", "", "", "Archive", ""},
		{"maildir++", "", "", "a.b", ""},
	} {
		st := &maildirStore{Path: tc.path, Inbox: "/in", SubFolders: tc.style, Flatten: tc.flatten}
		got, err := st.boxPath(tc.box)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s/%s %q: got %q, want an error", tc.style, tc.flatten, tc.box, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s/%s %q: got %q, %v; want %q", tc.style, tc.flatten, tc.box, got, err, tc.want)
		}
	}
}

func TestListBoxes(t *testing.T) {
	home := t.TempDir()
	tree(t, home, merge(
		maildirFolder("v/INBOX", "1"), maildirFolder("v/INBOX/sub", "1"), maildirFolder("v/A", "1"),
		maildirFolder("v/A/B", "1"), map[string]string{"v/NoMail/C/cur/": "", "v/.notmuch/xapian/": ""},
		maildirFolder("pp", "1"), maildirFolder("pp/.A", "1"), maildirFolder("pp/.A.B", "1"), maildirFolder("pp/..sub", "1"),
		maildirFolder("lg/INBOX", "1"), maildirFolder("lg/A", "1"), maildirFolder("lg/A/.B", "1"), maildirFolder("lg/A/C", "1"),
	))
	for _, tc := range []struct {
		st   maildirStore
		want []string
	}{
		{maildirStore{Path: home + "/v/", Inbox: home + "/v/INBOX", SubFolders: "verbatim"}, []string{"A", "A/B", "INBOX", "INBOX/sub", "NoMail/C"}},
		{maildirStore{Path: home + "/v/", Inbox: home + "/v/INBOX"}, []string{"A", "INBOX"}},
		{maildirStore{Inbox: home + "/pp", SubFolders: "maildir++"}, []string{"A", "A/B", "INBOX", "INBOX/sub"}},
		{maildirStore{Path: home + "/lg/", Inbox: home + "/lg/INBOX", SubFolders: "legacy"}, []string{"A", "A/B", "INBOX"}},
	} {
		if got := tc.st.listBoxes(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.st, got, tc.want)
		}
	}
}

func TestPatterns(t *testing.T) {
	for _, tc := range []struct {
		name     string
		patterns []string
		want     bool
	}{
		{"INBOX", []string{"*"}, true},
		{"Archive/2023", []string{"%"}, false},
		{"Archive", []string{"%"}, true},
		{"Junk", []string{"*", "!Junk"}, false},
		{"Junk", []string{"!Junk", "*"}, true}, // the last match wins
		{"Lists/go", []string{"Lists/*"}, true},
		{"Lists", []string{"Lists/*"}, false},
		{"a/b/c", []string{"a/%/c"}, false}, // mbsync 1.4.4's quirk: '%' before '/' never matches
		{"a/b", []string{"a/%"}, true},
		{"Sent", []string{"INBOX"}, false},
	} {
		if got := patternsMatch(tc.name, tc.patterns); got != tc.want {
			t.Errorf("patternsMatch(%q, %q) = %v, want %v", tc.name, tc.patterns, got, tc.want)
		}
	}
}

func TestMdsyncPath(t *testing.T) {
	for _, tc := range []struct {
		layout, names, name, want string
	}{
		{"verbatim", "utf8", "INBOX", "/r/INBOX"},
		{"verbatim", "utf8", "inbox/x", "/r/INBOX/x"},
		{"verbatim", "utf8", "Archive/2023", "/r/Archive/2023"},
		{"verbatim", "mutf7", "Entwürfe", "/r/Entw&APw-rfe"},
		{"verbatim", "utf8", "Entwürfe", "/r/Entwürfe"},
		{"maildir++", "utf8", "INBOX", "/r"},
		{"maildir++", "utf8", "Archive/2023", "/r/.Archive.2023"},
		{"flat", "utf8", "Archive/2023", "/r/Archive.2023"},
		{"flat", "utf8", "INBOX", "/r/INBOX"},
		{"verbatim", "utf8", ".hidden", ""},
		{"verbatim", "utf8", "cur", ""},
		{"verbatim", "utf8", "100%", ""},
		{"maildir++", "utf8", "a.b", ""},
	} {
		got, err := mdsyncPath(migrate.Maildir{Path: "/r", Layout: tc.layout, Names: tc.names}, tc.name)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s %q: got %q, want an error", tc.layout, tc.name, got)
			}
			continue
		}
		if err != nil || got != filepath.Clean(tc.want) {
			t.Errorf("%s %s %q: got %q, %v; want %q", tc.layout, tc.names, tc.name, got, err, tc.want)
		}
	}
}
