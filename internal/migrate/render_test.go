package migrate

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestRender: a rendered config is what the golden file holds, and mdsync's
// own config reader takes it with every value intact.
func TestRender(t *testing.T) {
	c := Config{
		IMAP: []IMAP{
			{Name: "work", Host: "imap.example.com", Port: 993, TLS: "implicit", User: "me@example.com", PasswordCommand: `pass show "mail/work"`, CAFile: "testdata/ca.pem"},
			{Name: "lan", Host: "10.0.0.2", TLS: "none", AllowPlaintext: true, User: "me", Password: "se\"cr\\et\x01"},
		},
		Maildir: []Maildir{
			{Name: "work", Path: "/home/u/Mail/work", Layout: "verbatim", Names: "mutf7"},
			{Name: "lan", Path: "/home/u/Mail/lan", Layout: "flat"},
		},
		Channel: []Channel{
			{Name: "work", IMAP: "work", Maildir: "work", Folders: []string{"*", "!Junk", "Entwürfe"}, Create: "maildir", Remove: "none", Expunge: "both"},
			{Name: "lan", IMAP: "lan", Maildir: "lan"},
		},
	}
	got := Render(c, "/home/u/.mbsyncrc", "/home/u/.local/state/mdsync")
	golden := filepath.Join("testdata", "render.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("rendered:\n%s\nwant:\n%s", got, want)
	}
	cfg, err := config.Parse("imported.toml", got)
	if err != nil {
		t.Fatalf("mdsync does not take the rendered config: %v", err)
	}
	if a := cfg.IMAP["lan"]; a.Password != "se\"cr\\et\x01" || !a.AllowPlaintext || a.TLS != "none" {
		t.Errorf("imap.lan = %+v", a)
	}
	if a := cfg.IMAP["work"]; a.PasswordCommand != `pass show "mail/work"` || !strings.HasSuffix(a.CAFile, "/testdata/ca.pem") || a.Port != 993 {
		t.Errorf("imap.work = %+v", a)
	}
	if m := cfg.Maildir["work"]; m.Names != "mutf7" || m.Layout != "verbatim" {
		t.Errorf("maildir.work = %+v", m)
	}
	if m := cfg.Maildir["lan"]; m.Layout != "flat" || m.Names != "utf8" {
		t.Errorf("maildir.lan = %+v", m)
	}
	if ch := cfg.Channel["work"]; len(ch.Folders) != 3 || ch.Folders[2] != "Entwürfe" || ch.Create != "maildir" {
		t.Errorf("channel.work = %+v", ch)
	}
	if cfg.StateDir != "/home/u/.local/state/mdsync" {
		t.Errorf("state_dir = %q", cfg.StateDir)
	}
}
