package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Tool is one sync program set up against one Dovecot user, with its own
// Maildir, state and config files (one config per server port, so the
// same Maildir can be synced directly or through the latency proxy).
type Tool struct {
	Kind   string // mdsync | mbsync | offlineimap
	Dir    string // everything of this tool lives here
	User   string // its own Dovecot user (a clone of the corpus)
	Pass   string
	MDSync string // path of the mdsync binary
	// Timeout kills a run that takes longer (0: none).
	Timeout time.Duration

	// touched is when the tool's Maildir last changed (a run or a local
	// mutation); runs wait until it is more than a second ago, because
	// mbsync sleeps out a same-second change and mdsync must rescan one.
	touched time.Time
}

// MailRoot is the tool's local Maildir tree.
func (t *Tool) MailRoot() string { return filepath.Join(t.Dir, "mail") }

// Reset removes all local data (Maildir, state, configs).
func (t *Tool) Reset() error {
	if err := os.RemoveAll(t.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(t.MailRoot(), 0o700); err != nil {
		return err
	}
	t.touched = time.Time{}
	return nil
}

// Measurement is the outcome of one run of a tool.
type Measurement struct {
	Dur    time.Duration
	RSSKB  int64 // peak resident set size (ru_maxrss)
	Err    error
	Output string // combined output, trimmed
}

func (t *Tool) config(port int) (string, error) {
	path := filepath.Join(t.Dir, fmt.Sprintf("%s-%d.conf", t.Kind, port))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	switch t.Kind {
	case "mdsync":
		p("state_dir = %q", filepath.Join(t.Dir, "state"))
		p("[imap.bench]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\nuser = %q\npassword = %q", port, t.User, t.Pass)
		p("[maildir.bench]\npath = %q", t.MailRoot())
		p("[channel.bench]\nimap = \"bench\"\nmaildir = \"bench\"\nfolders = [\"*\"]")
	case "mbsync":
		p("IMAPAccount bench\nHost 127.0.0.1\nPort %d\nUser %s\nPass %s\nSSLType None\n", port, t.User, t.Pass)
		p("IMAPStore bench-far\nAccount bench\n")
		p("MaildirStore bench-near\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n", t.MailRoot(), t.MailRoot())
		p("Channel bench\nFar :bench-far:\nNear :bench-near:\nPatterns *\nCreate Both\nExpunge Both\nSync All\nSyncState *")
	case "offlineimap":
		p("[general]\naccounts = bench\nmetadata = %s\n", filepath.Join(t.Dir, "meta"))
		p("[Account bench]\nlocalrepository = bench-local\nremoterepository = bench-remote\n")
		p("[Repository bench-local]\ntype = Maildir\nlocalfolders = %s\nsep = /\n", t.MailRoot())
		p("[Repository bench-remote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = %d\nremoteuser = %s\nremotepass = %s\nssl = no\nstarttls = no", port, t.User, t.Pass)
	default:
		return "", fmt.Errorf("unknown tool %q", t.Kind)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// Run syncs the tool's Maildir once against the server on port.
func (t *Tool) Run(ctx context.Context, port int) Measurement {
	conf, err := t.config(port)
	if err != nil {
		return Measurement{Err: err}
	}
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	var cmd *exec.Cmd
	switch t.Kind {
	case "mdsync":
		cmd = exec.CommandContext(ctx, t.MDSync, "--config", conf, "-q", "sync")
	case "mbsync":
		cmd = exec.CommandContext(ctx, "mbsync", "-c", conf, "-q", "-a")
	case "offlineimap":
		cmd = exec.CommandContext(ctx, "offlineimap", "-c", conf, "-u", "quiet")
	}
	cmd.Env = append(os.Environ(), "HOME="+t.Dir)
	m := measure(cmd, filepath.Join(t.Dir, "rss.txt"))
	t.touched = time.Now()
	return m
}

// settle waits until the tool's Maildir has not changed for over a second.
func (t *Tool) settle() {
	if d := time.Until(t.touched.Add(1100 * time.Millisecond)); d > 0 {
		time.Sleep(d)
	}
}

// timeBin is GNU time; its %M is the peak RSS of the program alone. The
// rusage of our own child would not do: Go starts children with
// CLONE_VM|CLONE_VFORK, and at exec the kernel carries the parent's RSS
// high-water mark into the child's ru_maxrss, so every tool would seem to
// use at least as much memory as this benchmark process.
var timeBin = func() string {
	if st, err := os.Stat("/usr/bin/time"); err == nil && st.Mode()&0o111 != 0 {
		return "/usr/bin/time"
	}
	return ""
}()

// measure runs cmd and returns its wall time and peak RSS. rssFile is a
// scratch file that the command's user can write.
func measure(cmd *exec.Cmd, rssFile string) Measurement {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	args := cmd.Args
	// Its own process group, so that a timeout kills the tool and not
	// only /usr/bin/time.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if timeBin != "" {
		_ = os.Remove(rssFile)
		cmd.Args = append([]string{timeBin, "-f", "%M", "-o", rssFile, cmd.Path}, cmd.Args[1:]...)
		cmd.Path = timeBin
	}
	start := time.Now()
	err := cmd.Run()
	m := Measurement{Dur: time.Since(start), Err: err}
	if timeBin != "" {
		data, _ := os.ReadFile(rssFile)
		lines := strings.Fields(string(data))
		if len(lines) > 0 {
			m.RSSKB, _ = strconv.ParseInt(lines[len(lines)-1], 10, 64)
		}
	} else if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.RSSKB = ru.Maxrss // an upper bound, see timeBin
		}
	}
	cmd.Args = args
	m.Output = strings.TrimSpace(out.String())
	if len(m.Output) > 4000 {
		m.Output = m.Output[:2000] + "\n...\n" + m.Output[len(m.Output)-2000:]
	}
	if err != nil {
		m.Err = fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, m.Output)
	}
	return m
}
