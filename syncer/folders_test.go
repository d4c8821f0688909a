package syncer

import (
	"fmt"
	"testing"
)

func TestMatchFolder(t *testing.T) {
	cases := []struct {
		patterns []string
		name     string
		want     bool
	}{
		{[]string{"*"}, "INBOX", true},
		{[]string{"*"}, "Archive/2023", true},
		{[]string{"*", "!Junk"}, "Junk", false},
		{[]string{"*", "!Junk"}, "Junk/Old", true}, // "!Junk" is exact
		{[]string{"*", "!Junk*"}, "Junk/Old", false},
		{[]string{"%"}, "Archive/2023", false}, // % stops at the delimiter
		{[]string{"%"}, "Archive", true},
		{[]string{"Archive/%"}, "Archive/2023", true},
		{[]string{"inbox"}, "INBOX", true}, // INBOX is case-insensitive
		{[]string{"INBOX/*"}, "Inbox/Sub", true},
		{[]string{"!Junk", "*"}, "Junk", true}, // the last match wins
		{[]string{"Work"}, "Personal", false},
		{[]string{"Entw*"}, "Entwürfe", true},
	}
	for _, c := range cases {
		if got := MatchFolder(c.patterns, c.name, '/'); got != c.want {
			t.Errorf("MatchFolder(%q, %q) = %v, want %v", c.patterns, c.name, got, c.want)
		}
	}
}

func TestPlanFolders(t *testing.T) {
	sides := []folderSides{
		{Name: "both", Local: true, Remote: true, InState: true},
		{Name: "new-remote", Remote: true},
		{Name: "new-local", Local: true},
		{Name: "gone-local", Remote: true, InState: true},
		{Name: "gone-remote", Local: true, InState: true},
		{Name: "gone-both", InState: true},
	}
	cases := []struct {
		create, remove Sides
		want           string
	}{
		{SidesBoth, SidesNone, "[both sync] [gone-local sync create-local redownload] [gone-remote skip-folder] [new-local sync create-remote] [new-remote sync create-local]"},
		{SidesLocal, SidesNone, "[both sync] [gone-local sync create-local redownload] [gone-remote skip-folder] [new-local skip-folder] [new-remote sync create-local]"},
		{SidesNone, SidesBoth, "[both sync] [gone-local remove-remote] [gone-remote remove-local] [new-local skip-folder] [new-remote skip-folder]"},
		{SidesServer, SidesLocal, "[both sync] [gone-local skip-folder] [gone-remote remove-local] [new-local sync create-remote] [new-remote skip-folder]"},
	}
	for _, c := range cases {
		var got []string
		for _, d := range planFolders(append([]folderSides{}, sides...), c.create, c.remove) {
			s := d.Name
			if d.Sync {
				s += " sync"
			}
			if d.Action.Op != "" {
				s += " " + string(d.Action.Op)
			}
			if d.Redownload {
				s += " redownload"
			}
			got = append(got, "["+s+"]")
		}
		if g := fmt.Sprint(got); g != "["+c.want+"]" {
			t.Errorf("create=%s remove=%s:\n got %s\nwant [%s]", c.create, c.remove, g, c.want)
		}
	}
}
