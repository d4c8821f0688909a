package imapfake

import (
	"fmt"
	"strings"
	"time"
)

// idleState tracks the sessions that are in IDLE, so that a test can push
// untagged data to them and wait until a client is idling.
type idleState struct {
	idlers  map[*session]*idler
	started int           // IDLE commands received
	changed chan struct{} // closed and replaced on every change of idlers
}

// idler is one session in IDLE on a mailbox (nil: none selected).
type idler struct {
	box  *Mailbox
	push chan string
}

// changedLocked returns the channel closed at the next change; s.mu held.
func (s *Server) changedLocked() chan struct{} {
	if s.idle.changed == nil {
		s.idle.changed = make(chan struct{})
	}
	return s.idle.changed
}

// notifyLocked wakes WaitIdling; s.mu held.
func (s *Server) notifyLocked() {
	close(s.changedLocked())
	s.idle.changed = make(chan struct{})
}

func (s *Server) idlingLocked(mailbox string) int {
	n := 0
	for _, id := range s.idle.idlers {
		if id.box != nil && id.box == s.box(mailbox) {
			n++
		}
	}
	return n
}

// WaitIdling waits until at least n sessions are in IDLE on mailbox, or
// the timeout passes.
func (s *Server) WaitIdling(mailbox string, n int, timeout time.Duration) error {
	return s.waitIdle(timeout, fmt.Sprintf("at least %d sessions idling on %s", n, mailbox), func() bool { return s.idlingLocked(mailbox) >= n })
}

// WaitNotIdling waits until no session is in IDLE on mailbox, or the
// timeout passes.
func (s *Server) WaitNotIdling(mailbox string, timeout time.Duration) error {
	return s.waitIdle(timeout, "no session idling on "+mailbox, func() bool { return s.idlingLocked(mailbox) == 0 })
}

// WaitIdles waits until the server has received n IDLE commands in all
// (on any connection), or the timeout passes.
func (s *Server) WaitIdles(n int, timeout time.Duration) error {
	return s.waitIdle(timeout, fmt.Sprintf("%d IDLE commands", n), func() bool { return s.idle.started >= n })
}

// waitIdle waits until cond (called with s.mu held) holds.
func (s *Server) waitIdle(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changedLocked()
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("imapfake: not %s after %v", what, timeout)
		}
	}
}

// Push sends a raw untagged line (without CRLF, e.g. "* 3 FETCH (FLAGS
// (\Seen))") to every session idling on mailbox, and returns how many got
// it.
func (s *Server) Push(mailbox, line string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushLocked(mailbox, line)
}

func (s *Server) pushLocked(mailbox, line string) int {
	n := 0
	for _, id := range s.idle.idlers {
		if id.box != nil && id.box == s.box(mailbox) {
			select {
			case id.push <- line + "\r\n":
				n++
			default: // a client that does not read is not waited for
			}
		}
	}
	return n
}

// Deliver appends a message to mailbox (which must exist) and tells the
// sessions idling on it with an EXISTS. It returns the new message's UID.
func (s *Server) Deliver(mailbox, body string) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.box(mailbox)
	if m == nil {
		return 0
	}
	if m.uidNext == 0 {
		m.uidNext = 1
	}
	uid := m.uidNext
	m.Messages = append(m.Messages, &Message{UID: uid, Body: body})
	m.uidNext++
	s.pushLocked(mailbox, fmt.Sprintf("* %d EXISTS", len(m.Messages)))
	return uid
}

// DropConnections closes every open connection; the server goes on
// accepting new ones (a server restart, seen from the client).
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// idle runs an IDLE command: a continuation, then whatever is pushed,
// until the client sends DONE.
func (ss *session) idle(tag string) error {
	s := ss.s
	id := &idler{box: ss.sel, push: make(chan string, 64)}
	s.mu.Lock()
	if s.idle.idlers == nil {
		s.idle.idlers = map[*session]*idler{}
	}
	s.idle.idlers[ss] = id
	s.idle.started++
	s.notifyLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.idle.idlers, ss)
		s.notifyLocked()
		s.mu.Unlock()
	}()
	ss.printf("+ idling\r\n")
	if err := ss.w.Flush(); err != nil {
		return err
	}
	// The session goroutine writes; this one reads the client's DONE.
	done := make(chan error, 1)
	go func() {
		line, err := ss.r.ReadString('\n')
		if err == nil && !strings.EqualFold(strings.TrimSpace(line), "DONE") {
			err = fmt.Errorf("imapfake: %q during IDLE", line)
		}
		done <- err
	}()
	for {
		select {
		case line := <-id.push:
			ss.w.WriteString(line)
			if err := ss.w.Flush(); err != nil {
				return err
			}
		case err := <-done:
			if err != nil {
				return errStop{}
			}
			ss.printf("%s OK IDLE done\r\n", tag)
			return nil
		}
	}
}
