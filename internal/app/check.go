package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/internal/pop3"
)

type checkResult struct {
	Account string `json:"account"`
	OK      bool   `json:"ok"`
	Detail  string `json:"detail"`
	temp    bool
}

// runCheck validates the config and tries every login.
func runCheck(ctx context.Context, e *env, c *cli.Context) error {
	cfg, err := loadConfig(e, c)
	if err != nil {
		return err
	}
	var results []checkResult
	for _, n := range sortedNames(cfg.IMAP) {
		results = append(results, checkIMAP(ctx, cfg.IMAP[n]))
	}
	for _, n := range sortedNames(cfg.POP) {
		results = append(results, checkPOP(ctx, cfg.POP[n]))
	}
	code := ExitOK
	for _, r := range results {
		if !r.OK {
			if r.temp && code == ExitOK {
				code = ExitTemporary
			} else if !r.temp {
				code = ExitFailed
			}
		}
	}
	if e.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"config": cfg.File, "ok": code == ExitOK, "exit_code": code, "accounts": results})
	} else {
		e.infof("config %s: ok", cfg.File)
		for _, r := range results {
			if r.OK {
				e.infof("%s: ok (%s)", r.Account, r.Detail)
			} else {
				e.errorf("%s: %s", r.Account, r.Detail)
			}
		}
	}
	if code != ExitOK {
		return &exitError{code: code, err: errors.New("")}
	}
	return nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func checkIMAP(ctx context.Context, a *config.IMAP) checkResult {
	r := checkResult{Account: "imap." + a.Name}
	pw, err := a.Secret()
	if err != nil {
		r.Detail = err.Error()
		return r
	}
	conn, err := imapconn.Dial(ctx, imapconn.Options{Host: a.Host, Port: a.Port, TLS: a.TLS, CAFile: a.CAFile, User: a.User, Password: pw, Timeout: a.TimeoutDur})
	if err != nil {
		r.Detail, r.temp = err.Error(), classify(err)
		return r
	}
	defer conn.Close()
	var caps []string
	for _, want := range []string{"IMAP4rev2", "CONDSTORE", "QRESYNC", "UIDPLUS", "MOVE", "LIST-STATUS", "ESEARCH"} {
		for cp := range conn.Caps {
			if strings.EqualFold(string(cp), want) {
				caps = append(caps, want)
			}
		}
	}
	r.OK, r.Detail = true, fmt.Sprintf("logged in as %s at %s, tls %s; server has %s", a.User, a.Addr(), a.TLS, strings.Join(caps, " "))
	return r
}

// DialPOP connects and authenticates to a POP account as the config says.
func DialPOP(ctx context.Context, p *config.POP, pw string) (*pop3.Client, error) {
	addr := net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
	tcfg, err := imapconn.TLSConfig(p.Host, p.CAFile)
	if err != nil {
		return nil, err
	}
	o := pop3.Options{TLSConfig: tcfg, Timeout: p.TimeoutDur}
	var c *pop3.Client
	if p.TLS == "implicit" {
		c, err = pop3.DialTLS(ctx, addr, o)
	} else {
		c, err = pop3.Dial(ctx, addr, o)
	}
	if err != nil {
		return nil, imapconn.Classify(fmt.Errorf("connect to %s: %w", addr, err))
	}
	if p.TLS == "starttls" {
		if err := c.StartTLS(ctx); err != nil {
			c.Close()
			return nil, imapconn.Classify(fmt.Errorf("STLS with %s: %w", addr, err))
		}
	}
	var perr *pop3.Error
	if p.Auth == "apop" {
		err = c.APOP(ctx, p.User, pw)
	} else {
		err = c.Login(ctx, p.User, pw)
	}
	if err != nil {
		c.Close()
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("%w: %s as %q: %s", imapconn.ErrAuth, addr, p.User, perr.Msg)
		}
		return nil, imapconn.Classify(fmt.Errorf("login to %s: %w", addr, err))
	}
	return c, nil
}

func checkPOP(ctx context.Context, p *config.POP) checkResult {
	r := checkResult{Account: "pop." + p.Name}
	pw, err := p.Secret()
	if err != nil {
		r.Detail = err.Error()
		return r
	}
	c, err := DialPOP(ctx, p, pw)
	if err != nil {
		r.Detail, r.temp = err.Error(), classify(err)
		return r
	}
	defer c.Quit(ctx)
	n, size, err := c.Stat(ctx)
	if err != nil {
		r.Detail = err.Error()
		return r
	}
	r.OK, r.Detail = true, fmt.Sprintf("logged in as %s at %s, tls %s; %d messages, %d bytes", p.User, p.Addr(), p.TLS, n, size)
	return r
}
