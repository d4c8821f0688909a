package mailnet

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// probeTimeout bounds the extra connection of SpeaksTLS.
const probeTimeout = 5 * time.Second

// SpeaksTLS reports whether the server at addr answers a TLS handshake:
// after a plain connection got no greeting, it tells a wrong TLS mode (the
// port expects TLS at once, whatever its number) from a server that is
// merely slow or gone. The probe trusts nothing and sends nothing but a
// ClientHello: no credentials ever go over it.
func SpeaksTLS(ctx context.Context, addr string, timeout time.Duration) bool {
	if timeout <= 0 || timeout > probeTimeout {
		timeout = probeTimeout
	}
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(timeout))
	host, _, _ := net.SplitHostPort(addr)
	tc := tls.Client(raw, &tls.Config{ServerName: host, InsecureSkipVerify: true}) // a probe: see above
	err = tc.HandshakeContext(ctx)
	if err == nil {
		return true
	}
	var alert tls.AlertError
	return errors.As(err, &alert) // it answered in TLS, if only to refuse
}

// TLSProbe is SpeaksTLS toward e, run only if and when Explain asks.
func TLSProbe(ctx context.Context, e Endpoint, timeout time.Duration) func() bool {
	return func() bool { return SpeaksTLS(ctx, e.Addr(), timeout) }
}
