package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// watchSection is scenario 9 (issue 17): how long new mail takes to reach
// the Maildir, and a flag set locally to reach the server, with `mdsync
// watch` running, over loopback and through the latency proxy. mbsync has
// no watch mode; its users run it from a one-minute cron, so its latency is
// the wait for the next tick (uniform over 0–60 s, 30 s on average) plus one
// run, which is measured here after the same change.
func (b *Bench) watchSection() error {
	if b.corpus == nil {
		return fmt.Errorf("needs the sync section's corpus")
	}
	proxy, err := StartProxy(b.srv.d.IMAPAddr(), b.o.Latency)
	if err != nil {
		return err
	}
	defer proxy.Close()
	links := []struct {
		id, title string
		port      int
		addr      string
	}{
		{"9", "loopback", b.srv.d.IMAPPort, b.srv.d.IMAPAddr()},
		{"9.proxy", fmt.Sprintf("%s one-way", b.o.Latency), proxy.Port(), fmt.Sprintf("127.0.0.1:%d", proxy.Port())},
	}
	for i, l := range links {
		t, err := b.watchTool(fmt.Sprintf("watch%d", i), "mdsync")
		if err != nil {
			return err
		}
		if m := t.Run(b.ctx, l.port); m.Err != nil {
			return fmt.Errorf("initial sync for watch: %w", m.Err)
		}
		arrive, change, err := b.watchLatencies(t, i, l.port, l.addr)
		if err != nil {
			b.notes = append(b.notes, fmt.Sprintf("scenario 9 (%s): %v", l.title, err))
			continue
		}
		b.watchRows = append(b.watchRows, watchRow{link: l.title, tool: "mdsync watch", arrive: arrive, change: change})
		for _, peer := range b.o.Peers {
			if peer != "mbsync" {
				continue
			}
			pt, err := b.watchTool(fmt.Sprintf("watch%d", i), peer)
			if err != nil {
				return err
			}
			if m := pt.Run(b.ctx, l.port); m.Err != nil {
				return fmt.Errorf("initial sync of %s for watch: %w", peer, m.Err)
			}
			var runs []time.Duration
			for round := 0; round < 3; round++ {
				if err := b.srv.appendNew(pt.User, []string{"INBOX"}, [][]MsgSpec{{b.watchMsg(i, 100+round)}}); err != nil {
					return err
				}
				pt.settle()
				m := pt.Run(b.ctx, l.port)
				if m.Err != nil {
					return fmt.Errorf("%s run: %w", peer, m.Err)
				}
				runs = append(runs, m.Dur)
			}
			b.watchRows = append(b.watchRows, watchRow{link: l.title, tool: "mbsync, 1-minute cron", cron: median(runs)})
		}
	}
	return nil
}

// watchRow is one line of scenario 9.
type watchRow struct {
	link, tool     string
	arrive, change []time.Duration // measured with watch
	cron           time.Duration   // one run, for the cron rows
}

// watchTool makes a tool on its own clone of the corpus.
func (b *Bench) watchTool(prefix, kind string) (*Tool, error) {
	user := prefix + "-" + kind
	if err := b.srv.clone("main-tmpl", user); err != nil {
		return nil, err
	}
	t := &Tool{Kind: kind, Dir: filepath.Join(b.work, "tools", user), User: user, Pass: benchPass, MDSync: b.o.MDSync, Timeout: b.p.runTimeout}
	return t, t.Reset()
}

func (b *Bench) watchMsg(link, n int) MsgSpec {
	return MsgSpec{Folder: 0, Index: 60_000_000 + link*1000 + n, Size: 6 * 1024, GenSeed: b.o.Seed}
}

// watchLatencies runs `mdsync watch` for t and measures, five times each,
// a server APPEND to INBOX until its file is in the Maildir, and a local
// rename that flags a message until the server has the flag.
func (b *Bench) watchLatencies(t *Tool, link, port int, addr string) (arrive, change []time.Duration, err error) {
	conf, err := t.config(port)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.MDSync, "--config", conf, "--json", "watch")
	cmd.Env = append(os.Environ(), "HOME="+t.Dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	passes := make(chan struct{}, 64)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case passes <- struct{}{}:
			default:
			}
		}
	}()
	select { // the first pass, then a moment for the IDLE connection
	case <-passes:
	case <-time.After(30 * time.Second):
		return nil, nil, fmt.Errorf("mdsync watch made no first pass")
	}
	time.Sleep(2 * time.Second)
	inbox := filepath.Join(t.MailRoot(), "INBOX")
	for n := 0; n < 5; n++ {
		before := countFiles(inbox)
		t0 := time.Now()
		if err := b.srv.appendNew(t.User, []string{"INBOX"}, [][]MsgSpec{{b.watchMsg(link, n)}}); err != nil {
			return nil, nil, err
		}
		if !waitFor(20*time.Second, func() bool { return countFiles(inbox) > before }) {
			return nil, nil, fmt.Errorf("an appended message did not arrive in 20 s")
		}
		arrive = append(arrive, time.Since(t0))
		time.Sleep(1500 * time.Millisecond) // the pass's own changes settle
	}
	c, err := b.srv.loginAt(addr, t.User)
	if err != nil {
		return nil, nil, err
	}
	defer logout(c)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return nil, nil, err
	}
	flagged := func() int {
		sd, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, nil).Wait()
		if err != nil {
			return -1
		}
		return len(sd.AllUIDs())
	}
	for n := 0; n < 5; n++ {
		files, _ := filepath.Glob(filepath.Join(inbox, "cur", "*:2,*"))
		sort.Strings(files)
		var target string
		for _, f := range files {
			if _, fl, _ := strings.Cut(filepath.Base(f), ":2,"); !strings.Contains(fl, "F") {
				target = f
				break
			}
		}
		if target == "" {
			return arrive, change, fmt.Errorf("no unflagged message left in INBOX/cur")
		}
		before := flagged()
		t0 := time.Now()
		if err := os.Rename(target, target+"F"); err != nil {
			return nil, nil, err
		}
		if !waitFor(20*time.Second, func() bool { return flagged() > before }) {
			return nil, nil, fmt.Errorf("a local flag did not reach the server in 20 s")
		}
		change = append(change, time.Since(t0))
		time.Sleep(1500 * time.Millisecond)
	}
	return arrive, change, nil
}

// waitFor polls cond every 2 ms (the measurement's resolution) until it
// holds, or limit passes.
func waitFor(limit time.Duration, cond func() bool) bool {
	for t0 := time.Now(); time.Since(t0) < limit; time.Sleep(2 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// countFiles counts a folder's messages in new/ and cur/.
func countFiles(folder string) int {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(folder, sub))
		n += len(ents)
	}
	return n
}
