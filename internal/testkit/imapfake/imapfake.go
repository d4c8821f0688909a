// Package imapfake is a scripted fake IMAP4rev1 server for tests. It speaks
// just enough IMAP for mdsync's sync engine (greeting, CAPABILITY, LOGIN,
// LIST with or without RETURN (STATUS), STATUS, SELECT/EXAMINE, CREATE,
// UID FETCH, UID SEARCH, IDLE, NOOP, LOGOUT) over a small in-memory model of
// mailboxes, and it can be told to misbehave: spell mailbox names in hostile
// ways, cut a literal short, send a garbage line, drop the connection or stop
// answering, at a chosen command and message.
package imapfake

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message of a mailbox.
type Message struct {
	UID   uint32
	Flags []string
	Body  string // CRLF line endings
}

// Mailbox is one folder of the fake server.
type Mailbox struct {
	// Name is the name as the client sends it back (modified UTF-7), which
	// SELECT, STATUS and CREATE match exactly.
	Name string
	// Wire is the raw bytes LIST uses for the name (a quoted string, an atom
	// or a literal such as "{3}\r\na\x00b"). Empty: Name, quoted.
	Wire string
	// Attrs are the LIST attributes, e.g. `\HasNoChildren`.
	Attrs       string
	UIDValidity uint32
	Messages    []*Message
	uidNext     uint32
}

func (m *Mailbox) wire() string {
	if m.Wire != "" {
		return m.Wire
	}
	return quote(m.Name)
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Action is a way to misbehave.
type Action int

const (
	// Truncate announces a body literal in full, sends half of it and
	// closes the connection.
	Truncate Action = iota + 1
	// Garbage sends the line "* GARBAGE ((( " and then carries on normally.
	Garbage
	// Close closes the connection.
	Close
	// Stall stops answering (the connection stays open until the client
	// closes it).
	Stall
	// TruncateStall announces a body literal, sends half of it and then
	// stops answering.
	TruncateStall
)

func (a Action) String() string {
	return [...]string{"none", "truncate", "garbage", "close", "stall", "truncate+stall"}[a]
}

// Fault is one scripted misbehaviour.
type Fault struct {
	// Cmd is the kind of command it applies to: "LIST", "STATUS", "SELECT",
	// "LOGIN", "FETCH" (a UID FETCH without a body) or "FETCH BODY" (a UID
	// FETCH of BODY[]).
	Cmd string
	// UID is, for the FETCH kinds, the message the fault replaces
	// (messages before it in the response are sent whole); 0 means before
	// any response line. Ignored for other commands.
	UID uint32
	Do  Action
	// Times is how many times the fault fires before the server turns
	// sane; 0 means every time.
	Times int
	fired int
}

// Server is a running fake server on 127.0.0.1.
type Server struct {
	Port int
	// Caps is the capability list after IMAP4rev1 (e.g. "LIST-STATUS
	// UIDPLUS").
	Caps string
	// Greeting, when set, is the capability list of the greeting instead
	// of Caps (what a server announces before the login may be less).
	Greeting string
	// PermanentFlags is the PERMANENTFLAGS list of every folder (default
	// the five system flags and \*); UID STORE refuses any other flag
	// with BAD, as GNU imap4d does.
	PermanentFlags string
	// DropAfterLogin discards whatever the client sent behind its LOGIN
	// before the LOGIN answer, as Courier does when its login process
	// hands the connection over to the imapd.
	DropAfterLogin bool

	mu     sync.Mutex
	boxes  []*Mailbox
	faults []*Fault
	bodies map[string]int // "mailbox/uid" -> whole bodies sent
	ln     net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
	idle   idleState // sessions in IDLE (idle.go)
}

// Start starts a server that the test's cleanup stops.
func Start(tb testing.TB) *Server { return StartWith(tb, nil) }

// StartWith is Start with the server's settings (Caps, Greeting,
// PermanentFlags, DropAfterLogin) set by set before it serves: set after,
// they would race with the sessions that read them.
func StartWith(tb testing.TB, set func(s *Server)) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Port: ln.Addr().(*net.TCPAddr).Port, Caps: "LIST-STATUS UIDPLUS", ln: ln, conns: map[net.Conn]bool{}, bodies: map[string]int{}}
	if set != nil {
		set(s)
	}
	s.wg.Add(1)
	go s.serve()
	tb.Cleanup(s.Stop)
	return s
}

// Stop closes the listener and every connection, and waits for them.
func (s *Server) Stop() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// AddMailbox adds a mailbox (UIDVALIDITY 1) holding the given bodies, UIDs
// from 1.
func (s *Server) AddMailbox(name string, bodies ...string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Mailbox{Name: name, Attrs: `\HasNoChildren`, UIDValidity: 1, uidNext: 1}
	for _, b := range bodies {
		m.Messages = append(m.Messages, &Message{UID: m.uidNext, Body: b})
		m.uidNext++
	}
	s.boxes = append(s.boxes, m)
	return m
}

// AddRaw adds a mailbox that LIST spells with the raw bytes wire, and that
// SELECT and STATUS find as name.
func (s *Server) AddRaw(name, wire string) *Mailbox {
	m := s.AddMailbox(name)
	s.mu.Lock()
	m.Wire = wire
	s.mu.Unlock()
	return m
}

// RemoveMailbox drops a mailbox.
func (s *Server) RemoveMailbox(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, m := range s.boxes {
		if m.Name == name {
			s.boxes = append(s.boxes[:i], s.boxes[i+1:]...)
			return
		}
	}
}

// Script replaces the faults; no argument makes the server sane.
func (s *Server) Script(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	for i := range faults {
		f := faults[i]
		s.faults = append(s.faults, &f)
	}
}

// BodiesSent tells how many times the whole body of a message was sent.
func (s *Server) BodiesSent(mailbox string, uid uint32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[fmt.Sprintf("%s/%d", mailbox, uid)]
}

// armed returns the armed fault for a command kind, if any.
func (s *Server) armed(kind string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Cmd == kind && (f.Times == 0 || f.fired < f.Times) {
			return f
		}
	}
	return nil
}

// fire uses a fault up once.
func (s *Server) fire(f *Fault) {
	s.mu.Lock()
	f.fired++
	s.mu.Unlock()
}

func (s *Server) box(name string) *Mailbox {
	for _, m := range s.boxes {
		if m.Name == name || (strings.EqualFold(name, "INBOX") && strings.EqualFold(m.Name, "INBOX")) {
			return m
		}
	}
	return nil
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			(&session{s: s, c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}).run()
		}()
	}
}

// errStop ends a session (the connection is closed, or left stalled).
type errStop struct{ stall bool }

func (errStop) Error() string { return "stop" }

type session struct {
	s   *Server
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	sel *Mailbox
	// garbled: a garbage line was sent; the client cannot have parsed
	// what follows, so bodies sent after it are not counted
	garbled bool
}

func (ss *session) printf(format string, args ...any) { fmt.Fprintf(ss.w, format, args...) }

func (ss *session) run() {
	greet := ss.s.Caps
	if ss.s.Greeting != "" {
		greet = ss.s.Greeting
	}
	ss.printf("* OK [CAPABILITY IMAP4rev1 %s] imapfake ready\r\n", greet)
	ss.w.Flush()
	for {
		line, err := ss.readCommand()
		if err != nil {
			return
		}
		err = ss.handle(line)
		ss.w.Flush()
		if err != nil {
			if st, ok := err.(errStop); ok && st.stall {
				io.Copy(io.Discard, ss.c) // until the client gives up
			}
			return
		}
	}
}

// readCommand reads one command line, with its literals inlined as
// "{n}\r\n<bytes>".
func (ss *session) readCommand() ([]byte, error) {
	var out []byte
	for {
		line, err := ss.r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		out = append(out, line...)
		l := bytes.TrimRight(line, "\r\n")
		if !bytes.HasSuffix(l, []byte("}")) {
			return out, nil
		}
		i := bytes.LastIndexByte(l, '{')
		if i < 0 {
			return out, nil
		}
		spec := string(l[i+1 : len(l)-1])
		sync := !strings.HasSuffix(spec, "+")
		n, err := strconv.Atoi(strings.TrimSuffix(spec, "+"))
		if err != nil {
			return out, nil
		}
		if sync {
			ss.printf("+ go ahead\r\n")
			ss.w.Flush()
		}
		lit := make([]byte, n)
		if _, err := io.ReadFull(ss.r, lit); err != nil {
			return nil, err
		}
		out = append(out, lit...)
	}
}

// parser reads the arguments of a command.
type parser struct {
	b []byte
	i int
}

func (p *parser) sp() {
	for p.i < len(p.b) && p.b[p.i] == ' ' {
		p.i++
	}
}

// astring reads an atom, a quoted string or a literal.
func (p *parser) astring() string {
	p.sp()
	if p.i >= len(p.b) {
		return ""
	}
	switch p.b[p.i] {
	case '"':
		var sb strings.Builder
		for p.i++; p.i < len(p.b) && p.b[p.i] != '"'; p.i++ {
			if p.b[p.i] == '\\' && p.i+1 < len(p.b) {
				p.i++
			}
			sb.WriteByte(p.b[p.i])
		}
		p.i++
		return sb.String()
	case '{':
		j := bytes.IndexByte(p.b[p.i:], '}')
		n, _ := strconv.Atoi(strings.TrimSuffix(string(p.b[p.i+1:p.i+j]), "+"))
		start := p.i + j + 3 // "}\r\n"
		p.i = start + n
		return string(p.b[start:p.i])
	}
	j := p.i
	for p.i < len(p.b) && p.b[p.i] != ' ' && p.b[p.i] != '\r' && p.b[p.i] != '\n' {
		p.i++
	}
	return string(p.b[j:p.i])
}

func (p *parser) rest() string {
	return strings.TrimRight(string(p.b[p.i:]), "\r\n")
}

func (ss *session) handle(line []byte) error {
	p := &parser{b: line}
	tag := p.astring()
	cmd := strings.ToUpper(p.astring())
	if cmd == "UID" {
		cmd = "UID " + strings.ToUpper(p.astring())
	}
	ok := func(text string) error { ss.printf("%s OK %s\r\n", tag, text); return nil }
	no := func(text string) error { ss.printf("%s NO %s\r\n", tag, text); return nil }
	s := ss.s
	kind := cmd
	if cmd == "UID FETCH" || cmd == "FETCH" {
		kind = "FETCH"
		if up := strings.ToUpper(p.rest()); strings.Contains(up, "BODY[]") || strings.Contains(up, "BODY.PEEK[]") {
			kind = "FETCH BODY"
		}
	}
	if cmd == "EXAMINE" {
		kind = "SELECT"
	}
	f := s.armed(kind)
	if f != nil && (f.UID == 0 || !strings.HasPrefix(kind, "FETCH")) {
		s.fire(f)
		if err := ss.misbehave(f.Do, ""); err != nil {
			return err
		}
	}
	switch cmd {
	case "CAPABILITY":
		ss.printf("* CAPABILITY IMAP4rev1 %s\r\n", s.Caps)
		return ok("CAPABILITY done")
	case "LOGIN":
		if s.DropAfterLogin {
			// what arrives during the hand-over is lost
			ss.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			io.Copy(io.Discard, ss.r)
			ss.c.SetReadDeadline(time.Time{})
			ss.r.Reset(ss.c)
		}
		return ok("logged in")
	case "NOOP":
		return ok("NOOP done")
	case "LOGOUT":
		ss.printf("* BYE bye\r\n")
		ok("LOGOUT done")
		return errStop{}
	case "LIST":
		ref, pat := p.astring(), p.astring()
		if ref != "" || pat != "*" {
			return no("only LIST \"\" * is scripted")
		}
		withStatus := strings.Contains(strings.ToUpper(p.rest()), "STATUS")
		s.mu.Lock()
		for _, m := range s.boxes {
			ss.printf("* LIST (%s) \"/\" %s\r\n", m.Attrs, m.wire())
			if withStatus {
				ss.status(m)
			}
		}
		s.mu.Unlock()
		return ok("LIST done")
	case "STATUS":
		name := p.astring()
		s.mu.Lock()
		defer s.mu.Unlock()
		m := s.box(name)
		if m == nil {
			return no("no such mailbox")
		}
		ss.status(m)
		return ok("STATUS done")
	case "CREATE":
		name := p.astring()
		s.mu.Lock()
		exists := s.box(name) != nil
		s.mu.Unlock()
		if exists {
			return no("[ALREADYEXISTS] exists")
		}
		s.AddMailbox(name)
		return ok("CREATE done")
	case "SELECT", "EXAMINE":
		name := p.astring()
		s.mu.Lock()
		defer s.mu.Unlock()
		m := s.box(name)
		if m == nil {
			ss.sel = nil
			return no("no such mailbox")
		}
		ss.sel = m
		ss.printf("* %d EXISTS\r\n* 0 RECENT\r\n", len(m.Messages))
		ss.printf("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n")
		ss.printf("* OK [PERMANENTFLAGS (%s)] ok\r\n", s.permanent())
		ss.printf("* OK [UIDVALIDITY %d] ok\r\n* OK [UIDNEXT %d] ok\r\n", m.UIDValidity, m.uidNext)
		if cmd == "EXAMINE" {
			return ok("[READ-ONLY] EXAMINE done")
		}
		return ok("[READ-WRITE] SELECT done")
	case "UID STORE":
		if ss.sel == nil {
			return no("no mailbox selected")
		}
		set, item := p.astring(), strings.ToUpper(p.astring())
		flags := strings.Fields(strings.Trim(strings.TrimSpace(p.rest()), "()"))
		perm := strings.Fields(s.permanent())
		for _, f := range flags {
			okFlag := false
			for _, pf := range perm {
				if strings.EqualFold(pf, f) || pf == `\*` && !strings.HasPrefix(f, `\`) {
					okFlag = true
				}
			}
			if !okFlag {
				ss.printf("%s BAD Unrecognized flag\r\n", tag)
				return nil
			}
		}
		s.mu.Lock()
		var max uint32
		if n := len(ss.sel.Messages); n > 0 {
			max = ss.sel.Messages[n-1].UID
		}
		in, err := parseSet(set, max)
		if err == nil {
			for _, m := range ss.sel.Messages {
				if in(m.UID) {
					m.Flags = storeFlags(m.Flags, flags, strings.HasPrefix(item, "-"))
				}
			}
		}
		s.mu.Unlock()
		if err != nil {
			ss.printf("%s BAD %v\r\n", tag, err)
			return nil
		}
		return ok("STORE done")
	case "UID SEARCH":
		if ss.sel == nil {
			return no("no mailbox selected")
		}
		s.mu.Lock()
		var uids []string
		for _, m := range ss.sel.Messages {
			uids = append(uids, fmt.Sprint(m.UID))
		}
		s.mu.Unlock()
		ss.printf("* SEARCH %s\r\n", strings.Join(uids, " "))
		return ok("SEARCH done")
	case "IDLE":
		return ss.idle(tag)
	case "UID FETCH":
		if ss.sel == nil {
			return no("no mailbox selected")
		}
		return ss.fetch(p.astring(), strings.ToUpper(p.rest()), f, tag)
	}
	ss.printf("%s BAD unknown command %q\r\n", tag, cmd)
	return nil
}

// permanent is the PERMANENTFLAGS list.
func (s *Server) permanent() string {
	if s.PermanentFlags != "" {
		return s.PermanentFlags
	}
	return `\Answered \Flagged \Deleted \Seen \Draft \*`
}

// storeFlags adds (or removes) flags, case-insensitively.
func storeFlags(have, flags []string, remove bool) []string {
	var out []string
	for _, h := range have {
		drop := false
		for _, f := range flags {
			drop = drop || remove && strings.EqualFold(h, f)
		}
		if !drop {
			out = append(out, h)
		}
	}
	if remove {
		return out
	}
	for _, f := range flags {
		dup := false
		for _, h := range out {
			dup = dup || strings.EqualFold(h, f)
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

func (ss *session) status(m *Mailbox) {
	ss.printf("* STATUS %s (MESSAGES %d UIDNEXT %d UIDVALIDITY %d)\r\n", m.wire(), len(m.Messages), m.uidNext, m.UIDValidity)
}

// misbehave carries out an action; head is the start of a FETCH response
// whose body literal is being sent (for the truncating actions).
func (ss *session) misbehave(a Action, body string) error {
	switch a {
	case Garbage:
		ss.printf("* GARBAGE ((( \r\n")
		ss.garbled = true
		return nil
	case Close:
		ss.w.Flush()
		return errStop{}
	case Stall:
		ss.w.Flush()
		return errStop{stall: true}
	case Truncate, TruncateStall:
		ss.w.WriteString(body[:len(body)/2])
		ss.w.Flush()
		return errStop{stall: a == TruncateStall}
	}
	return fmt.Errorf("imapfake: unknown action %v", a)
}

func (ss *session) fetch(set, items string, f *Fault, tag string) error {
	s := ss.s
	s.mu.Lock()
	msgs := append([]*Message(nil), ss.sel.Messages...)
	box := ss.sel.Name
	var max uint32
	if n := len(msgs); n > 0 {
		max = msgs[n-1].UID
	}
	s.mu.Unlock()
	in, err := parseSet(set, max)
	if err != nil {
		ss.printf("%s BAD %v\r\n", tag, err)
		return nil
	}
	body := strings.Contains(items, "BODY[]") || strings.Contains(items, "BODY.PEEK[]")
	for i, m := range msgs {
		if !in(m.UID) {
			continue
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "* %d FETCH (UID %d", i+1, m.UID)
		if strings.Contains(items, "FLAGS") {
			fmt.Fprintf(&sb, " FLAGS (%s)", strings.Join(m.Flags, " "))
		}
		if strings.Contains(items, "RFC822.SIZE") {
			fmt.Fprintf(&sb, " RFC822.SIZE %d", len(m.Body))
		}
		if strings.Contains(items, "HEADER.FIELDS") {
			h := headerField(m.Body, "Message-ID")
			fmt.Fprintf(&sb, " BODY[HEADER.FIELDS (MESSAGE-ID)] {%d}\r\n%s", len(h), h)
		}
		if body {
			fmt.Fprintf(&sb, " BODY[] {%d}\r\n", len(m.Body))
		}
		if f != nil && f.UID == m.UID {
			s.fire(f)
			switch f.Do {
			case Truncate, TruncateStall:
				ss.w.WriteString(sb.String())
				return ss.misbehave(f.Do, m.Body)
			default:
				if err := ss.misbehave(f.Do, ""); err != nil {
					return err
				}
			}
		}
		ss.w.WriteString(sb.String())
		if body {
			ss.w.WriteString(m.Body)
		}
		if body && !ss.garbled {
			s.mu.Lock()
			s.bodies[fmt.Sprintf("%s/%d", box, m.UID)]++
			s.mu.Unlock()
		}
		ss.printf(")\r\n")
	}
	ss.printf("%s OK FETCH done\r\n", tag)
	return nil
}

// headerField returns "Name: value\r\n\r\n" from a body, or "\r\n".
func headerField(body, name string) string {
	for _, l := range strings.Split(body, "\r\n") {
		if l == "" {
			break
		}
		if k, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return l + "\r\n\r\n"
		}
	}
	return "\r\n"
}

// parseSet parses a UID set such as "1:3,7,9:*".
func parseSet(set string, max uint32) (func(uint32) bool, error) {
	type rng struct{ lo, hi uint32 }
	var rs []rng
	num := func(s string) (uint32, error) {
		if s == "*" {
			return max, nil
		}
		n, err := strconv.ParseUint(s, 10, 32)
		return uint32(n), err
	}
	for _, part := range strings.Split(set, ",") {
		a, b, isRange := strings.Cut(part, ":")
		lo, err := num(a)
		if err != nil {
			return nil, fmt.Errorf("bad set %q", set)
		}
		hi := lo
		if isRange {
			if hi, err = num(b); err != nil {
				return nil, fmt.Errorf("bad set %q", set)
			}
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		rs = append(rs, rng{lo, hi})
	}
	return func(u uint32) bool {
		for _, r := range rs {
			if r.lo <= u && u <= r.hi {
				return true
			}
		}
		return false
	}, nil
}
