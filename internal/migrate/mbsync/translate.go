package mbsync

import (
	"fmt"
	"github.com/mdsync/mdsync/internal/mutf7"
	"sort"
	"strings"

	"github.com/mdsync/mdsync/internal/migrate"
)

// translate turns the model into mdsync sections and notes. Only what
// channels use is carried over: an [imap.X] per IMAP account and a
// [maildir.X] per MaildirStore of a translated channel, a [channel.X] per
// Channel between an IMAP far side and a Maildir near side.
func (r *reader) translate() {
	r.imaps = map[*account]*migrate.IMAP{}
	r.maildirs = map[*maildirStore]*migrate.Maildir{}
	r.imapStoreOK = map[*imapStore]bool{}
	r.names = map[string]bool{}
	r.chanNames = map[string]string{}
	r.translateGlobals()
	for _, ch := range r.model.Channels {
		r.translateChannel(ch)
	}
	for _, g := range r.model.Groups {
		r.translateGroup(g)
	}
	used := map[*account]bool{}
	for _, st := range r.model.IMAPStores {
		for _, ch := range r.model.Channels {
			if ch.Far.IMAP == st || ch.Near.IMAP == st {
				used[st.Account] = true
			}
		}
	}
	for _, a := range r.model.Accounts {
		if !used[a] {
			r.note(a.Sec.Line, "IMAPAccount %s is used by no channel; not carried over", a.Name)
		}
	}
	if len(r.model.Channels) == 0 {
		r.note(0, "no Channel: nothing to sync")
	}
	if strings.HasPrefix(r.versionWhy, "assumed") {
		r.note(0, "the mbsync release is unknown; read as written by mbsync 1.4 (%s)", r.versionWhy)
	}
	for _, out := range r.imapOrder {
		r.res.Config.IMAP = append(r.res.Config.IMAP, *out)
	}
	for _, out := range r.maildirOrder {
		r.res.Config.Maildir = append(r.res.Config.Maildir, *out)
	}
	for _, p := range r.channels {
		r.res.Config.Channel = append(r.res.Config.Channel, *p.out)
	}
}

// translateGlobals notes the global options that have no mdsync
// equivalent. The channel options among them are read per channel.
func (r *reader) translateGlobals() {
	for _, e := range r.model.Globals.Entries {
		switch e.Key {
		case "FSync":
			if !parseBool(e.Arg()) {
				r.note(e.Line, "FSync no: mdsync always fsyncs what it writes")
			}
		case "BufferLimit":
			r.note(e.Line, "BufferLimit %s: mdsync streams messages and needs no such limit", e.Arg())
		}
	}
}

// translateChannel carries a channel over, or notes why it cannot be.
func (r *reader) translateChannel(ch *channel) {
	s := ch.Sec
	if ch.Far.IMAP == nil || ch.Near.Maildir == nil {
		r.note(s.Line, "Channel %s syncs %s store %s with %s store %s: mdsync syncs an IMAP server (far) with a Maildir (near) only; not carried over",
			ch.Name, kindOf(ch.Far), ch.Far.name(), kindOf(ch.Near), ch.Near.name())
		return
	}
	if !r.noteIMAPStore(ch.Far.IMAP) {
		return
	}
	folders, ok := r.channelFolders(ch)
	if !ok {
		return
	}
	imap := r.imapFor(ch.Far.IMAP.Account)
	md := r.maildirFor(ch.Near.Maildir)
	out := &migrate.Channel{
		Name:    r.uniqueName("channel", ch.Name),
		IMAP:    imap.Name,
		Maildir: md.Name,
		Folders: folders,
		Create:  r.boxOp(ch, "Create"),
		Remove:  r.boxOp(ch, "Remove"),
		Expunge: r.boxOp(ch, "Expunge"),
	}
	r.chanNames[ch.Name] = out.Name
	r.noteChannelOptions(ch, out)
	r.channels = append(r.channels, &chanPlan{ch: ch, out: out, maildir: md})
}

func kindOf(s storeRef) string {
	if s.IMAP != nil {
		return "IMAP"
	}
	return "Maildir"
}

// channelFolders translates Far/Near boxes and Patterns into mdsync's
// folder patterns. mdsync syncs server folder X with local folder X, so a
// channel is carried over only when mbsync does the same: with Patterns,
// both sides must have the same prefix (then the patterns get it in front,
// as mbsync matches them after it); without, both boxes must be the same.
func (r *reader) channelFolders(ch *channel) ([]string, bool) {
	far, near := ch.Far.Box, ch.Near.Box
	if len(ch.Patterns) == 0 {
		if far == "" {
			far = "INBOX"
		}
		if near == "" {
			near = "INBOX"
		}
		if far != near {
			r.note(ch.Sec.Line, "Channel %s syncs server folder %q with local folder %q: mdsync syncs each folder with the local folder of the same name; not carried over", ch.Name, far, near)
			return nil, false
		}
		return []string{r.folderName(far)}, true
	}
	if far != near {
		r.note(ch.Sec.Line, "Channel %s puts the prefix %q before server folder names and %q before local ones: mdsync syncs each folder with the local folder of the same name; not carried over", ch.Name, far, near)
		return nil, false
	}
	var out []string
	for _, p := range ch.Patterns {
		if strings.Contains(p, "%/") {
			r.note(r.patternLine(ch, p), "pattern %q: in mbsync a '%%' followed by '/' never matches (a quirk of its matcher); mdsync matches it as IMAP LIST does, so it syncs folders mbsync skipped", p)
		}
		neg := strings.HasPrefix(p, "!")
		p = far + strings.TrimPrefix(p, "!")
		if r.version == v14 {
			// 1.4 matches the raw modified UTF-7 names; mdsync matches
			// UTF-8 ones.
			if d, err := mutf7.Decode(p); err == nil {
				p = d
			}
		}
		if neg {
			p = "!" + p
		}
		out = append(out, p)
	}
	return out, true
}

// patternLine is the line of the Patterns entry holding p.
func (r *reader) patternLine(ch *channel, p string) int {
	for _, e := range ch.Sec.all("Patterns") {
		for _, a := range e.Args {
			if a == p {
				return e.Line
			}
		}
	}
	return ch.Sec.Line
}

// folderName is the UTF-8 name of an mbsync box name: 1.4 keeps the
// server's modified UTF-7, 1.5 has converted it.
func (r *reader) folderName(box string) string {
	if r.version == v14 {
		if d, err := mutf7.Decode(box); err == nil {
			return d
		}
	}
	return box
}

// lineOf is the line of the last key entry of the channel, else of the
// globals, else of the channel itself.
func (r *reader) lineOf(ch *channel, key string) int {
	if e := ch.Sec.last(key); e != nil {
		return e.Line
	}
	if e := r.model.Globals.last(key); e != nil {
		return e.Line
	}
	return ch.Sec.Line
}

// channelOpt is the channel's entry for key, else the global one.
func (r *reader) channelOpt(ch *channel, key string) *entry {
	if e := ch.Sec.last(key); e != nil {
		return e
	}
	return r.model.Globals.last(key)
}

// noteChannelOptions notes the channel options mdsync does not have.
func (r *reader) noteChannelOptions(ch *channel, out *migrate.Channel) {
	if desc := r.syncGaps(ch); desc != "" {
		r.note(r.lineOf(ch, "Sync"), "Channel %s: %s; mdsync always syncs new messages, deletions and flag changes both ways", ch.Name, desc)
	}
	if out.Expunge != "both" {
		word := map[string]string{"none": "None", "imap": "Far", "maildir": "Near"}[out.Expunge]
		if ch.Sec.last("Expunge") == nil && r.model.Globals.last("Expunge") == nil {
			word += " (mbsync's default)"
		}
		what := map[string]string{
			"none":    "a message deleted on one side is never removed from the other",
			"imap":    "local deletions remove the message on the server, but a message expunged on the server stays in the local folder",
			"maildir": "a message expunged on the server is removed locally, but a local deletion leaves the server's copy alone",
		}[out.Expunge]
		r.note(r.lineOf(ch, "Expunge"), "Channel %s: Expunge %s becomes expunge = %q: %s (mbsync marked such a copy deleted instead, mdsync does not touch it)", ch.Name, word, out.Expunge, what)
	}
	if e := ch.Sec.last("MaxSize"); e != nil {
		r.noteStoreOption(*e)
	}
	maxMsgs := 0
	if e := r.channelOpt(ch, "MaxMessages"); e != nil {
		fmt.Sscan(e.Arg(), &maxMsgs)
		if maxMsgs > 0 {
			r.note(e.Line, "MaxMessages %d: mdsync syncs every message; the local folders will grow to the server's size", maxMsgs)
		}
	}
	for _, key := range []string{"ExpireUnread", "ExpireSide"} {
		if e := ch.Sec.last(key); e != nil && maxMsgs > 0 {
			r.note(e.Line, "%s: mdsync does not expire messages", e.Word)
		}
	}
	if e := r.channelOpt(ch, "CopyArrivalDate"); e != nil && parseBool(e.Arg()) {
		r.note(e.Line, "CopyArrivalDate yes: mdsync always gives downloaded files the server's arrival date; uploads take the message's Date header, not the file's time")
	}
	if e := r.channelOpt(ch, "ExpungeSolo"); e != nil && r.boxOp(ch, "ExpungeSolo") != "none" {
		r.note(e.Line, "ExpungeSolo: mdsync has no separate setting for messages present on one side only")
	}
}

// translateGroup notes a group: mdsync has none, but runs several channels
// when named on the command line.
func (r *reader) translateGroup(g *group) {
	var names []string
	boxes := false
	for _, c := range g.Channels {
		name, box, hasBox := strings.Cut(c, ":")
		if hasBox && box != "" {
			boxes = true
		}
		if n, ok := r.chanNames[name]; ok {
			names = append(names, n)
		}
	}
	text := fmt.Sprintf("Group %s: mdsync has no groups", g.Name)
	if len(names) > 0 {
		text += fmt.Sprintf("; run \"mdsync sync %s\" instead", strings.Join(names, " "))
	}
	if boxes {
		text += "; the mailbox lists given after \"channel:\" are not carried over (mdsync syncs the folders of the channel's patterns)"
	}
	r.note(g.Line, "%s", text)
}

// sortNotes orders the config's notes by line, keeping the order of notes
// on the same line and putting the notes about other files last.
func (r *reader) sortNotes() {
	sort.SliceStable(r.res.Notes, func(i, j int) bool {
		a, b := r.res.Notes[i], r.res.Notes[j]
		if (a.File == r.path) != (b.File == r.path) {
			return a.File == r.path
		}
		return a.File == r.path && a.Line < b.Line
	})
}
