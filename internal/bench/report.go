package bench

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

var toolTitle = map[string]string{
	"mdsync": "mdsync", "mbsync": "mbsync", "offlineimap": "OfflineIMAP",
	"mpop": "mpop", "getmail": "getmail6", "floor": "floor", "server": "server floor",
}

func secs(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s < 1:
		return fmt.Sprintf("%.3f s", s)
	case s < 100:
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}

func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

// cellText is the median of a tool's runs, with failures spelled out.
func (b *Bench) cellText(id, tool string) string {
	r := b.res[id]
	if r == nil || r.cells[tool] == nil {
		return "–"
	}
	c := r.cells[tool]
	d, ok := c.median()
	f := c.failed()
	switch {
	case !ok:
		return fmt.Sprintf("**FAIL** (%d of %d)", f, len(c.ms))
	case f > 0:
		return fmt.Sprintf("%s (**%d of %d failed**)", secs(d), f, len(c.ms))
	}
	return secs(d)
}

func (b *Bench) med(id, tool string) (time.Duration, bool) {
	r := b.res[id]
	if r == nil || r.cells[tool] == nil {
		return 0, false
	}
	return r.cells[tool].median()
}

// ratio of mdsync's median to tool's in measurement id.
func (b *Bench) ratio(id, tool string) (float64, bool) {
	a, ok1 := b.med(id, "mdsync")
	p, ok2 := b.med(id, tool)
	if !ok1 || !ok2 || p <= 0 {
		return 0, false
	}
	return float64(a) / float64(p), true
}

func ratioText(x float64, ok bool) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.2fx", x)
}

type verdict struct {
	text string // the target
	got  string // what was measured
	ok   bool
	know bool // false: could not be evaluated
}

func (v verdict) mark() string {
	switch {
	case !v.know:
		return "? (" + v.got + ")"
	case v.ok:
		return "✓ " + v.got
	}
	return "✗ " + v.got
}

// ratioTarget: mdsync <= limit x peer in id.
func (b *Bench) ratioTarget(id, peer string, limit float64) verdict {
	x, ok := b.ratio(id, peer)
	v := verdict{text: fmt.Sprintf("<= %.1fx %s", limit, toolTitle[peer]), know: ok}
	if ok {
		v.got = fmt.Sprintf("%.2fx", x)
		v.ok = x <= limit
	} else {
		v.got = "no data"
	}
	return v
}

func joinVerdicts(vs ...verdict) (string, string) {
	var t, m []string
	for _, v := range vs {
		t = append(t, v.text)
		m = append(m, v.mark())
	}
	return strings.Join(t, "; "), strings.Join(m, "; ")
}

func (b *Bench) target(id string) (string, string) {
	switch id {
	case "1":
		return joinVerdicts(b.ratioTarget("1", "mbsync", 0.7), b.floorTarget())
	case "2", "3", "4", "5":
		return joinVerdicts(b.ratioTarget(id, "mbsync", 0.5))
	case "7.2":
		return joinVerdicts(b.ratioTarget(id, "mbsync", 0.1))
	case "7.3", "7.4", "7.5":
		return joinVerdicts(b.ratioTarget(id, "mbsync", 0.2))
	case "pop.fetch":
		return joinVerdicts(b.ratioTarget(id, "mpop", 0.8))
	case "pop.rerun":
		return joinVerdicts(b.ratioTarget(id, "mpop", 1.0))
	}
	return "", ""
}

func (b *Bench) floorTarget() verdict {
	a, ok1 := b.med("1", "mdsync")
	f, ok2 := b.med("floor.cp", "floor")
	v := verdict{text: "<= 1.5x `cp -a`+`sync` floor", know: ok1 && ok2 && f > 0}
	if v.know {
		x := float64(a) / float64(f)
		v.got, v.ok = fmt.Sprintf("%.2fx", x), x <= 1.5
	} else {
		v.got = "no data"
	}
	return v
}

func (b *Bench) rssTarget(id string, limitMB float64) verdict {
	v := verdict{text: fmt.Sprintf("mdsync < %.0f MB", limitMB)}
	r := b.res[id]
	if r == nil || r.cells["mdsync"] == nil {
		v.got = "no data"
		return v
	}
	kb := r.cells["mdsync"].maxRSS()
	v.know = kb > 0
	v.got = mb(kb)
	v.ok = float64(kb)/1024 < limitMB
	return v
}

// floorNote explains the server floor column and gives each floor as a
// ratio of mbsync's time (scenarios 3-5, prefix "" or "7.").
func (b *Bench) floorNote(w *strings.Builder, prefix string) {
	var parts []string
	for _, n := range []string{"3", "4", "5"} {
		id := prefix + n
		f, ok1 := b.med(id, "server")
		m, ok2 := b.med(id, "mbsync")
		if !ok1 || !ok2 || m <= 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: floor %s = %.2fx mbsync", id, secs(f), float64(f)/float64(m)))
	}
	if len(parts) == 0 {
		return
	}
	fmt.Fprintf(w, "Server floor: the least IMAP conversation that learns (3, 4) or pushes (5) the scenario's changes — connect, LOGIN, one LIST-STATUS, then per changed folder SELECT + UID FETCH (FLAGS) (CHANGEDSINCE) (3, 4; and in 4 UID FETCH of the new messages' bodies, read and dropped) or SELECT + UID STORE + UID EXPUNGE (5), every command pipelined on one connection, nothing written locally — run by the benchmark itself on its own clone of the corpus with changes of the same kind and number (in 3 and 4 the same ones; in 5 its own pick of as many messages). It is what Dovecot needs to serve any client; a tool cannot go below it. %s.\n\n", strings.Join(parts, "; "))
}

// table writes one markdown table of the measurements ids for tools.
func (b *Bench) table(w *strings.Builder, ids []string, tools []string, peers []string) {
	var present []string
	for _, id := range ids {
		if b.res[id] != nil {
			present = append(present, id)
		}
	}
	if len(present) == 0 {
		w.WriteString("_not run_\n\n")
		return
	}
	hdr := []string{"#", "scenario"}
	for _, t := range tools {
		hdr = append(hdr, toolTitle[t])
	}
	for _, p := range peers {
		hdr = append(hdr, "mdsync/"+toolTitle[p])
	}
	hdr = append(hdr, "target", "met")
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(hdr, " | "), strings.Repeat("---|", len(hdr)))
	for _, id := range present {
		row := []string{id, b.res[id].title}
		for _, t := range tools {
			row = append(row, b.cellText(id, t))
		}
		for _, p := range peers {
			row = append(row, ratioText(b.ratio(id, p)))
		}
		tt, m := b.target(id)
		row = append(row, tt, m)
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	w.WriteString("\n")
}

func (b *Bench) report() string {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	p("# mdsync benchmark, %s mode, %s", b.mode(), b.start.Format("2006-01-02 15:04 MST"))
	p("")
	p("Written by `go run ./cmd/mdsync-bench` (`make bench%s`). Times are wall-clock medians of %d runs (tool order alternated A B, B A, ...),",
		map[bool]string{true: "-quick", false: ""}[b.o.Quick], b.o.Runs)
	p("each tool syncing its own fresh Maildir against its own clone (`cp -a`) of the same Dovecot mailbox; after every run the")
	p("Maildir is checked against the server (per-folder message counts, and flags per Message-ID); a run that fails or is")
	p("incomplete counts as a failure and is left out of the median. Ratios are mdsync's median over the peer's.")
	p("")
	p("## Machine and versions")
	p("")
	keys := []string{"cpu", "nproc", "memory", "kernel", "go", "mdsync", "commit", "mbsync", "offlineimap", "mpop", "getmail", "dovecot"}
	for _, k := range keys {
		if v := b.info[k]; v != "" {
			p("- %s: %s", k, v)
		}
	}
	p("- sections run: %s (wall time so far %s)", strings.Join(b.done, ", "), time.Since(b.start).Round(time.Second))
	p("")
	p("## Corpus")
	p("")
	if c := b.info["corpus"]; c != "" {
		p("- scenarios 1–5, 7, 8: %s. Flags on the server: ~70%% \\Seen, 10%% \\Answered+\\Seen, 7%% \\Flagged. Loaded with `dovecot.Server.BulkLoad` (files written into Dovecot's Maildir + `doveadm force-resync`) and UID STORE.", c)
	}
	for _, size := range b.p.scaleSizes {
		if c := b.scaleC[size]; c != "" {
			p("- scenario 6 at %s: %s", thousands(size), c)
		}
	}
	if c := b.info["pop corpus"]; c != "" {
		p("- POP3: %s; plus a separate mailbox of 20 messages and one of %s for peak RSS.", c, human(int64(b.p.popBig)))
	}
	p("")
	p("Peer setup: mbsync `SSLType None`, `SubFolders Verbatim`, `SyncState *`, `Create Both`, `Expunge Both`, `Sync All`, default fsync; OfflineIMAP default (SQLite) status backend, `ssl = no`, `starttls = no`, `sep = /`; mdsync `tls = \"none\"`, `folders = [\"*\"]`, defaults otherwise. mpop `auth user`, `tls off`, `keep on`, `delivery maildir`; getmail6 `SimplePOP3Retriever`, Maildir destination, `delete = false`, run as nobody; mdsync `[pop.p]` with `delete = \"never\"`.")
	p("")

	peers := b.o.Peers
	tools := append([]string{"mdsync"}, peers...)
	p("## Scenarios 1–5 (loopback)")
	p("")
	withFloor := append(append([]string{}, tools...), "server")
	b.table(&w, []string{"1", "2", "3", "4", "5"}, withFloor, peers)
	b.floorNote(&w, "")

	p("## Scenario 8: peak memory (max RSS over the scenario 1 runs)")
	p("")
	if r := b.res["1"]; r != nil {
		var hdr, row []string
		for _, t := range tools {
			if c := r.cells[t]; c != nil {
				hdr = append(hdr, toolTitle[t])
				row = append(row, mb(c.maxRSS()))
			}
		}
		v := b.rssTarget("1", 64)
		hdr = append(hdr, "target", "met")
		row = append(row, v.text+" (with the largest message in the corpus)", v.mark())
		p("| %s |\n|%s\n| %s |\n", strings.Join(hdr, " | "), strings.Repeat("---|", len(hdr)), strings.Join(row, " | "))
	} else {
		p("_not run_\n")
	}

	p("## Floors")
	p("")
	b.table(&w, []string{"floor.fetch", "floor.cp"}, []string{"floor"}, nil)

	p("## Scenario 7: scenarios 2–5 through the latency proxy (%s each way)", b.o.Latency)
	p("")
	b.table(&w, []string{"7.2", "7.3", "7.4", "7.5"}, withFloor, peers)
	b.floorNote(&w, "7.")

	p("## Scenario 9: mail as it arrives (`mdsync watch`)")
	p("")
	b.watchTable(&w)

	p("## Scenario 6: no-change resync as the mailbox grows (small messages, 10 folders)")
	p("")
	var ids []string
	for _, s := range b.p.scaleSizes {
		ids = append(ids, fmt.Sprintf("6.%d.init", s), fmt.Sprintf("6.%d", s))
	}
	b.table(&w, ids, tools, peers)
	if len(b.p.scaleSizes) >= 2 {
		lo, hi := b.p.scaleSizes[0], b.p.scaleSizes[len(b.p.scaleSizes)-1]
		a, ok1 := b.med(fmt.Sprintf("6.%d", lo), "mdsync")
		z, ok2 := b.med(fmt.Sprintf("6.%d", hi), "mdsync")
		if ok1 && ok2 && a > 0 {
			x := float64(z) / float64(a)
			p("- growth: mdsync's no-change run at %s is %.2fx its run at %s (target <= 2x): %s", thousands(hi), x, thousands(lo), map[bool]string{true: "✓", false: "✗"}[x <= 2])
		} else if b.res[fmt.Sprintf("6.%d", hi)] != nil {
			p("- growth: no data for mdsync")
		}
		if b.res[fmt.Sprintf("6.%d", hi)] != nil {
			v := b.ratioTarget(fmt.Sprintf("6.%d", hi), "mbsync", 0.1)
			p("- at %s: mdsync %s: %s", thousands(hi), v.text, v.mark())
		}
		if hi > b.p.scaleOffline && contains(peers, "offlineimap") {
			p("- OfflineIMAP runs only up to %s messages here (its initial sync of more would take tens of minutes).", thousands(b.p.scaleOffline))
		}
		p("")
	}

	p("## POP3 (issue 4)")
	p("")
	b.table(&w, []string{"pop.fetch", "pop.rerun"}, []string{"mdsync", "mpop", "getmail"}, []string{"mpop", "getmail"})
	if r := b.res["pop.rss"]; r != nil {
		var hdr, row []string
		for _, t := range []string{"mdsync", "mpop", "getmail"} {
			if c := r.cells[t]; c != nil {
				hdr = append(hdr, toolTitle[t])
				txt := mb(c.maxRSS())
				if c.failed() > 0 {
					txt += " (**run failed**)"
				}
				row = append(row, txt)
			}
		}
		v := b.rssTarget("pop.rss", 32)
		hdr = append(hdr, "target", "met")
		row = append(row, v.text, v.mark())
		p("%s:\n", r.title)
		p("| %s |\n|%s\n| %s |\n", strings.Join(hdr, " | "), strings.Repeat("---|", len(hdr)), strings.Join(row, " | "))
	}

	if len(b.notes) > 0 {
		p("## Notes")
		p("")
		for _, n := range b.notes {
			p("- %s", n)
		}
		p("")
	}
	p("## Failures (exact command and output)")
	p("")
	if len(b.fails) == 0 {
		p("None: every run exited 0 and its Maildir matched the server.")
	}
	for _, f := range b.fails {
		p("- %s", strings.ReplaceAll(strings.TrimSpace(indentFence(f)), "\n", "\n  "))
	}
	p("")
	p("## All runs")
	p("")
	p("| measurement | tool | runs: seconds (max RSS) |")
	p("|---|---|---|")
	for _, id := range b.order {
		r := b.res[id]
		ts := make([]string, 0, len(r.cells))
		for t := range r.cells {
			ts = append(ts, t)
		}
		sort.Strings(ts)
		for _, t := range ts {
			var runs []string
			for _, m := range r.cells[t].ms {
				s := fmt.Sprintf("%.3f (%s)", m.Dur.Seconds(), mb(m.RSSKB))
				if m.Err != nil {
					s += " FAILED"
				}
				runs = append(runs, s)
			}
			p("| %s %s | %s | %s |", id, r.title, toolTitle[t], strings.Join(runs, ", "))
		}
	}
	return w.String()
}

// indentFence puts everything after the first line of a failure into a
// code block so the tool's output reads as is.
func indentFence(s string) string {
	first, rest, ok := strings.Cut(s, "\n")
	if !ok {
		return s
	}
	return first + "\n```\n" + strings.TrimSpace(rest) + "\n```"
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// watchTable writes scenario 9: per link, the latencies measured with
// `mdsync watch` (median and range of 5) and the expected latency of
// mbsync run by a one-minute cron.
func (b *Bench) watchTable(w *strings.Builder) {
	if len(b.watchRows) == 0 {
		fmt.Fprintf(w, "_not run_\n\n")
		return
	}
	fmt.Fprintf(w, "| link | tool | server APPEND -> file in the Maildir | local flag (rename) -> flag on the server |\n|---|---|---|---|\n")
	span := func(ds []time.Duration) string {
		if len(ds) == 0 {
			return "–"
		}
		lo, hi := ds[0], ds[0]
		for _, d := range ds {
			lo, hi = min(lo, d), max(hi, d)
		}
		return fmt.Sprintf("%s (%s–%s, %d runs)", secs(median(ds)), secs(lo), secs(hi), len(ds))
	}
	for _, r := range b.watchRows {
		if r.tool == "mdsync watch" {
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.link, r.tool, span(r.arrive), span(r.change))
			continue
		}
		exp := fmt.Sprintf("%s expected (30 s average wait for the tick + one run of %s; %s–%s)", secs(30*time.Second+r.cron), secs(r.cron), secs(r.cron), secs(60*time.Second+r.cron))
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.link, r.tool, exp, exp)
	}
	fmt.Fprintf(w, "\nwatch: IDLE on INBOX, inotify on the local folders; each time from the change until it is seen on the other side (polled every 2 ms). mbsync has no watch mode: its usual set-up is a one-minute cron, whose latency is the wait for the next tick plus one run (the run measured here after the same APPEND, median of 3).\n\n")
}
