package app

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/internal/popfetch"
	"github.com/mdsync/mdsync/syncer"
)

type checkResult struct {
	Account string `json:"account"`
	OK      bool   `json:"ok"`
	Warning bool   `json:"warning,omitempty"`
	Detail  string `json:"detail"`
	temp    bool
}

// wantCaps are the extensions check reports (mdsync uses each when there).
var wantCaps = []string{"IMAP4rev2", "CONDSTORE", "QRESYNC", "UIDPLUS", "MOVE", "LIST-STATUS", "ESEARCH"}

// runCheck validates the config and tries every login.
func runCheck(ctx context.Context, e *env, c *cli.Context) error {
	cfg, err := loadConfig(e, c)
	if err != nil {
		return err
	}
	var results []checkResult
	for _, n := range sortedNames(cfg.IMAP) {
		r, folders := checkIMAP(ctx, cfg, cfg.IMAP[n])
		results = append(results, r)
		if r.OK {
			results = append(results, checkPatterns(cfg, n, folders)...)
		}
	}
	for _, n := range sortedNames(cfg.POP) {
		results = append(results, checkPOP(ctx, cfg, cfg.POP[n]))
	}
	code := ExitOK
	for _, r := range results {
		if !r.OK {
			code = withFailure(code, r.temp)
		}
	}
	if e.json {
		e.printJSON(map[string]any{"config": cfg.File, "ok": code == ExitOK, "exit_code": code, "accounts": results}, escaped)
	} else {
		e.infof("config %s: ok", cfg.File)
		for _, r := range results {
			if r.Warning {
				e.errorf("%s: %s", r.Account, r.Detail)
			} else if r.OK {
				e.infof("%s: ok (%s)", r.Account, r.Detail)
			} else {
				e.errorf("%s: %s", r.Account, r.Detail)
			}
		}
	}
	return exitWith(code)
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// serverFolders are the folder names an account lists, with its delimiter.
type serverFolders struct {
	names []string
	delim rune
}

func checkIMAP(ctx context.Context, cfg *config.Config, a *config.IMAP) (checkResult, serverFolders) {
	r := checkResult{Account: "imap." + a.Name}
	var sf serverFolders
	pw, token, err := credentials(cfg, r.Account, &a.Server)
	if err != nil {
		r.Detail = err.Error()
		return r, sf
	}
	conn, err := imapconn.Dial(ctx, imapOptions(a, pw, token))
	if err != nil {
		r.Detail, r.temp = err.Error(), isTemporary(err)
		return r, sf
	}
	defer conn.Close()
	boxes, err := conn.List("", "*", nil).Collect()
	if err != nil {
		r.Detail, r.temp = fmt.Sprintf("list folders: %v", err), isTemporary(err)
		return r, sf
	}
	sf.delim = '/'
	for _, b := range boxes {
		sf.names = append(sf.names, b.Mailbox)
		if b.Delim != 0 {
			sf.delim = b.Delim
		}
	}
	var caps []string
	for _, want := range wantCaps {
		for cp := range conn.Caps {
			if strings.EqualFold(string(cp), want) {
				caps = append(caps, want)
			}
		}
	}
	has := "none of " + strings.Join(wantCaps, " ")
	if len(caps) > 0 {
		has = strings.Join(caps, " ")
	}
	r.OK, r.Detail = true, fmt.Sprintf("logged in as %s at %s, tls %s, auth %s; %d folders; server has %s", a.User, a.Addr(), a.TLS, conn.Mechanism, len(sf.names), has)
	return r, sf
}

// checkPatterns warns about the channels of an account whose folders
// patterns select no folder of the server: sync would sync nothing and
// say "no changes".
func checkPatterns(cfg *config.Config, account string, sf serverFolders) []checkResult {
	var out []checkResult
	for _, n := range sortedNames(cfg.Channel) {
		ch := cfg.Channel[n]
		if ch.IMAP != account {
			continue
		}
		matched := 0
		for _, f := range sf.names {
			if syncer.MatchFolder(ch.Folders, f, sf.delim) {
				matched++
			}
		}
		if matched == 0 {
			out = append(out, checkResult{Account: "channel." + n, OK: true, Warning: true,
				Detail: fmt.Sprintf("warning: folders = %q (%s) matches none of the %d folders of the server (%s)", ch.Folders, cfg.Pos("channel."+n+".folders"), len(sf.names), strings.Join(sf.names[:min(len(sf.names), 8)], ", "))})
		}
	}
	return out
}

func checkPOP(ctx context.Context, cfg *config.Config, p *config.POP) checkResult {
	r := checkResult{Account: "pop." + p.Name}
	pw, token, err := credentials(cfg, r.Account, &p.Server)
	if err != nil {
		r.Detail = err.Error()
		return r
	}
	o, err := popOptions(p.Name, p, pw, token)
	if err != nil {
		r.Detail = err.Error()
		return r
	}
	f := popfetch.New(o)
	c, err := f.Dial(ctx)
	if err != nil {
		r.Detail, r.temp = err.Error(), isTemporary(err)
		return r
	}
	defer c.Quit(ctx)
	n, size, err := c.Stat(ctx)
	if err != nil {
		r.Detail = err.Error()
		return r
	}
	r.OK, r.Detail = true, fmt.Sprintf("logged in as %s at %s, tls %s, auth %s; %d messages, %d bytes", p.User, p.Addr(), p.TLS, f.Mechanism(), n, size)
	return r
}
