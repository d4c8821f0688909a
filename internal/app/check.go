package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/internal/popfetch"
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
	sort.Strings(out)
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

func checkPOP(ctx context.Context, p *config.POP) checkResult {
	r := checkResult{Account: "pop." + p.Name}
	pw, err := p.Secret()
	if err != nil {
		r.Detail = err.Error()
		return r
	}
	c, err := (&popfetch.Fetcher{Name: p.Name, Cfg: p, Password: pw}).Dial(ctx)
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
