package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/oauth"
)

// loginTimeout bounds how long `mdsync login` waits for the user.
const loginTimeout = 10 * time.Minute

// runLogin is `mdsync login NAME`: the OAuth2 sign-in of an account, whose
// tokens it keeps in state_dir/oauth for every later run.
func runLogin(ctx context.Context, e *env, c *cli.Context) error {
	cfg, err := loadConfig(e, c)
	if err != nil {
		return err
	}
	if err := flagsFirst(c); err != nil {
		return err
	}
	if c.NArg() != 1 {
		return exitf(ExitUsage, "login takes the name of one account: mdsync login NAME")
	}
	key, srv, err := oauthAccount(cfg, c.Args().First())
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	p, err := provider(srv.OAuth2)
	if err != nil {
		return exitf(ExitFailed, "%s: %v", key, err)
	}
	if f := c.String("flow"); f != "" {
		if f != oauth.FlowLoopback && f != oauth.FlowDevice {
			return exitf(ExitUsage, "--flow must be loopback or device, not %q", f)
		}
		p.Flow = f
	}
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	st := tokenStore(cfg)
	if err := oauth.Login(ctx, p, st, key, e.stdout, openBrowser); err != nil {
		return exitf(ExitFailed, "%s: sign-in failed: %v", key, err)
	}
	e.infof("signed in: %s keeps its OAuth2 tokens in %s", key, st.Dir)
	return nil
}

// oauthAccount finds the account a login is for: an [imap.NAME] or
// [pop.NAME] (or "imap.NAME" / "pop.NAME" when both exist), or a channel's
// IMAP account.
func oauthAccount(cfg *config.Config, name string) (string, *config.Server, error) {
	kind, bare, qualified := strings.Cut(name, ".")
	var cands []string
	if !qualified {
		bare = name
	}
	if (!qualified || kind == "imap") && cfg.IMAP[bare] != nil {
		cands = append(cands, "imap."+bare)
	}
	if (!qualified || kind == "pop") && cfg.POP[bare] != nil {
		cands = append(cands, "pop."+bare)
	}
	if len(cands) == 0 && !qualified && cfg.Channel[bare] != nil {
		cands = append(cands, "imap."+cfg.Channel[bare].IMAP)
	}
	switch len(cands) {
	case 0:
		return "", nil, fmt.Errorf("no imap or pop account named %q", name)
	case 2:
		return "", nil, fmt.Errorf("both imap.%s and pop.%s exist: say which, e.g. mdsync login imap.%s", bare, bare, bare)
	}
	key := cands[0]
	kind, bare, _ = strings.Cut(key, ".")
	var srv *config.Server
	if kind == "imap" {
		srv = &cfg.IMAP[bare].Server
	} else {
		srv = &cfg.POP[bare].Server
	}
	if srv.OAuth2 == nil {
		what := "it signs in with a password"
		if srv.TokenCommand != "" {
			what = "its token_command gives the tokens"
		}
		return "", nil, fmt.Errorf("%s has no oauth2 settings (%s); see the README, Gmail / Microsoft 365", key, what)
	}
	return key, srv, nil
}
