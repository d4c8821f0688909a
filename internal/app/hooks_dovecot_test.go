package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// TestHooks: pre_sync runs before, post_sync after with the JSON of exactly
// the messages that arrived and the counts in its environment, new_mail
// only when something arrived; a failing or hanging hook is reported and
// the sync still succeeds; --json lists the arrivals too.
func TestHooks(t *testing.T) {
	d := startDovecot(t)
	for i := 0; i < 2; i++ {
		d.Append(t, user, "INBOX", dovecot.GenMessage(900, i, 300))
	}
	t.Setenv("MDSYNC_TEST_PW", pass)
	dir := t.TempDir()
	hooks := fmt.Sprintf(`pre_sync = "echo pre >> %[1]s/pre.txt"
post_sync = "cat > %[1]s/post.json; env | grep ^MDSYNC_ > %[1]s/post.env"
new_mail = "echo new >> %[1]s/new.txt"
`, dir)
	conf := writeConfig(t, dir, strings.Replace(dovecotConfig(dir, d, ""), `folders = ["*", "!Junk", "!POP"]`, `folders = ["*", "!Junk", "!POP"]`+"\n"+hooks, 1))
	code, out, errOut := run(t, "--config", conf, "--json", "sync", "test")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	var got []arrival
	b, err := os.ReadFile(filepath.Join(dir, "post.json"))
	if err != nil || json.Unmarshal(b, &got) != nil || len(got) != 2 {
		t.Fatalf("post_sync stdin: %v %s", err, b)
	}
	subjects := got[0].Subject + "|" + got[1].Subject
	if !strings.Contains(subjects, "Test message 0 (seed 900)") || !strings.Contains(subjects, "Test message 1 (seed 900)") || got[0].Folder != "INBOX" || got[0].MessageID == "" {
		t.Errorf("arrivals %+v", got)
	}
	for _, a := range got {
		if _, err := os.Stat(a.Path); err != nil {
			t.Errorf("arrival path: %v", err)
		}
	}
	env, _ := os.ReadFile(filepath.Join(dir, "post.env"))
	if !strings.Contains(string(env), "MDSYNC_FETCHED=2") || !strings.Contains(string(env), "MDSYNC_NAME=test") {
		t.Errorf("post_sync env:\n%s", env)
	}
	if !strings.Contains(out, `"arrived": [`) || !strings.Contains(out, "seed 900") {
		t.Errorf("--json does not list the arrivals:\n%s", out)
	}
	// nothing new: post_sync gets [], new_mail does not run
	if code, _, errOut := run(t, "--config", conf, "-q", "sync", "test"); code != 0 {
		t.Fatalf("second run: %d %s", code, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "post.json")); strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("post_sync stdin with nothing new: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "new.txt")); string(b) != "new\n" {
		t.Errorf("new_mail ran %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "pre.txt")); string(b) != "pre\npre\n" {
		t.Errorf("pre_sync ran %q", b)
	}

	// a failing and a hanging hook: reported, the sync still succeeds
	bad := strings.Replace(dovecotConfig(dir, d, ""), `folders = ["*", "!Junk", "!POP"]`, `folders = ["*", "!Junk", "!POP"]`+"\npre_sync = \"exit 3\"\npost_sync = \"sleep 30\"\nhook_timeout = \"1s\"", 1)
	conf = writeConfig(t, dir, bad)
	start := time.Now()
	code, _, errOut = run(t, "--config", conf, "-q", "sync", "test")
	if code != 0 || !strings.Contains(errOut, "pre_sync hook failed: exit status 3") || !strings.Contains(errOut, "post_sync hook did not end within 1s") {
		t.Errorf("bad hooks: exit %d\n%s", code, errOut)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a hanging hook held the run for %v", took)
	}
}
