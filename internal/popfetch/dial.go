package popfetch

import (
	"context"
	"fmt"

	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/internal/pop3"
)

// Dial connects, secures and logs in as the Options say (what Run does
// first, and what `mdsync check` tries).
func (f *Fetcher) Dial(ctx context.Context) (*pop3.Client, error) {
	c, caps, err := f.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := f.login(ctx, c, caps); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// endpoint is where the account's connection goes.
func (f *Fetcher) endpoint() mailnet.Endpoint {
	return mailnet.Endpoint{Proto: pop3.Protocol, Host: f.o.Host, Port: f.o.Port, TLS: f.o.TLS, CAFile: f.o.CAFile}
}

// connect dials and secures the connection and returns the capabilities
// (after STLS; nil if the server has no CAPA).
func (f *Fetcher) connect(ctx context.Context) (*pop3.Client, map[string][]string, error) {
	ep := f.endpoint()
	addr := ep.Addr()
	opts := pop3.Options{Timeout: f.o.Timeout}
	f.trace = nil
	if f.o.Debug != nil {
		// pop3 masks what it sends; this also catches a secret a server
		// echoes back
		f.trace = mailnet.NewRedactor(mailnet.Tagged(f.o.Debug, mailnet.AccountTag("pop", f.o.Account)), nil, f.o.Password)
		opts.Debug = f.trace
	}
	if f.o.TLS != mailnet.TLSNone {
		tc, err := mailnet.TLSConfig(ep)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to %s: %w", addr, err)
		}
		opts.TLSConfig = tc
	}
	var c *pop3.Client
	var err error
	stage := mailnet.Greeting // Dial reads the greeting
	if f.o.TLS == mailnet.TLSImplicit {
		c, err = pop3.DialTLS(ctx, addr, opts)
		stage = mailnet.Handshake
	} else {
		c, err = pop3.Dial(ctx, addr, opts)
	}
	if err != nil {
		return nil, nil, mailnet.Explain(err, ep, stage, mailnet.TLSProbe(ctx, ep, f.o.Timeout))
	}
	caps, err := c.Capa(ctx)
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("CAPA: %w", pop3.Protocol.Classify(err))
	}
	if f.o.TLS == mailnet.TLSStartTLS {
		if _, ok := caps["STLS"]; !ok {
			c.Close()
			return nil, nil, fmt.Errorf("%s does not offer STLS, but tls = \"starttls\" requires it", addr)
		}
		if err := c.StartTLS(ctx); err != nil {
			c.Close()
			return nil, nil, mailnet.Explain(err, ep, mailnet.StartTLS, nil)
		}
		if caps, err = c.Capa(ctx); err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("CAPA: %w", pop3.Protocol.Classify(err))
		}
	}
	return c, caps, nil
}
