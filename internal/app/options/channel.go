// Package options turns the config into the engines' options: the one
// place besides internal/app that reads config, so that the engines and
// their tests take typed options.
package options

import (
	"context"
	"io"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/syncer"
)

// Channel is the engine's options for channel name of cfg: its
// folder patterns and policies, and how to reach its IMAP account with the
// credentials the caller resolved (a password, or token for OAuth2).
// Store, DB and the per-run switches are the caller's to set.
func Channel(cfg *config.Config, name, password string, token func(ctx context.Context, refresh bool) (string, error), debug io.Writer) syncer.Options {
	ch := cfg.Channel[name]
	acct := cfg.IMAP[ch.IMAP]
	if debug != nil { // the connections of a run write their traces at once
		debug = Locked(debug)
	}
	return syncer.Options{
		Name:    name,
		Folders: ch.Folders,
		Create:  sides(ch.Create),
		Remove:  sides(ch.Remove),
		Policy: syncer.Policy{
			Expunge:          sides(ch.Expunge),
			MaxDeletePercent: ch.MaxDeletePercent,
			MaxDeleteCount:   ch.MaxDeleteCount,
		},
		Server: syncer.Server{
			Key:            "imap." + acct.Name,
			MaxConnections: acct.MaxConnections,
			Prefix:         acct.Prefix,
			Dial: func(ctx context.Context, withLogin func(*imapclient.Client, imap.CapSet)) (*imapconn.Conn, error) {
				return imapconn.Dial(ctx, imapconn.Options{
					Host: acct.Host, Port: acct.Port, TLS: acct.TLS, CAFile: acct.CAFile,
					User: acct.User, Password: password, Auth: acct.Auth, Token: token,
					Timeout: acct.TimeoutDur, Debug: debug, Pipeline: withLogin,
				})
			},
		},
	}
}

// sides is the engine's value of a create/remove/expunge word, which the
// config has validated (and given its default): both, imap, maildir, none.
func sides(word string) syncer.Sides {
	switch word {
	case "both":
		return syncer.SidesBoth
	case "imap":
		return syncer.SidesServer
	case "maildir":
		return syncer.SidesLocal
	}
	return syncer.SidesNone
}

// Locked serialises the writes of several goroutines to w.
func Locked(w io.Writer) io.Writer { return &lockedWriter{w: w} }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
