package popfetch

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fault is what the fake server does when a message is retrieved.
type fault int

const (
	faultNone     fault = iota
	faultErr            // answer RETR with -ERR
	faultTruncate       // send half the message, then close the connection
	faultNoDot          // send the message without the terminating dot, then wait
	faultDrop           // close the connection right after +OK
	faultShort          // send half the message and a proper dot (LIST said more)
	faultErrMid         // send half the message, an "-ERR" line, then close
)

// fakeMsg is a message in the fake maildrop: data has CRLF line endings and
// is not dot-stuffed.
type fakeMsg struct {
	uidl string
	data []byte
}

// fakePOP is a small in-memory POP3 server (USER/PASS, APOP, CAPA, STAT,
// LIST, UIDL, TOP, RETR, DELE, RSET, NOOP, QUIT) with scripted faults.
type fakePOP struct {
	t      *testing.T
	ln     net.Listener
	user   string
	pass   string
	noUIDL bool
	noCapa bool

	mu     sync.Mutex
	msgs   []fakeMsg
	faults map[string]fault // by uidl, on RETR
	retrs  int
	wg     sync.WaitGroup
}

func startFake(t *testing.T, msgs []fakeMsg) *fakePOP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakePOP{t: t, ln: ln, user: "u", pass: "p", msgs: msgs, faults: map[string]fault{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *fakePOP) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *fakePOP) setFault(uidl string, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == faultNone {
		delete(s.faults, uidl)
	} else {
		s.faults[uidl] = f
	}
}

func (s *fakePOP) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func (s *fakePOP) serve(c net.Conn) {
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	const stamp = "<1896.697170952@fake>"
	send := func(lines ...string) {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		w.Flush()
	}
	send("+OK fake POP3 ready " + stamp)
	var session []fakeMsg // snapshot at login
	dele := map[int]bool{}
	authed, user := false, ""
	msg := func(arg string) (int, bool) {
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 || n > len(session) || dele[n] {
			send("-ERR no such message")
			return 0, false
		}
		return n, true
	}
	body := func(data []byte) {
		for _, l := range strings.SplitAfter(string(data), "\r\n") {
			if strings.HasPrefix(l, ".") {
				w.WriteString(".")
			}
			w.WriteString(l)
		}
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(strings.TrimRight(line, "\r\n"))
		if len(f) == 0 {
			send("-ERR empty")
			continue
		}
		cmd, args := strings.ToUpper(f[0]), f[1:]
		if !authed {
			switch cmd {
			case "CAPA":
				if s.noCapa {
					send("-ERR unknown command")
					continue
				}
				send("+OK", "USER", "TOP", "UIDL", ".")
			case "USER":
				user = strings.Join(args, " ")
				send("+OK")
			case "PASS", "APOP":
				ok := false
				if cmd == "PASS" {
					ok = user == s.user && len(args) == 1 && args[0] == s.pass
				} else if len(args) == 2 {
					sum := md5.Sum([]byte(stamp + s.pass))
					ok = args[0] == s.user && args[1] == hex.EncodeToString(sum[:])
				}
				if !ok {
					send("-ERR [AUTH] invalid login")
					continue
				}
				s.mu.Lock()
				session = append([]fakeMsg(nil), s.msgs...)
				s.mu.Unlock()
				authed = true
				send("+OK logged in")
			case "QUIT":
				send("+OK bye")
				return
			default:
				send("-ERR not authenticated")
			}
			continue
		}
		switch cmd {
		case "CAPA":
			send("+OK", "USER", "TOP", "UIDL", ".")
		case "NOOP":
			send("+OK")
		case "STAT":
			n, sz := 0, 0
			for i, m := range session {
				if !dele[i+1] {
					n++
					sz += len(m.data)
				}
			}
			send(fmt.Sprintf("+OK %d %d", n, sz))
		case "LIST", "UIDL":
			if cmd == "UIDL" && s.noUIDL {
				send("-ERR UIDL not supported")
				continue
			}
			if len(args) > 0 {
				send("-ERR not implemented")
				continue
			}
			send("+OK")
			for i, m := range session {
				if dele[i+1] {
					continue
				}
				if cmd == "LIST" {
					fmt.Fprintf(w, "%d %d\r\n", i+1, len(m.data))
				} else {
					fmt.Fprintf(w, "%d %s\r\n", i+1, m.uidl)
				}
			}
			send(".")
		case "TOP":
			if len(args) != 2 {
				send("-ERR syntax")
				continue
			}
			n, ok := msg(args[0])
			if !ok {
				continue
			}
			data := string(session[n-1].data)
			hdr := data
			if i := strings.Index(data, "\r\n\r\n"); i >= 0 {
				hdr = data[:i+4]
			}
			send("+OK")
			body([]byte(hdr))
			send(".")
		case "RETR":
			if len(args) != 1 {
				send("-ERR syntax")
				continue
			}
			n, ok := msg(args[0])
			if !ok {
				continue
			}
			m := session[n-1]
			s.mu.Lock()
			ft := s.faults[m.uidl]
			s.retrs++
			s.mu.Unlock()
			half := m.data[:len(m.data)/2]
			switch ft {
			case faultErr:
				send("-ERR [IN-USE] message locked")
				continue
			case faultDrop:
				send("+OK")
				return
			case faultTruncate:
				send("+OK")
				body(half)
				w.Flush()
				return
			case faultErrMid:
				send("+OK")
				body(half)
				send("", "-ERR internal error")
				return
			case faultShort:
				send("+OK")
				body(half)
				send("", ".")
				continue
			case faultNoDot:
				send("+OK")
				body(m.data)
				w.Flush()
				// Hold the connection until the client gives up.
				r.ReadString('\n')
				return
			}
			send(fmt.Sprintf("+OK %d octets", len(m.data)))
			body(m.data)
			send(".")
		case "DELE":
			if len(args) != 1 {
				send("-ERR syntax")
				continue
			}
			n, ok := msg(args[0])
			if !ok {
				continue
			}
			dele[n] = true
			send("+OK marked")
		case "RSET":
			dele = map[int]bool{}
			send("+OK")
		case "QUIT":
			s.mu.Lock()
			gone := map[string]bool{}
			for i, m := range session {
				if dele[i+1] {
					gone[m.uidl] = true
				}
			}
			kept := s.msgs[:0:0]
			for _, m := range s.msgs {
				if !gone[m.uidl] {
					kept = append(kept, m)
				}
			}
			s.msgs = kept
			s.mu.Unlock()
			send("+OK bye")
			return
		default:
			send("-ERR unknown command")
		}
	}
}

func (s *fakePOP) retrCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retrs
}
