package main

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// TestProgressOnATerminal: a first sync of a thousand messages in a
// pseudo-terminal draws a progress line; the same sync with its output in
// a pipe draws none.
func TestProgressOnATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	d := dovecot.Start(t)
	var msgs [][]byte
	const n = 1000
	for i := 0; i < n; i++ {
		msgs = append(msgs, dovecot.GenMessage(11, i, 4000))
	}
	// Through a proxy that holds each FETCH answer back a millisecond: the
	// sync lasts seconds however fast the machine is, well past the delay
	// before the progress line is drawn.
	slow := dovecot.StartIMAPProxy(t, d.IMAPAddr(), dovecot.ProxyRules{ServerLine: func(line string) string {
		if strings.Contains(line, " FETCH (") {
			time.Sleep(time.Millisecond)
		}
		return line
	}})
	tty := newAccountAt(t, d, "progtty", slow.Port)
	d.BulkLoad(t, tty.user, "INBOX", msgs)
	cmd := exec.Command(binary, "--config", tty.conf, "sync")
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	t0 := time.Now()
	io.Copy(&out, f) // until the process ends (EIO on the pty)
	t.Logf("sync took %v", time.Since(t0))
	cmd.Wait()
	f.Close()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "\r\x1b[Kt: ") || !strings.Contains(out.String(), fmt.Sprintf("/%d messages", n)) {
		t.Errorf("no progress line on the terminal:\n%q", lastBytes(out.String(), 400))
	}

	pipe := newAccount(t, d, "progpipe")
	d.BulkLoad(t, pipe.user, "INBOX", msgs)
	cmd = exec.Command(binary, "--config", pipe.conf, "sync")
	var po bytes.Buffer
	cmd.Stdout, cmd.Stderr = &po, &po
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, po.String())
	}
	if strings.Contains(po.String(), "\r") || strings.Contains(po.String(), "messages,") {
		t.Errorf("progress written to a pipe:\n%q", po.String())
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
