package main

// End-to-end tests of `mdsync watch` against the private Dovecot: a real
// process, its --json pass lines read as events (each wait has a
// deadline), the server and the Maildir checked afterwards.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/lock"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// watchPass is a --json line of mdsync watch.
type watchPass struct {
	Pass    int            `json:"pass"`
	Name    string         `json:"name"`
	Full    bool           `json:"full"`
	Folders []string       `json:"folders"`
	Sources []string       `json:"sources"`
	OK      bool           `json:"ok"`
	Error   string         `json:"error"`
	Counts  map[string]int `json:"counts"`
	// QueuedMS: first trigger to start; DurationMS: the pass itself
	QueuedMS   int64     `json:"queued_ms"`
	DurationMS int64     `json:"duration_ms"`
	at         time.Time // when the line was read
}

// watchProc is a running mdsync watch.
type watchProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	passes chan watchPass
	stderr *syncBuffer
	exited chan struct{}
	seen   []watchPass // every pass read so far
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWatch starts `mdsync --json watch` on the account's config; the
// test's cleanup kills what is still running.
func startWatch(t *testing.T, conf string, args ...string) *watchProc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--config", conf, "--json", "watch"}, args...)...)
	w := &watchProc{t: t, cmd: cmd, passes: make(chan watchPass, 4096), stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = w.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var p watchPass
			if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
				w.stderr.Write([]byte("test: not a JSON pass line: " + sc.Text() + "\n"))
				continue
			}
			p.at = time.Now()
			w.passes <- p
		}
	}()
	go func() {
		<-lines
		cmd.Wait()
		close(w.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-w.exited:
		default:
			cmd.Process.Kill()
			<-w.exited
		}
		if t.Failed() {
			t.Logf("mdsync watch stderr:\n%s", w.stderr.String())
		}
	})
	return w
}

// waitPass returns the first pass from now on that want accepts, and fails
// the test if none comes within timeout.
func (w *watchProc) waitPass(timeout time.Duration, what string, want func(watchPass) bool) watchPass {
	w.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case p := <-w.passes:
			w.seen = append(w.seen, p)
			if want(p) {
				return p
			}
		case <-w.exited:
			w.t.Fatalf("mdsync watch exited (%v) while waiting for %s", w.cmd.ProcessState, what)
		case <-deadline.C:
			w.t.Fatalf("no pass with %s within %v; passes: %+v", what, timeout, w.seen)
		}
	}
}

// started waits for the first full pass to have succeeded.
func (w *watchProc) started() {
	w.t.Helper()
	w.waitPass(60*time.Second, "the first full pass", func(p watchPass) bool {
		return p.OK && p.Full && slices.Contains(p.Sources, "start")
	})
}

// stop sends SIGTERM and returns the exit code and how long the exit took.
func (w *watchProc) stop() (int, time.Duration) {
	w.t.Helper()
	sent := time.Now()
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(10 * time.Second):
		w.t.Fatalf("mdsync watch still running 10 s after SIGTERM")
	}
	return w.cmd.ProcessState.ExitCode(), time.Since(sent)
}

// withConf appends lines to the account's config (its last section is
// [channel.t]).
func withConf(t *testing.T, a *account, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(a.conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}

// deliver puts a message into a local folder the way a mail reader does:
// written to tmp/, renamed into new/.
func deliver(t *testing.T, folderDir, name string, msg []byte) {
	t.Helper()
	for _, sub := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(folderDir, sub), 0o700)
	}
	tmp := filepath.Join(folderDir, "tmp", name)
	if err := os.WriteFile(tmp, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(folderDir, "new", name)); err != nil {
		t.Fatal(err)
	}
}

// findLocal returns the path of the local file holding msg in folderDir.
func findLocal(t *testing.T, folderDir string, msg []byte) string {
	t.Helper()
	want := sha(msg)
	for _, sub := range []string{"cur", "new"} {
		ents, _ := os.ReadDir(filepath.Join(folderDir, sub))
		for _, e := range ents {
			p := filepath.Join(folderDir, sub, e.Name())
			b, err := os.ReadFile(p)
			if err == nil && dovecot.BodySHA256(b) == want {
				return p
			}
		}
	}
	return ""
}

// serverHas returns the server's copy of msg in folder, if any.
func serverHas(t *testing.T, d *dovecot.Server, user, folder string, msg []byte) (dovecot.ServerMsg, bool) {
	t.Helper()
	for _, m := range d.SnapshotFolder(t, user, folder) {
		if m.SHA256 == sha(msg) {
			return m, true
		}
	}
	return dovecot.ServerMsg{}, false
}

func needWatchServer(t *testing.T) *dovecot.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Dovecot and mdsync watch")
	}
	return dovecot.Start(t)
}

// TestWatchArrivalAndLocalChanges: with watch running, a message another
// client APPENDs to INBOX is in the local folder within 2 s (by IDLE, in a
// pass of INBOX alone), a file dropped into the local INBOX is on the server
// within 2 s, and so is a flag set by renaming a file.
func TestWatchArrivalAndLocalChanges(t *testing.T) {
	d := needWatchServer(t)
	a := newAccount(t, d, "watcharrive")
	first := dovecot.GenMessage(17, 0, 2000)
	d.Append(t, a.user, "INBOX", first)
	withConf(t, a, `poll = "1h"`) // nothing here may come from the poll
	w := startWatch(t, a.conf)
	w.started()
	inbox := filepath.Join(a.root, "INBOX")

	arrived := dovecot.GenMessage(17, 1, 3000)
	d.Append(t, a.user, "INBOX", arrived)
	sent := time.Now() // the APPEND is done (the helper's login came before it)
	p := w.waitPass(10*time.Second, "the APPENDed message fetched", func(p watchPass) bool { return p.OK && p.Counts["fetched"] >= 1 })
	arrival := p.at.Sub(sent)
	t.Logf("arrival pass: queued %d ms, ran %d ms", p.QueuedMS, p.DurationMS)
	if findLocal(t, inbox, arrived) == "" {
		t.Fatalf("pass %+v said fetched, but the message is not in %s", p, inbox)
	}
	if p.Full || !slices.Equal(p.Folders, []string{"INBOX"}) || !slices.Contains(p.Sources, "idle") {
		t.Errorf("the arrival came by pass %+v, want one of INBOX alone from IDLE", p)
	}
	if arrival > 2*time.Second {
		t.Errorf("arrival took %v, want within 2 s", arrival)
	}

	dropped := dovecot.GenMessage(17, 2, 2500)
	sent = time.Now()
	deliver(t, inbox, "1700000000.dropped.test", dropped)
	p = w.waitPass(10*time.Second, "the dropped file appended", func(p watchPass) bool { return p.OK && p.Counts["appended"] >= 1 })
	upload := p.at.Sub(sent)
	t.Logf("upload pass: queued %d ms, ran %d ms", p.QueuedMS, p.DurationMS)
	if _, ok := serverHas(t, d, a.user, "INBOX", dropped); !ok {
		t.Fatalf("pass %+v said appended, but the server's INBOX does not hold the message", p)
	}
	if upload > 2*time.Second {
		t.Errorf("the dropped file took %v to reach the server, want within 2 s", upload)
	}

	path := findLocal(t, inbox, first)
	base := filepath.Base(path)
	if i := strings.Index(base, ":2,"); i >= 0 {
		base = base[:i]
	}
	sent = time.Now()
	if err := os.Rename(path, filepath.Join(inbox, "cur", base+":2,FS")); err != nil {
		t.Fatal(err)
	}
	p = w.waitPass(10*time.Second, "the flags sent", func(p watchPass) bool { return p.OK && p.Counts["flags_to_server"] >= 1 })
	flagged := p.at.Sub(sent)
	m, _ := serverHas(t, d, a.user, "INBOX", first)
	if !slices.Contains(m.Flags, `\Seen`) || !slices.Contains(m.Flags, `\Flagged`) {
		t.Fatalf("server flags %v after the rename to :2,FS", m.Flags)
	}
	if flagged > 2*time.Second {
		t.Errorf("the flag change took %v to reach the server, want within 2 s", flagged)
	}
	t.Logf("latencies: arrival (APPEND to local file) %v, local file to server %v, local flag to server %v",
		arrival.Round(time.Millisecond), upload.Round(time.Millisecond), flagged.Round(time.Millisecond))
	if code, took := w.stop(); code != 0 || took > 2*time.Second {
		t.Errorf("SIGTERM: exit %d after %v, want 0 within 2 s", code, took)
	}
	a.assertConverged(t, map[string][]string{"INBOX": {sha(first), sha(arrived), sha(dropped)}})
}

// TestWatchPollsOtherFolders: a flag changed on the server in a folder
// that has no IDLE arrives within one poll interval.
func TestWatchPollsOtherFolders(t *testing.T) {
	d := needWatchServer(t)
	a := newAccount(t, d, "watchpoll")
	d.CreateFolder(t, a.user, "Archive")
	msg := dovecot.GenMessage(18, 0, 2000)
	uid := d.Append(t, a.user, "Archive", msg)
	const poll = 2 * time.Second
	withConf(t, a, fmt.Sprintf("poll = %q", poll.String()))
	w := startWatch(t, a.conf)
	w.started()
	sent := time.Now()
	d.SetFlags(t, a.user, "Archive", uid, imap.StoreFlagsAdd, imap.FlagFlagged)
	p := w.waitPass(3*poll, "the flag fetched", func(p watchPass) bool { return p.OK && p.Counts["flags_to_local"] >= 1 })
	took := p.at.Sub(sent)
	if !p.Full || !slices.Contains(p.Sources, "poll") {
		t.Errorf("the flag came by pass %+v, want a poll", p)
	}
	path := findLocal(t, filepath.Join(a.root, "Archive"), msg)
	if !strings.HasSuffix(path, ":2,F") {
		t.Fatalf("local file %q, want the F flag", path)
	}
	// one interval, plus the pass itself
	if took > poll+time.Second {
		t.Errorf("the flag took %v with a poll of %v", took, poll)
	}
	t.Logf("server flag in a polled folder to local file: %v (poll %v)", took.Round(time.Millisecond), poll)
}

// TestWatchServerRestart: Dovecot stopped under a running watch, a local
// change made meanwhile, Dovecot started again and a message APPENDed:
// watch reconnects, catches up both ways, and nothing is duplicated.
func TestWatchServerRestart(t *testing.T) {
	d := needWatchServer(t)
	a := newAccount(t, d, "watchrestart")
	first := dovecot.GenMessage(19, 0, 2000)
	d.Append(t, a.user, "INBOX", first)
	withConf(t, a, `poll = "1h"`)
	w := startWatch(t, a.conf)
	w.started()

	d.Down(t)
	offline := dovecot.GenMessage(19, 1, 2000)
	deliver(t, filepath.Join(a.root, "INBOX"), "1700000001.offline.test", offline)
	w.waitPass(10*time.Second, "a pass failing with the server away", func(p watchPass) bool { return !p.OK })
	d.Up(t)
	up := time.Now()
	later := dovecot.GenMessage(19, 2, 2000)
	d.Append(t, a.user, "INBOX", later)
	fetched, appended := 0, 0
	w.waitPass(30*time.Second, "the catch-up (the offline file up, the new message down)", func(p watchPass) bool {
		if p.OK {
			fetched += p.Counts["fetched"]
			appended += p.Counts["appended"]
		}
		return fetched >= 1 && appended >= 1
	})
	t.Logf("caught up %v after the server was back", time.Since(up).Round(time.Millisecond))
	if code, took := w.stop(); code != 0 || took > 2*time.Second {
		t.Errorf("SIGTERM: exit %d after %v, want 0 within 2 s", code, took)
	}
	a.assertConverged(t, map[string][]string{"INBOX": {sha(first), sha(offline), sha(later)}})
	if fetched != 1 || appended != 1 {
		t.Errorf("fetched %d and appended %d in all, want 1 and 1", fetched, appended)
	}
}

// TestWatchSIGTERM: SIGTERM ends watch within 2 s with exit 0, idle or in
// the middle of a big first pass; after the latter a sync fetches just the
// rest: nothing half done, nothing twice.
func TestWatchSIGTERM(t *testing.T) {
	d := needWatchServer(t)
	t.Run("idle", func(t *testing.T) {
		a := newAccount(t, d, "watchtermidle")
		d.Append(t, a.user, "INBOX", dovecot.GenMessage(20, 0, 1000))
		w := startWatch(t, a.conf)
		w.started()
		if code, took := w.stop(); code != 0 || took > 2*time.Second {
			t.Fatalf("exit %d after %v, want 0 within 2 s", code, took)
		}
	})
	t.Run("during a pass", func(t *testing.T) {
		a := newAccount(t, d, "watchtermbusy")
		const n = 3000
		var msgs [][]byte
		for i := 0; i < n; i++ {
			msgs = append(msgs, dovecot.GenMessage(21, i, 3000))
		}
		d.BulkLoad(t, a.user, "INBOX", msgs)
		w := startWatch(t, a.conf)
		inbox := filepath.Join(a.root, "INBOX")
		deadline := time.Now().Add(60 * time.Second)
		for countFiles(t, inbox) < n/10 { // bounded wait for the download to be under way
			select {
			case <-w.exited:
				t.Fatalf("watch ended: %s", w.stderr.String())
			case <-time.After(5 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatal("no download after 60 s")
			}
		}
		code, took := w.stop()
		if code != 0 || took > 2*time.Second {
			t.Errorf("exit %d after %v, want 0 within 2 s", code, took)
		}
		onDisk := countFiles(t, inbox)
		if onDisk == n {
			t.Fatal("the whole download was done before SIGTERM: the test proves nothing")
		}
		cmd := exec.Command(binary, "--config", a.conf, "--json", "sync")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sync after: %v\n%s", err, out)
		}
		var sum struct {
			Targets []struct {
				Counts map[string]int `json:"counts"`
			} `json:"targets"`
		}
		if err := json.Unmarshal(out, &sum); err != nil || len(sum.Targets) != 1 {
			t.Fatalf("json: %v\n%s", err, out)
		}
		if got := sum.Targets[0].Counts["fetched"]; got != n-onDisk {
			t.Errorf("the sync after fetched %d, want %d (%d were on disk)", got, n-onDisk, onDisk)
		}
		if dup := dovecot.Duplicates(dovecot.LocalState(t, a.root)); len(dup) > 0 {
			t.Errorf("duplicates: %v", dup)
		}
		t.Logf("stopped after %v with %d of %d messages down", took.Round(time.Millisecond), onDisk, n)
	})
}

// TestWatchSIGHUP: SIGHUP reads the config again: a channel added to it
// is synced and watched.
func TestWatchSIGHUP(t *testing.T) {
	d := needWatchServer(t)
	a := newAccount(t, d, "watchhup")
	withConf(t, a, `poll = "1h"`)
	w := startWatch(t, a.conf)
	w.started()

	d.AddUser(t, "watchhup2", "pw")
	root2 := filepath.Join(a.dir, "mail2")
	withConf(t, a, fmt.Sprintf(`
[imap.t2]
host = "127.0.0.1"
port = %d
tls = "none"
user = "watchhup2"
password = "pw"
[maildir.t2]
path = %q
[channel.t2]
imap = "t2"
maildir = "t2"
poll = "1h"`, d.IMAPPort, root2))
	w.cmd.Process.Signal(syscall.SIGHUP)
	w.waitPass(30*time.Second, "a first pass of the new channel", func(p watchPass) bool {
		return p.OK && p.Name == "t2" && slices.Contains(p.Sources, "start")
	})
	msg := dovecot.GenMessage(22, 0, 2000)
	sent := time.Now()
	d.Append(t, "watchhup2", "INBOX", msg)
	p := w.waitPass(10*time.Second, "the new channel's arrival", func(p watchPass) bool {
		return p.OK && p.Name == "t2" && p.Counts["fetched"] >= 1
	})
	if findLocal(t, filepath.Join(root2, "INBOX"), msg) == "" {
		t.Fatal("the message is not in the new channel's Maildir")
	}
	t.Logf("new channel after SIGHUP: arrival in %v", p.at.Sub(sent).Round(time.Millisecond))
	if code, took := w.stop(); code != 0 || took > 2*time.Second {
		t.Errorf("SIGTERM: exit %d after %v, want 0 within 2 s", code, took)
	}
}

// TestWatchHoldsTheLock: a pass waits while another run holds the lock
// (it fails, and is tried again once the lock is free), so a cron sync
// and watch never overlap.
func TestWatchHoldsTheLock(t *testing.T) {
	d := needWatchServer(t)
	a := newAccount(t, d, "watchlock")
	withConf(t, a, `poll = "1h"`)
	w := startWatch(t, a.conf)
	w.started()
	lk, err := lock.Acquire(filepath.Join(a.dir, "state"))
	if err != nil {
		t.Fatalf("watch holds the lock while idle: %v", err)
	}
	msg := dovecot.GenMessage(23, 0, 2000)
	d.Append(t, a.user, "INBOX", msg)
	p := w.waitPass(10*time.Second, "a pass refused the lock", func(p watchPass) bool { return !p.OK })
	if !strings.Contains(p.Error, "holds the lock") {
		t.Fatalf("failed pass %+v, want the lock held", p)
	}
	if findLocal(t, filepath.Join(a.root, "INBOX"), msg) != "" {
		t.Fatal("a pass ran while the lock was held")
	}
	lk.Release()
	w.waitPass(15*time.Second, "the retry after the lock was released", func(p watchPass) bool { return p.OK && p.Counts["fetched"] == 1 })
}

// procStat reads a process's CPU time (user+system) and resident memory.
func procStat(t *testing.T, pid int) (cpu time.Duration, rssKB int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// fields after the command name in parentheses: state is field 3,
	// utime 14, stime 15 (in clock ticks, 100 per second on Linux)
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	cpu = time.Duration(ut+st) * 10 * time.Millisecond
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			rssKB, _ = strconv.Atoi(strings.Fields(l)[1])
		}
	}
	return cpu, rssKB
}

// TestWatchIdleCostAndSoak measures what watch costs while nothing
// happens (CPU over 30 s; it must be next to nothing) and its memory over
// a soak of a few hundred passes (it must stay level).
func TestWatchIdleCostAndSoak(t *testing.T) {
	d := needWatchServer(t)
	a := newAccount(t, d, "watchsoak")
	d.CreateFolder(t, a.user, "Archive")
	var msgs [][]byte
	for i := 0; i < 200; i++ {
		msgs = append(msgs, dovecot.GenMessage(24, i, 2000))
	}
	d.AppendMany(t, a.user, "INBOX", msgs[:150])
	d.AppendMany(t, a.user, "Archive", msgs[150:])
	withConf(t, a, `poll = "1h"`, `watch = ["INBOX", "Archive"]`)
	w := startWatch(t, a.conf)
	w.started()
	// a pass asked for by hand: what the start left waiting is merged in
	w.cmd.Process.Signal(syscall.SIGUSR1)
	w.waitPass(30*time.Second, "the pass SIGUSR1 asked for", func(p watchPass) bool { return p.OK && slices.Contains(p.Sources, "signal") })
	pid := w.cmd.Process.Pid

	const idle = 30 * time.Second
	cpu0, _ := procStat(t, pid)
	window := time.After(idle) // the measurement window; nothing waits on it
	for waiting := true; waiting; {
		select {
		case p := <-w.passes:
			// an IDLE connection that came up late asks for a pass of its
			// folder; nothing else may run while nothing happens
			if !slices.Equal(p.Sources, []string{"connect"}) {
				t.Fatalf("a pass while idle: %+v", p)
			}
		case <-window:
			waiting = false
		}
	}
	cpu1, rssStart := procStat(t, pid)
	idleCPU := cpu1 - cpu0
	t.Logf("idle: %v of CPU over %v (%.3f%%), RSS %d kB", idleCPU, idle, 100*idleCPU.Seconds()/idle.Seconds(), rssStart)
	if idleCPU > 300*time.Millisecond {
		t.Errorf("%v of CPU over %v of idle, want next to none", idleCPU, idle)
	}

	const passes = 300
	start := time.Now()
	rss := []int{rssStart} // every 50 passes
	for i := 0; i < passes; i++ {
		w.cmd.Process.Signal(syscall.SIGUSR1)
		w.waitPass(30*time.Second, fmt.Sprintf("pass %d of the soak", i+1), func(p watchPass) bool {
			return p.OK && slices.Contains(p.Sources, "signal")
		})
		if (i+1)%50 == 0 {
			_, r := procStat(t, pid)
			rss = append(rss, r)
		}
	}
	cpu2, rssEnd := procStat(t, pid)
	soak := time.Since(start)
	t.Logf("soak: %d full passes in %v (%v each, %v CPU in all); RSS in kB every 50 passes: %v",
		passes, soak.Round(time.Millisecond), (soak / passes).Round(time.Millisecond), cpu2-cpu1, rss)
	// level once warm: the second half adds (next to) nothing
	if half := rss[len(rss)/2]; rssEnd > half+4*1024 {
		t.Errorf("RSS still growing: %d kB after %d passes, %d kB after %d", half, passes/2, rssEnd, passes)
	}
	if rssEnd > rssStart+16*1024 {
		t.Errorf("RSS grew from %d kB to %d kB over %d passes", rssStart, rssEnd, passes)
	}
	if code, took := w.stop(); code != 0 || took > 2*time.Second {
		t.Errorf("SIGTERM: exit %d after %v, want 0 within 2 s", code, took)
	}
}

// TestWatchPollsPOP: a POP account (no IDLE) is fetched at its own poll
// interval, beside a channel that is not polled meanwhile.
func TestWatchPollsPOP(t *testing.T) {
	d := needWatchServer(t)
	a := newAccount(t, d, "watchpop")
	d.AddUser(t, "watchpop2", "pw")
	popRoot := filepath.Join(a.dir, "popmail")
	const poll = 2 * time.Second
	withConf(t, a, `poll = "1h"`, fmt.Sprintf(`
[maildir.p]
path = %q
[pop.p]
host = "127.0.0.1"
port = %d
tls = "none"
user = "watchpop2"
password = "pw"
maildir = "p"
poll = %q`, popRoot, d.POP3Port, poll.String()))
	w := startWatch(t, a.conf)
	w.waitPass(60*time.Second, "the first pass of the POP account", func(p watchPass) bool {
		return p.OK && p.Name == "p" && slices.Contains(p.Sources, "start")
	})
	msg := dovecot.GenMessage(25, 0, 2000)
	d.Append(t, "watchpop2", "INBOX", msg)
	sent := time.Now()
	p := w.waitPass(3*poll, "the POP fetch", func(p watchPass) bool { return p.OK && p.Name == "p" && p.Counts["fetched"] == 1 })
	if !slices.Contains(p.Sources, "poll") {
		t.Errorf("the POP fetch came by pass %+v, want a poll", p)
	}
	if findLocal(t, filepath.Join(popRoot, "INBOX"), msg) == "" {
		t.Fatal("the message is not in the POP account's Maildir")
	}
	if took := p.at.Sub(sent); took > poll+time.Second {
		t.Errorf("the POP fetch took %v with a poll of %v", took, poll)
	}
	for _, q := range w.seen {
		if q.Name == "t" && slices.Contains(q.Sources, "poll") {
			t.Errorf("the channel (poll = 1h) was polled: %+v", q)
		}
	}
}
