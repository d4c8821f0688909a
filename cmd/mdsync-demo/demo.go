package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/mdsync/mdsync/internal/config"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

const (
	demoSide    = ".mdsync-demo" // beside -dir (DIR.mdsync-demo): marker, config and state, kept out of the Maildir root (notmuch and mutt look there)
	markerName  = "MARKER"
	markerText  = "This directory was written by mdsync-demo (make demo); the next demo run replaces it.\n"
	passwordEnv = "MDSYNC_DEMO_PASSWORD"
	cmdTimeout  = 60 * time.Second // per mdsync run
)

// usageError makes run exit with status 2 (nothing was done).
type usageError struct{ error }

type demo struct {
	o         options
	out, errw io.Writer
	conf      string // config file, absolute
	confShow  string // config file as the user typed -dir
	pass      string // the demo server's password, for mdsync's environment
}

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

func (d *demo) run(ctx context.Context) (res result, err error) {
	defer func() {
		var ue usageError
		if errors.As(err, &ue) {
			res.Code = 2
		}
	}()
	if _, err := os.Stat(d.o.Mdsync); err != nil {
		return res, usageError{fmt.Errorf("no mdsync binary at %s: run `make build` first, or pass -mdsync PATH", d.o.Mdsync)}
	}
	samples, err := loadSamples(d.o.Data)
	if err != nil {
		return res, usageError{err}
	}
	root, err := prepareDir(d.o.Dir)
	if err != nil {
		return res, err
	}
	d.conf = filepath.Join(root+demoSide, "config.toml")
	d.confShow = filepath.Join(filepath.Clean(d.o.Dir)+demoSide, "config.toml")

	logw := io.Discard
	if d.o.Verbose {
		logw = d.errw
	}
	srv, err := startServer(samples, logw)
	if err != nil {
		return res, fmt.Errorf("demo server: %w", err)
	}
	defer srv.Close()
	res.Seeded = len(samples)
	d.pass = srv.Pass
	if err := writeConfig(d.conf, srv, root); err != nil {
		return res, err
	}

	var per []string
	folders := folderOrder(samples)
	for _, f := range folders {
		n := 0
		for _, m := range samples {
			if m.Folder == f {
				n++
			}
		}
		per = append(per, fmt.Sprintf("%s (%d)", f, n))
	}
	d.printf("mdsync demo: a throwaway IMAP server on %s (user %q) holds %d sample messages:", srv.Addr, srv.User, len(samples))
	d.printf("  %s", strings.Join(per, ", "))
	d.printf("  config: %s (tls = \"none\": fine on loopback only)", d.confShow)

	// 1. First sync.
	d.printf("\n1. First sync into %s:", d.o.Dir)
	if err := d.mdsync(ctx, "sync"); err != nil {
		return res, err
	}
	local, err := localMessages(root)
	if err != nil {
		return res, err
	}
	res.LocalFiles = len(local)
	byFolder := countByFolder(local)
	var got []string
	for _, f := range folders {
		got = append(got, fmt.Sprintf("%s %d", f, byFolder[f]))
	}
	d.printf("   -> %d message files in %s (%s)", len(local), d.o.Dir, strings.Join(got, ", "))
	if len(local) != len(samples) {
		return res, fmt.Errorf("expected %d message files after the first sync, found %d", len(samples), len(local))
	}

	// 2. One flag change on each side.
	srvMsg, locMsg := pickMessages(samples)
	if srvMsg == nil || locMsg == nil {
		return res, errors.New("the manifest needs two unread, unflagged messages in INBOX")
	}
	deadline := time.Now().Add(30 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	phone, err := dial(srv, deadline)
	if err != nil {
		return res, fmt.Errorf("demo client: %w", err)
	}
	defer phone.Close()
	if err := phone.addFlag(srvMsg.Folder, srvMsg.UID, imap.FlagFlagged); err != nil {
		return res, err
	}
	lm, ok := findLocal(local, locMsg.MessageID)
	if !ok {
		return res, fmt.Errorf("%s (%s) was not synced", locMsg.File, locMsg.MessageID)
	}
	newPath, err := markSeen(lm)
	if err != nil {
		return res, err
	}
	newRel, _ := filepath.Rel(root, newPath)
	d.printf("\n2. Changing one flag on each side:")
	d.printf("   server: another client flags %q (INBOX, UID %d) -> \\Flagged", short(srvMsg.Subject), srvMsg.UID)
	d.printf("   local:  you read %q in your mail reader, which renames its file", short(locMsg.Subject))
	d.printf("           %s -> %s", lm.Rel, newRel)

	// 3. Second sync, then check both changes arrived.
	d.printf("\n3. Second sync:")
	if err := d.mdsync(ctx, "sync"); err != nil {
		return res, err
	}
	local, err = localMessages(root)
	if err != nil {
		return res, err
	}
	if m, ok := findLocal(local, srvMsg.MessageID); ok {
		res.LocalFile = m.Rel
		res.ServerFlag = strings.Contains(m.Flags(), "F")
	}
	flags, err := phone.flags(locMsg.Folder, locMsg.UID)
	if err != nil {
		return res, err
	}
	res.ServerFlags = flagString(flags)
	res.LocalSeen = hasFlag(flags, imap.FlagSeen)
	d.printf("   %s server -> local: the \\Flagged is now the F in %s", mark(res.ServerFlag), orMissing(res.LocalFile))
	d.printf("   %s local -> server: UID %d's flags on the server are now %s", mark(res.LocalSeen), locMsg.UID, res.ServerFlags)
	if len(local) != len(samples) {
		return res, fmt.Errorf("expected %d message files after the second sync, found %d", len(samples), len(local))
	}
	if !res.ServerFlag || !res.LocalSeen {
		return res, errors.New("a flag change did not propagate (see above)")
	}

	d.printf("\n%s --config %s status:", d.o.Mdsync, d.confShow)
	if err := d.mdsync(ctx, "status"); err != nil {
		return res, err
	}
	d.printf("\nHave a look (the demo server is gone now; `make demo` starts over):")
	d.printf("  neomutt -f %s/INBOX      (or: mutt -f %s/INBOX)", d.o.Dir, d.o.Dir)
	d.printf("  ls %s", d.o.Dir)
	d.printf("  %s --config %s status", d.o.Mdsync, d.confShow)
	return res, nil
}

// mdsync runs the real binary with the demo config and prints its output,
// indented. A non-zero exit is an error.
func (d *demo) mdsync(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	argv := append([]string{"--config", d.conf}, args...)
	if d.o.Verbose {
		argv = append([]string{"-v"}, argv...)
	}
	cmd := exec.CommandContext(ctx, d.o.Mdsync, argv...)
	cmd.Env = append(os.Environ(), passwordEnv+"="+d.pass)
	cmd.WaitDelay = 5 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err := cmd.Run()
	d.printf("   $ mdsync %s   (%.2fs)", strings.Join(args, " "), time.Since(start).Seconds())
	for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		if line != "" {
			d.printf("   | %s", line)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mdsync %s: no answer within %v", strings.Join(args, " "), cmdTimeout)
		}
		return fmt.Errorf("mdsync %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// pickMessages chooses, in manifest order, the INBOX message another
// client flags on the server and the one "you" read locally: both unread
// and unflagged, so each change is visible.
func pickMessages(samples []*sample) (srv, loc *sample) {
	for _, m := range samples {
		if m.Folder != "INBOX" || hasFlag(m.Flags, imap.FlagSeen) || hasFlag(m.Flags, imap.FlagFlagged) {
			continue
		}
		if srv == nil {
			srv = m
		} else if loc == nil {
			loc = m
		}
	}
	return srv, loc
}

// prepareDir makes dir ready for a fresh demo: it creates it, or uses it
// when empty, or replaces it when it holds a previous demo's output (its
// marker file). Anything else is refused. It returns the absolute path,
// with the marker already written, so an interrupted run can be replaced
// too.
func prepareDir(dir string) (string, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	side := root + demoSide
	marker := filepath.Join(side, markerName)
	fi, err := os.Lstat(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return "", err
	case !fi.IsDir():
		return "", usageError{fmt.Errorf("%s exists and is not a directory; not touching it", dir)}
	default:
		ents, err := os.ReadDir(root)
		if err != nil {
			return "", err
		}
		if len(ents) > 0 {
			b, err := os.ReadFile(marker)
			if err != nil || string(b) != markerText {
				return "", usageError{fmt.Errorf("%s is not empty and is not the output of an earlier demo (no %s); not touching it: remove it or pass another -dir", dir, filepath.Clean(dir)+demoSide+"/"+markerName)}
			}
			if err := os.RemoveAll(root); err != nil {
				return "", fmt.Errorf("removing the previous demo: %w", err)
			}
		}
	}
	if err := os.RemoveAll(side); err != nil {
		return "", fmt.Errorf("removing the previous demo: %w", err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(side, "state"), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(marker, []byte(markerText), 0o644); err != nil {
		return "", err
	}
	return root, nil
}

func writeConfig(path string, s *server, root string) error {
	_, port, _ := strings.Cut(s.Addr, ":")
	conf := fmt.Sprintf(`# Written by mdsync-demo for its throwaway IMAP server, which is gone once the
# demo ends: "status" still works, "sync" will not.
state_dir = %s

[imap.demo]
host = "127.0.0.1"
port = %s
tls = "none"                  # plain IMAP, allowed on loopback
user = %q
password_env = %q
timeout = "20s"

[maildir.demo]
path = %s

[channel.demo]
imap = "demo"
maildir = "demo"
folders = ["*"]
`, config.Quote(filepath.Join(filepath.Dir(path), "state")), port, s.User, passwordEnv, config.Quote(root))
	return os.WriteFile(path, []byte(conf), 0o600)
}

func short(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:39]) + "…"
	}
	return s
}

func mark(ok bool) string {
	if ok {
		return "ok:"
	}
	return "FAILED:"
}

func orMissing(s string) string {
	if s == "" {
		return "(message missing locally)"
	}
	return s
}
