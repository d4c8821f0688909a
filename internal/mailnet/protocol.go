package mailnet

import (
	"net"
	"strconv"
)

// Protocol is what mailnet needs to know of a mail protocol: its name and
// ports, for hints, and how to read its servers' refusals.
type Protocol struct {
	Name      string // "IMAP", "POP3"
	PlainPort int    // plain and STARTTLS: 143, 110
	TLSPort   int    // implicit TLS: 993, 995
	// Refused reports whether err holds a refusal from the server (IMAP
	// NO/BAD, POP3 -ERR) and, if so, whether the server said that it may
	// pass by itself (IMAP [UNAVAILABLE], POP3 [SYS/TEMP]). Nil: the
	// protocol has no such replies.
	Refused func(err error) (refused, transient bool)
}

// Endpoint is where and how a connection goes, for messages that say what
// to change.
type Endpoint struct {
	Proto  Protocol
	Host   string
	Port   int
	TLS    TLSMode
	CAFile string // extra trusted CA certificates (PEM); "" for none
}

// Addr is host:port.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }
