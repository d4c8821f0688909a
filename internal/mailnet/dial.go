package mailnet

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// keepAlive is the TCP keep-alive period: a connection that waits long
// without traffic (IDLE, a pooled connection) notices a vanished peer.
const keepAlive = 15 * time.Second

// Dial opens a TCP connection to e and, for implicit TLS, completes the
// handshake with tcfg, each step bounded by timeout. raw is the TCP
// connection under conn: closing it ends at once whatever uses conn.
// Failures come explained (Explain); for STARTTLS and no TLS, conn is raw
// and securing it is the protocol's job.
func Dial(ctx context.Context, e Endpoint, tcfg *tls.Config, timeout time.Duration) (conn, raw net.Conn, err error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: keepAlive}
	raw, err = d.DialContext(ctx, "tcp", e.Addr())
	if err != nil {
		return nil, nil, Explain(err, e, Connect, nil)
	}
	if e.TLS != TLSImplicit {
		return raw, raw, nil
	}
	tc := tls.Client(raw, tcfg)
	tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, nil, Explain(err, e, Handshake, nil)
	}
	tc.SetDeadline(time.Time{})
	return tc, raw, nil
}
