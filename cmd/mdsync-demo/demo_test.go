package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testData = "../../testdata/demo"

// buildMdsync builds the real CLI into a temp dir.
func buildMdsync(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build mdsync with")
	}
	bin := filepath.Join(t.TempDir(), "mdsync")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", bin, "./cmd/mdsync")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/mdsync: %v\n%s", err, out)
	}
	return bin
}

func runDemo(t *testing.T, bin, dir string) (result, string) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := run(ctx, options{Mdsync: bin, Dir: dir, Data: testData, Timeout: 60 * time.Second}, &out, &out)
	return res, out.String()
}

func TestDemo(t *testing.T) {
	samples, err := loadSamples(testData)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(samples); n < 30 || len(folderOrder(samples)) != 4 {
		t.Fatalf("testdata/demo: %d messages in %v, want a few dozen in 4 folders", n, folderOrder(samples))
	}
	srvMsg, locMsg := pickMessages(samples)
	bin := buildMdsync(t)
	dir := filepath.Join(t.TempDir(), "demo-mail")

	// Twice: the second run must replace the first one's output.
	for i := 1; i <= 2; i++ {
		res, out := runDemo(t, bin, dir)
		if res.Code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i, res.Code, out)
		}
		if res.Seeded != len(samples) || res.LocalFiles != len(samples) {
			t.Errorf("run %d: seeded %d, %d local files after the first sync; want %d\n%s", i, res.Seeded, res.LocalFiles, len(samples), out)
		}
		if !res.ServerFlag || !res.LocalSeen {
			t.Errorf("run %d: server flag propagated %v (%s), local seen propagated %v (%s)\n%s", i, res.ServerFlag, res.LocalFile, res.LocalSeen, res.ServerFlags, out)
		}
		for _, want := range []string{"neomutt -f " + dir + "/INBOX", "--config ", "ok:"} {
			if !strings.Contains(out, want) {
				t.Errorf("run %d: output lacks %q\n%s", i, want, out)
			}
		}
		if testing.Verbose() && i == 1 {
			t.Logf("demo output:\n%s", out)
		}

		// the demo's own files stay out of the Maildir root
		if ents, _ := filepath.Glob(filepath.Join(dir, ".*")); len(ents) > 0 {
			t.Errorf("run %d: dot files in the Maildir root: %v", i, ents)
		}
		if _, err := os.Stat(filepath.Join(dir+".mdsync-demo", "config.toml")); err != nil {
			t.Errorf("run %d: no config beside the root: %v", i, err)
		}

		// Check the result on disk ourselves.
		local, err := localMessages(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(local) != len(samples) {
			t.Errorf("run %d: %d local message files, want %d", i, len(local), len(samples))
		}
		for _, m := range samples {
			if _, ok := findLocal(local, m.MessageID); !ok {
				t.Errorf("run %d: %s (%s) missing locally", i, m.File, m.MessageID)
			}
		}
		if m, _ := findLocal(local, srvMsg.MessageID); !strings.Contains(m.Flags(), "F") || filepath.Base(filepath.Dir(m.Path)) != "cur" {
			t.Errorf("run %d: server-flagged %s is %q locally, want cur/...:2,...F", i, srvMsg.File, m.Rel)
		}
		if m, _ := findLocal(local, locMsg.MessageID); !strings.Contains(m.Flags(), "S") {
			t.Errorf("run %d: locally read %s is %q, want ...:2,...S", i, locMsg.File, m.Rel)
		}
		if _, err := os.Stat(filepath.Join(dir, "Entwürfe", "cur")); err != nil {
			t.Errorf("run %d: non-ASCII folder: %v", i, err)
		}
	}
}

func TestDemoRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(precious, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The binary is never started: the directory check comes first.
	bin := filepath.Join(t.TempDir(), "mdsync")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 99\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	res := run(context.Background(), options{Mdsync: bin, Dir: dir, Data: testData}, &out, &errw)
	if res.Code != 2 || !strings.Contains(errw.String(), "not touching it") {
		t.Errorf("exit %d, stderr %q; want 2 and a refusal", res.Code, errw.String())
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "mine" {
		t.Errorf("foreign file changed: %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("foreign dir now holds %d entries, want 1", len(ents))
	}

	res = run(context.Background(), options{Mdsync: filepath.Join(dir, "no-such-mdsync"), Dir: filepath.Join(dir, "x"), Data: testData}, &out, &errw)
	if res.Code != 2 || !strings.Contains(errw.String(), "make build") {
		t.Errorf("missing binary: exit %d, stderr %q", res.Code, errw.String())
	}
}
