package dovecot

import (
	"bufio"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// ProxyRules make an IMAP proxy in front of a real server behave like
// another server, line by line.
type ProxyRules struct {
	// ServerLine rewrites a line from the server (CRLF included).
	ServerLine func(line string) string
	// ClientLine rewrites a line from the client (CRLF included): a line
	// the server should refuse can be turned into one it does not know,
	// so that the refusal comes in order from the server itself.
	ClientLine func(line string) string
	// DropAfterLogin discards what the client sends behind a LOGIN or an
	// AUTHENTICATE until the server has answered it, as Courier's login
	// process does when it hands the connection to the imapd.
	DropAfterLogin bool
}

// IMAPProxy is a line-rewriting proxy on 127.0.0.1 (see ProxyRules).
type IMAPProxy struct {
	Port int
	ln   net.Listener
	r    ProxyRules
	wg   sync.WaitGroup
}

var loginLine = regexp.MustCompile(`(?i)^(\S+) (LOGIN|AUTHENTICATE) `)

// StartIMAPProxy starts a proxy to upstream (host:port) that the test's
// cleanup stops.
func StartIMAPProxy(t testing.TB, upstream string, r ProxyRules) *IMAPProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &IMAPProxy{Port: ln.Addr().(*net.TCPAddr).Port, ln: ln, r: r}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Add(1)
			go p.serve(c, up)
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *IMAPProxy) serve(client, server net.Conn) {
	defer p.wg.Done()
	defer client.Close()
	defer server.Close()
	var mu sync.Mutex
	waitTag := ""   // a login the server has not answered yet
	answer := false // the server asked for the login's next step: it passes
	done := make(chan struct{})
	go func() { // server -> client
		defer close(done)
		br := bufio.NewReader(server)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				mu.Lock()
				if waitTag != "" && strings.HasPrefix(line, waitTag+" ") {
					waitTag = ""
				}
				if waitTag != "" && strings.HasPrefix(line, "+") {
					answer = true
				}
				mu.Unlock()
				if p.r.ServerLine != nil {
					line = p.r.ServerLine(line)
				}
				if _, werr := client.Write([]byte(line)); werr != nil {
					return
				}
			}
			if err != nil {
				client.Close()
				return
			}
		}
	}()
	br := bufio.NewReader(client)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			mu.Lock()
			drop := p.r.DropAfterLogin && waitTag != "" && !answer
			answer = false
			if p.r.DropAfterLogin && !drop {
				if m := loginLine.FindStringSubmatch(line); m != nil {
					waitTag = m[1]
				}
			}
			mu.Unlock()
			if !drop {
				if p.r.ClientLine != nil {
					line = p.r.ClientLine(line)
				}
				if _, werr := server.Write([]byte(line)); werr != nil {
					break
				}
			}
		}
		if err != nil {
			break
		}
	}
	server.Close()
	<-done
}

var storeForwarded = regexp.MustCompile(`(?i)^(\S+) (UID )?STORE .*\$Forwarded`)

// IMAP4dRules make a Dovecot behind the proxy look like GNU imap4d to its
// flags: PERMANENTFLAGS without $Forwarded or \*, and a STORE of
// $Forwarded refused with BAD (by Dovecot itself, in order: the command is
// turned into one it does not know).
func IMAP4dRules() ProxyRules {
	return ProxyRules{
		ServerLine: func(l string) string {
			if strings.HasPrefix(l, "* OK [PERMANENTFLAGS ") {
				return "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)] Flags permitted.\r\n"
			}
			return l
		},
		ClientLine: func(l string) string {
			if m := storeForwarded.FindStringSubmatch(l); m != nil {
				return m[1] + " STORE-REFUSED\r\n"
			}
			return l
		},
	}
}
