package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// popTool is a POP3 fetcher delivering one Dovecot user's INBOX into a
// Maildir of its own.
type popTool struct {
	Kind   string // mdsync | mpop | getmail
	Dir    string
	User   string
	Port   int
	MDSync string
	// Timeout kills a run that takes longer (0: none).
	Timeout time.Duration
}

const nobody = 65534

func (t *popTool) maildir() string {
	if t.Kind == "mdsync" {
		return filepath.Join(t.Dir, "mail", "INBOX")
	}
	return filepath.Join(t.Dir, "mail")
}

// reset removes all local data and writes the config.
func (t *popTool) reset() error {
	if err := os.RemoveAll(t.Dir); err != nil {
		return err
	}
	// The parent must be traversable for getmail6, which runs as nobody.
	if err := os.MkdirAll(filepath.Dir(t.Dir), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(t.Dir, "mail"), 0o700); err != nil {
		return err
	}
	var conf string
	switch t.Kind {
	case "mdsync":
		conf = fmt.Sprintf("state_dir = %q\n[maildir.p]\npath = %q\n[pop.p]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\nuser = %q\npassword = %q\nmaildir = \"p\"\ndelete = \"never\"\n",
			filepath.Join(t.Dir, "state"), filepath.Join(t.Dir, "mail"), t.Port, t.User, benchPass)
	case "mpop":
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(t.maildir(), sub), 0o700); err != nil {
				return err
			}
		}
		conf = fmt.Sprintf("defaults\naccount default\nhost 127.0.0.1\nport %d\nuser %s\npassword %s\nauth user\ntls off\ndelivery maildir %s\nkeep on\nuidls_file %s\n",
			t.Port, t.User, benchPass, t.maildir(), filepath.Join(t.Dir, "uidls"))
	case "getmail":
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(t.maildir(), sub), 0o700); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(filepath.Join(t.Dir, "gm"), 0o700); err != nil {
			return err
		}
		conf = fmt.Sprintf("[retriever]\ntype = SimplePOP3Retriever\nserver = 127.0.0.1\nport = %d\nusername = %s\npassword = %s\n\n[destination]\ntype = Maildir\npath = %s/\n\n[options]\nread_all = false\ndelete = false\nverbose = 0\nmessage_log_syslog = false\n",
			t.Port, t.User, benchPass, t.maildir())
	}
	if err := os.WriteFile(t.conf(), []byte(conf), 0o600); err != nil {
		return err
	}
	if t.Kind == "getmail" {
		// getmail6 refuses to deliver as root: everything belongs to nobody.
		return filepath.WalkDir(t.Dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, nobody, nobody)
		})
	}
	return nil
}

func (t *popTool) conf() string { return filepath.Join(t.Dir, t.Kind+".conf") }

func (t *popTool) run(ctx context.Context) Measurement {
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	var cmd *exec.Cmd
	switch t.Kind {
	case "mdsync":
		cmd = exec.CommandContext(ctx, t.MDSync, "--config", t.conf(), "-q", "sync")
	case "mpop":
		cmd = exec.CommandContext(ctx, "mpop", "-C", t.conf(), "-q")
	case "getmail":
		cmd = exec.CommandContext(ctx, "getmail", "--rcfile="+t.conf(), "--getmaildir="+filepath.Join(t.Dir, "gm"), "-q")
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		}
	}
	cmd.Env = append(os.Environ(), "HOME="+t.Dir)
	return measure(cmd, filepath.Join(t.Dir, "rss.txt"))
}

// count returns the number of messages delivered (new/ + cur/).
func (t *popTool) count() (int, error) {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(t.maildir(), sub))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return 0, err
		}
		for _, e := range ents {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
	}
	return n, nil
}
