// Package bench is mdsync's side-by-side benchmark against mbsync,
// OfflineIMAP, mpop and getmail6 on a private Dovecot (issues 4 and 5).
// cmd/mdsync-bench is its command line; `make bench` and `make
// bench-quick` run it.
package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// Options configures Run.
type Options struct {
	MDSync  string          // path of the mdsync binary
	Quick   bool            // small corpus, < 2 minutes
	Runs    int             // repetitions per measurement (median), >= 3
	Peers   []string        // IMAP peers: mbsync, offlineimap
	Only    map[string]bool // sections to run (sync, latency, watch, pop, scale); empty: all
	Latency time.Duration   // one-way delay of scenario 7
	Seed    int64
	OutDir  string // the markdown report goes here
	WorkDir string // scratch; "" makes a temp dir, removed unless Keep
	Keep    bool
	Log     io.Writer
}

type params struct {
	corpus       CorpusParams
	newMsgs      int // scenario 4
	flagFrac     float64
	localDeletes int   // scenario 5
	scaleSizes   []int // scenario 6
	scaleOffline int   // largest scenario-6 size OfflineIMAP runs at
	// latencyScenarios limits scenario 7 to the first n of 2-5 (0: all)
	latencyScenarios int
	popPeers         []string      // POP3 peers (getmail6 takes minutes)
	runTimeout       time.Duration // a tool run taking longer is killed and counts as failed
	popN             int
	popBig           int
}

func modeParams(o Options) params {
	if o.Quick {
		return params{
			corpus: CorpusParams{Seed: o.Seed, Folders: QuickFolders, N: 2000, MedianKB: 6,
				AttachPct: 5, AttachMin: 100 << 10, AttachMax: 2 << 20},
			newMsgs: 100, flagFrac: 0.01, localDeletes: 50,
			scaleSizes: []int{100, 1000, 5000}, scaleOffline: 1000,
			popPeers: []string{"mpop"}, runTimeout: 2 * time.Minute,
			latencyScenarios: 2,
			popN:             500, popBig: 50 << 20,
		}
	}
	return params{
		corpus: CorpusParams{Seed: o.Seed, Folders: FullFolders, N: 20000, MedianKB: 6,
			AttachPct: 5, AttachMin: 100 << 10, AttachMax: 2 << 20, Huge: 25 << 20},
		newMsgs: 200, flagFrac: 0.01, localDeletes: 100,
		scaleSizes: []int{2000, 20000, 200000}, scaleOffline: 20000,
		popN: 5000, popBig: 50 << 20,
		popPeers: []string{"mpop", "getmail"}, runTimeout: 20 * time.Minute,
	}
}

// cell holds the runs of one tool in one measurement.
type cell struct {
	ms []Measurement
}

// result is one measurement row: a scenario and its runs per tool.
type result struct {
	id, title string
	cells     map[string]*cell
	note      string
}

// Bench is one benchmark run.
type Bench struct {
	o      Options
	p      params
	tb     *benchTB
	srv    *server
	ctx    context.Context
	start  time.Time
	work   string
	res    map[string]*result
	order  []string
	fails  []string
	notes  []string
	info   map[string]string
	corpus *Corpus
	popC   *Corpus
	scaleC map[int]string
	done   []string // sections finished
	// floorSeq: what the server floor knew of each folder of its user
	floorSeq map[string]floorMark
	// floorMsgs: the messages and flags scenario 5's server floor left on
	// its user (nil: not known yet)
	floorMsgs []folderUID
	// watchRows: scenario 9 (watchSection)
	watchRows []watchRow
}

// floorUser holds a clone of the corpus on which the server floors of
// scenarios 3-5 are measured (see serverFloor).
const floorUser = "main-floor"

func (b *Bench) logf(format string, args ...any) {
	fmt.Fprintf(b.o.Log, "[%6.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

func (b *Bench) result(id, title string) *result {
	r := b.res[id]
	if r == nil {
		r = &result{id: id, title: title, cells: map[string]*cell{}}
		b.res[id] = r
		b.order = append(b.order, id)
	}
	return r
}

func (b *Bench) record(id, title, tool string, m Measurement) {
	r := b.result(id, title)
	c := r.cells[tool]
	if c == nil {
		c = &cell{}
		r.cells[tool] = c
	}
	c.ms = append(c.ms, m)
	status := "ok"
	if m.Err != nil {
		status = "FAILED"
		first := strings.SplitN(m.Err.Error(), "\n", 2)[0]
		b.fails = append(b.fails, fmt.Sprintf("scenario %s (%s), %s run %d: %v", id, title, tool, len(c.ms), m.Err))
		b.logf("  %s %s run %d: FAILED: %s", id, tool, len(c.ms), first)
	}
	b.logf("  %-8s %-12s %8.3fs  rss %6.1f MB  %s", id, tool, m.Dur.Seconds(), float64(m.RSSKB)/1024, status)
}

// Run runs the benchmark and writes the report; the error is about the
// harness, not about a tool failing a scenario (that is in the report).
func Run(ctx context.Context, o Options) (reportPath string, err error) {
	if o.Runs < 1 {
		o.Runs = 3
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	b := &Bench{o: o, p: modeParams(o), ctx: ctx, start: time.Now(), res: map[string]*result{},
		info: map[string]string{}, scaleC: map[int]string{}}
	if o.WorkDir == "" {
		// Short path: Dovecot's unix sockets live below it.
		b.work, err = os.MkdirTemp("/tmp", "mdb")
		if err != nil {
			return "", err
		}
		if !o.Keep {
			defer os.RemoveAll(b.work)
		}
	} else {
		b.work = o.WorkDir
		if err := os.MkdirAll(b.work, 0o755); err != nil {
			return "", err
		}
	}
	if err := os.Chmod(b.work, 0o755); err != nil {
		return "", err
	}
	// Run a private copy: others rebuild bin/mdsync while a full run (tens
	// of minutes) is under way, and one run must measure one binary.
	if err := copyFile(o.MDSync, filepath.Join(b.work, "mdsync")); err != nil {
		return "", fmt.Errorf("copying the mdsync binary: %w", err)
	}
	b.o.MDSync = filepath.Join(b.work, "mdsync")
	o = b.o
	b.tb = newTB(b.work, func(f string, a ...any) { b.logf(f, a...) })
	defer b.tb.runCleanups()
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("harness: %s\n%s", f.msg, debug.Stack())
		}
	}()
	b.collectInfo()
	b.logf("starting Dovecot")
	d := dovecot.Start(b.tb, dovecot.WithConfig(
		"mail_max_userip_connections = 100",
		"imap_max_line_length = 1M",
	))
	b.srv = &server{d: d, tb: b.tb}
	b.info["dovecot"] = strings.TrimSpace(cmdOut("dovecot", "--version"))

	reportPath = filepath.Join(o.OutDir, fmt.Sprintf("%s-%s.md", time.Now().Format("2006-01-02"), b.mode()))
	write := func() {
		if err := os.MkdirAll(o.OutDir, 0o755); err == nil {
			_ = os.WriteFile(reportPath, []byte(b.report()), 0o644)
		}
	}
	sections := []struct {
		name string
		f    func() error
	}{
		{"sync", b.syncSection}, {"watch", b.watchSection}, {"pop", b.popSection}, {"scale", b.scaleSection},
	}
	for _, s := range sections {
		if len(o.Only) > 0 && !o.Only[s.name] && !(s.name == "sync" && (o.Only["latency"] || o.Only["watch"])) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return reportPath, err
		}
		b.logf("=== section %s", s.name)
		if err := s.f(); err != nil {
			b.notes = append(b.notes, fmt.Sprintf("section %s stopped: %v", s.name, err))
			b.logf("section %s stopped: %v", s.name, err)
		}
		b.done = append(b.done, s.name)
		write()
	}
	b.logf("done in %s; report %s", time.Since(b.start).Round(time.Second), reportPath)
	return reportPath, nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}

func (b *Bench) mode() string {
	if b.o.Quick {
		return "quick"
	}
	return "full"
}

func cmdOut(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "n/a (" + err.Error() + ")"
	}
	return string(out)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func (b *Bench) collectInfo() {
	b.info["nproc"] = strings.TrimSpace(cmdOut("nproc"))
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		b.info["memory"] = strings.Join(strings.Fields(firstLine(string(data)))[1:], " ")
	}
	b.info["kernel"] = strings.TrimSpace(cmdOut("uname", "-srm"))
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				b.info["cpu"] = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	b.info["go"] = strings.TrimSpace(cmdOut("go", "version"))
	b.info["mdsync"] = strings.TrimSpace(cmdOut(b.o.MDSync, "version"))
	b.info["mbsync"] = firstLine(cmdOut("mbsync", "--version"))
	b.info["offlineimap"] = firstLine(lastLine(cmdOut("offlineimap", "--version")))
	b.info["mpop"] = firstLine(cmdOut("mpop", "--version"))
	b.info["getmail"] = firstLine(cmdOut("getmail", "--version"))
	if rev := strings.TrimSpace(cmdOut("git", "rev-parse", "--short", "HEAD")); !strings.HasPrefix(rev, "n/a") {
		if exec.Command("git", "diff", "--quiet", "HEAD", "--", ".", ":!bench").Run() != nil {
			rev += " + uncommitted changes in the tree"
		}
		b.info["commit"] = rev
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// order returns tools in the round's order: forward on even rounds,
// reversed on odd ones (A B, B A, A B ...).
func order[T any](ts []T, round int) []T {
	out := append([]T(nil), ts...)
	if round%2 == 1 {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// runRounds runs every tool Runs times against port. prep runs once per
// round before any tool; before runs per tool before its run (untimed).
func (b *Bench) runRounds(id, title string, tools []*Tool, port int, prep func(round int) error, before func(t *Tool, round int) error) error {
	b.logf("scenario %s: %s", id, title)
	for round := 0; round < b.o.Runs; round++ {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		if prep != nil {
			if err := prep(round); err != nil {
				return fmt.Errorf("scenario %s: preparing round %d: %w", id, round, err)
			}
		}
		for _, t := range order(tools, round) {
			if before != nil {
				if err := before(t, round); err != nil {
					return fmt.Errorf("scenario %s: preparing %s: %w", id, t.Kind, err)
				}
			}
			t.settle()
			m := t.Run(b.ctx, port)
			if m.Err == nil {
				if diff := b.verify(t); diff != "" {
					m.Err = fmt.Errorf("incomplete result after `%s` (exit 0): %s", t.Kind, diff)
				}
			}
			b.record(id, title, t.Kind, m)
		}
	}
	return nil
}

func (b *Bench) verify(t *Tool) string {
	sv, err := serverView(b.srv.d.IMAPAddr(), t.User, benchPass)
	if err != nil {
		return "listing the server: " + err.Error()
	}
	lv, err := localView(t.MailRoot())
	if err != nil {
		return "scanning the Maildir: " + err.Error()
	}
	return compare(sv, lv)
}

func (b *Bench) newTools(prefix string, kinds []string) ([]*Tool, error) {
	var ts []*Tool
	for _, k := range kinds {
		user := prefix + "-" + k
		if err := b.srv.clone(prefix+"-tmpl", user); err != nil {
			return nil, err
		}
		t := &Tool{Kind: k, Dir: filepath.Join(b.work, "tools", user), User: user, Pass: benchPass, MDSync: b.o.MDSync, Timeout: b.p.runTimeout}
		if err := t.Reset(); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func (b *Bench) kinds() []string { return append([]string{"mdsync"}, b.o.Peers...) }

func users(tools []*Tool) []string {
	var us []string
	for _, t := range tools {
		us = append(us, t.User)
	}
	return us
}

// newMessages returns n new messages for round, spread over folders.
func (b *Bench) newMessages(round, n int) [][]MsgSpec {
	r := rand.New(rand.NewPCG(uint64(b.o.Seed), uint64(1000+round)))
	out := make([][]MsgSpec, len(b.corpus.Folders))
	w := folderWeights(b.corpus.Folders)
	var total float64
	for _, x := range w {
		total += x
	}
	for k := 0; k < n; k++ {
		x := r.Float64() * total
		f := 0
		for f < len(w)-1 && x >= w[f] {
			x -= w[f]
			f++
		}
		size := int(min(max(6*1024*(0.5+r.Float64()), 900), 40000))
		out[f] = append(out[f], MsgSpec{Folder: f, Index: 50_000_000 + round*100_000 + k, Size: size, GenSeed: b.o.Seed})
	}
	return out
}

// syncSection: scenarios 1-5, 8, the floors, and 7 through the proxy.
func (b *Bench) syncSection() error {
	b.corpus = NewCorpus(b.p.corpus)
	b.info["corpus"] = b.corpus.Describe()
	b.logf("loading corpus: %s", b.info["corpus"])
	t0 := time.Now()
	if err := b.srv.load("main-tmpl", b.corpus); err != nil {
		return fmt.Errorf("loading the corpus: %w", err)
	}
	b.logf("corpus loaded in %s", time.Since(t0).Round(time.Millisecond))
	tools, err := b.newTools("main", b.kinds())
	if err != nil {
		return err
	}
	if err := b.srv.clone("main-tmpl", floorUser); err != nil {
		return err
	}
	port := b.srv.d.IMAPPort
	runSync := len(b.o.Only) == 0 || b.o.Only["sync"]
	if !runSync {
		// the latency scenarios need synced Maildirs: one untimed sync
		for _, t := range tools {
			if m := t.Run(b.ctx, port); m.Err != nil {
				b.notes = append(b.notes, fmt.Sprintf("initial sync of %s failed: %v", t.Kind, m.Err))
			}
		}
	} else {
		if err := b.runRounds("1", "initial sync", tools, port, nil, func(t *Tool, _ int) error { return t.Reset() }); err != nil {
			return err
		}
		if err := b.floors(); err != nil {
			b.notes = append(b.notes, "floors: "+err.Error())
		}
		if err := b.incrementalScenarios("", tools, port); err != nil {
			return err
		}
	}
	if len(b.o.Only) == 0 || b.o.Only["latency"] {
		proxy, err := StartProxy(b.srv.d.IMAPAddr(), b.o.Latency)
		if err != nil {
			return err
		}
		defer proxy.Close()
		if err := b.incrementalScenarios("7.", tools, proxy.Port()); err != nil {
			return err
		}
	}
	return nil
}

// incrementalScenarios runs 2-5 (prefix "") or 7.2-7.5 (prefix "7.").
func (b *Bench) incrementalScenarios(prefix string, tools []*Tool, port int) error {
	sfx := ""
	if prefix != "" {
		sfx = fmt.Sprintf(" (%s one-way)", b.o.Latency)
	}
	if err := b.runRounds(prefix+"2", "no-change resync"+sfx, tools, port, nil, nil); err != nil {
		return err
	}
	limit := 4
	if prefix != "" && b.p.latencyScenarios > 0 {
		limit = b.p.latencyScenarios
		b.notes = append(b.notes, fmt.Sprintf("scenario 7 ran only %d of scenarios 2-5 in this mode (time limit of the quick mode)", limit))
	}
	round0 := 0
	if prefix != "" {
		round0 = 100 // other messages and flags than the loopback rounds
	}
	if limit < 2 {
		return nil
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// what the floor knows of its folders before the first changes (the
	// scenario 5 rounds before changed them too)
	var err error
	if b.floorSeq, err = b.srv.floorMarks(floorUser); err != nil {
		return fmt.Errorf("server floor: %w", err)
	}
	// floor measures the server floor of a scenario after its changes
	floor := func(id, title string) {
		time.Sleep(1100 * time.Millisecond) // as the tools settle
		d, next, err := b.srv.serverFloor(addr, floorUser, b.floorSeq)
		if err == nil {
			b.floorSeq = next
		}
		b.record(id, title, "server", Measurement{Dur: d, Err: err})
	}
	title3 := fmt.Sprintf("%.0f%% server flag changes%s", b.p.flagFrac*100, sfx)
	if err := b.runRounds(prefix+"3", title3, tools, port,
		func(round int) error {
			for _, u := range append(users(tools), floorUser) {
				r := rand.New(rand.NewPCG(uint64(b.o.Seed), uint64(2000+round0+round)))
				if _, err := b.srv.toggleFlagged(u, b.p.flagFrac, r); err != nil {
					return err
				}
			}
			b.floorMsgs = nil // scenario 5's floor lists its messages again
			floor(prefix+"3", title3)
			return nil
		}, nil); err != nil {
		return err
	}
	if limit < 3 {
		return nil
	}
	title4 := fmt.Sprintf("%d new server messages%s", b.p.newMsgs, sfx)
	if err := b.runRounds(prefix+"4", title4, tools, port,
		func(round int) error {
			msgs := b.newMessages(round0+round, b.p.newMsgs)
			for _, u := range append(users(tools), floorUser) {
				if err := b.srv.appendNew(u, b.corpus.Folders, msgs); err != nil {
					return err
				}
			}
			b.floorMsgs = nil // scenario 5's floor lists its messages again
			floor(prefix+"4", title4)
			return nil
		}, nil); err != nil {
		return err
	}
	if limit < 4 {
		return nil
	}
	title := fmt.Sprintf("%.0f%% local flag changes + %d local deletions%s", b.p.flagFrac*100, b.p.localDeletes, sfx)
	return b.runRounds(prefix+"5", title, tools, port, func(round int) error {
		r := rand.New(rand.NewPCG(uint64(b.o.Seed), uint64(4000+round0+round)))
		d, left, err := b.srv.serverFloorWrite(addr, floorUser, b.floorMsgs, b.p.flagFrac, b.p.localDeletes, r)
		b.floorMsgs = left
		b.record(prefix+"5", title, "server", Measurement{Dur: d, Err: err})
		return nil
	}, func(t *Tool, round int) error {
		r := rand.New(rand.NewPCG(uint64(b.o.Seed), uint64(3000+round0+round)))
		f, d, err := mutateLocal(t.MailRoot(), b.p.flagFrac, b.p.localDeletes, r)
		if err != nil {
			return err
		}
		if d != b.p.localDeletes {
			b.notes = append(b.notes, fmt.Sprintf("scenario %s5: %s round %d: only %d deletions possible", prefix, t.Kind, round, d))
		}
		_ = f
		t.touched = time.Now()
		return nil
	})
}

// floors measures a bare pipelined fetch of every body over one connection
// and `cp -a` + `sync` of the server's Maildir.
func (b *Bench) floors() error {
	b.logf("floors")
	for round := 0; round < b.o.Runs; round++ {
		start := time.Now()
		n, err := b.fetchAll("main-tmpl")
		m := Measurement{Dur: time.Since(start), Err: err}
		if err == nil && n != len(b.corpus.Msgs) {
			m.Err = fmt.Errorf("fetched %d of %d messages", n, len(b.corpus.Msgs))
		}
		b.record("floor.fetch", "bare pipelined fetch of all bodies, one connection", "floor", m)

		dst := filepath.Join(b.work, "cpfloor")
		src := b.srv.d.MailDir("main-tmpl")
		_ = exec.Command("sync").Run()
		start = time.Now()
		out, err := exec.Command("sh", "-c", `cp -a "$1" "$2" && sync`, "sh", src, dst).CombinedOutput()
		m = Measurement{Dur: time.Since(start)}
		if err != nil {
			m.Err = fmt.Errorf("cp -a + sync: %v: %s", err, out)
		}
		b.record("floor.cp", "`cp -a` + `sync` of the server Maildir", "floor", m)
		_ = os.RemoveAll(dst)
	}
	return nil
}

func (b *Bench) fetchAll(user string) (int, error) {
	c, err := b.srv.login(user)
	if err != nil {
		return 0, err
	}
	defer logout(c)
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range list {
		if hasAttr(l.Attrs, imap.MailboxAttrNoSelect) {
			continue
		}
		sel, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return n, err
		}
		if sel.NumMessages == 0 {
			continue
		}
		fc := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
			UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		})
		for msg := fc.Next(); msg != nil; msg = fc.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				if it, ok := item.(imapclient.FetchItemDataBodySection); ok && it.Literal != nil {
					if _, err := io.Copy(io.Discard, it.Literal); err != nil {
						fc.Close()
						return n, err
					}
					n++
				}
			}
		}
		if err := fc.Close(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// scaleSection: scenario 6, no-change resync at growing mailbox sizes.
func (b *Bench) scaleSection() error {
	kinds := b.kinds()
	for _, size := range b.p.scaleSizes {
		prefix := fmt.Sprintf("s%d", size)
		c := NewCorpus(CorpusParams{Seed: b.o.Seed + int64(size), Folders: QuickFolders,
			Weights: []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, N: size, MedianKB: 2})
		b.scaleC[size] = c.Describe()
		b.logf("scenario 6 at %d: loading %s", size, b.scaleC[size])
		if err := b.srv.load(prefix+"-tmpl", c); err != nil {
			return err
		}
		var ks []string
		for _, k := range kinds {
			if k == "offlineimap" && size > b.p.scaleOffline {
				continue
			}
			ks = append(ks, k)
		}
		tools, err := b.newTools(prefix, ks)
		if err != nil {
			return err
		}
		b.srv.drop(prefix + "-tmpl")
		id := fmt.Sprintf("6.%d", size)
		for _, t := range tools {
			b.logf("scenario 6 at %d: initial sync of %s (untimed for the table)", size, t.Kind)
			m := t.Run(b.ctx, b.srv.d.IMAPPort)
			if m.Err == nil {
				if diff := b.verify(t); diff != "" {
					m.Err = fmt.Errorf("incomplete result: %s", diff)
				}
			}
			b.record(id+".init", fmt.Sprintf("initial sync of %s small messages (1 run)", thousands(size)), t.Kind, m)
		}
		if err := b.runRounds(id, fmt.Sprintf("no-change resync at %s messages", thousands(size)), tools, b.srv.d.IMAPPort, nil, nil); err != nil {
			return err
		}
		for _, t := range tools {
			b.srv.drop(t.User)
			_ = os.RemoveAll(t.Dir)
		}
	}
	return nil
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	return strings.Join(append([]string{s}, out...), ",")
}

// popSection: issue 4's POP3 benchmark.
func (b *Bench) popSection() error {
	b.popC = NewCorpus(CorpusParams{Seed: b.o.Seed + 4, Folders: []string{"INBOX"}, N: b.p.popN, MedianKB: 6,
		AttachPct: 7.5, AttachMin: 100 << 10, AttachMax: 2 << 20})
	b.info["pop corpus"] = b.popC.Describe()
	b.logf("POP3: loading %s", b.info["pop corpus"])
	if err := b.srv.load("pop", b.popC); err != nil {
		return err
	}
	kinds := append([]string{"mdsync"}, b.p.popPeers...)
	if !contains(kinds, "getmail") {
		b.notes = append(b.notes, "POP3: getmail6 is left out in this mode (it takes minutes); `make bench` runs it")
	}
	var tools []*popTool
	for _, k := range kinds {
		tools = append(tools, &popTool{Kind: k, Dir: filepath.Join(b.work, "pop", k), User: "pop", Port: b.srv.d.POP3Port, MDSync: b.o.MDSync, Timeout: b.p.runTimeout})
	}
	check := func(t *popTool, m *Measurement, want int) {
		if m.Err != nil {
			return
		}
		n, err := t.count()
		if err != nil {
			m.Err = err
		} else if n != want {
			m.Err = fmt.Errorf("incomplete: %d of %d messages delivered by %s", n, want, t.Kind)
		}
	}
	for round := 0; round < b.o.Runs; round++ {
		for _, t := range order(tools, round) {
			if err := t.reset(); err != nil {
				return err
			}
			m := t.run(b.ctx)
			check(t, &m, len(b.popC.Msgs))
			b.record("pop.fetch", fmt.Sprintf("first fetch of %s messages (%s)", thousands(len(b.popC.Msgs)), human(sumSize(b.popC))), t.Kind, m)
		}
	}
	for round := 0; round < b.o.Runs; round++ {
		for _, t := range order(tools, round) {
			m := t.run(b.ctx)
			check(t, &m, len(b.popC.Msgs))
			b.record("pop.rerun", "no-new-mail rerun", t.Kind, m)
		}
	}
	for _, t := range tools {
		_ = os.RemoveAll(t.Dir)
	}
	// Peak RSS with a 50 MB message in the mailbox.
	big := NewCorpus(CorpusParams{Seed: b.o.Seed + 50, Folders: []string{"INBOX"}, N: 20, MedianKB: 6, Huge: b.p.popBig})
	if err := b.srv.load("popbig", big); err != nil {
		return err
	}
	for _, t := range tools {
		t.User = "popbig"
		t.Dir += "-big"
		if err := t.reset(); err != nil {
			return err
		}
		m := t.run(b.ctx)
		check(t, &m, len(big.Msgs))
		b.record("pop.rss", fmt.Sprintf("peak RSS fetching 20 messages + one of %s (1 run)", human(int64(b.p.popBig))), t.Kind, m)
		_ = os.RemoveAll(t.Dir)
	}
	b.srv.drop("pop")
	b.srv.drop("popbig")
	return nil
}

func sumSize(c *Corpus) int64 {
	_, total, _, _, _ := c.Stats()
	return total
}

// median of the successful runs' durations; ok is false if none succeeded.
func (c *cell) median() (time.Duration, bool) {
	var ds []time.Duration
	for _, m := range c.ms {
		if m.Err == nil {
			ds = append(ds, m.Dur)
		}
	}
	if len(ds) == 0 {
		return 0, false
	}
	return median(ds), true
}

// median of durations (0 for none); of an even number, the mean of the
// middle two.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// maxRSS over all runs (failed ones included: memory is memory), in KB.
func (c *cell) maxRSS() int64 {
	var m int64
	for _, x := range c.ms {
		m = max(m, x.RSSKB)
	}
	return m
}

func (c *cell) failed() int {
	n := 0
	for _, m := range c.ms {
		if m.Err != nil {
			n++
		}
	}
	return n
}
