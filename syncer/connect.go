package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/imapconn"
)

// connect logs in and lists the server's folders of the channel. The LIST
// (and NAMESPACE) go out behind the login where the server is known to
// take that; what the server announced after the login is remembered for
// the next run.
func (r *channelRun) connect() (*imapconn.Conn, []remoteFolder, error) {
	ctx, o := r.ctx, r.o
	var ahead <-chan listResult
	var nsAhead *imapclient.NamespaceCommand
	dialStart := time.Now()
	known, _ := o.DB.ServerCaps(ctx, o.Server.Key)
	c0, err := r.pool.dial(ctx, func(c *imapclient.Client, preLogin imap.CapSet) {
		// only where the greeting announced LIST-STATUS, or the login
		// answer did last time: a server that did neither (Courier) may
		// drop what comes with the login. A server that no longer has it
		// refuses the LIST, and listFolders asks again.
		learned := hasCap(known, imap.CapListStatus) && !hasCap(known, noPipeline)
		if preLogin.Has(imap.CapListStatus) || preLogin.Has(imap.CapIMAP4rev2) || learned {
			ahead = startList(c)
			if o.Server.Prefix == nil && (preLogin.Has(imap.CapNamespace) || hasCap(known, imap.CapNamespace)) {
				nsAhead = c.Namespace() // answered with the LIST
			}
		}
	})
	if err == nil {
		now := capsString(c0.Caps)
		if hasCap(known, noPipeline) {
			now += " " + string(noPipeline)
		}
		if now != known && !o.DryRun {
			_ = o.DB.SaveServerCaps(context.WithoutCancel(ctx), o.Server.Key, now)
		}
	}
	r.dialTook = time.Since(dialStart)
	if err != nil {
		if ahead != nil && !errors.Is(err, imapconn.ErrAuth) {
			// the connection is closed: the LIST sent ahead has its answer,
			// and when it failed, that is what broke the connection
			if l := <-ahead; l.err != nil {
				var ie *imap.Error
				if !errors.As(l.err, &ie) {
					return nil, nil, imapconn.Classify(fmt.Errorf("list folders: %w", l.err))
				}
			}
		}
		return nil, nil, err
	}
	r.tracef("dialed")
	nsCmd := nsAhead
	if nsCmd == nil {
		nsCmd = askNamespace(c0, o.Server.Prefix)
	}
	remote, err := listFolders(c0, ahead)
	r.tracef("listed")
	if err != nil && ahead != nil && isTimeout(err) && !o.DryRun {
		// the LIST sent with the login got no answer: never again
		_ = o.DB.SaveServerCaps(context.WithoutCancel(ctx), o.Server.Key, capsString(c0.Caps)+" "+string(noPipeline))
	}
	var ns namespace
	if err == nil {
		ns, err = personalNamespace(nsCmd, o.Server.Prefix)
	}
	if err != nil {
		r.pool.put(c0, err)
		return nil, nil, imapconn.Classify(err)
	}
	r.o.ns, r.pool.o.ns = ns, ns
	r.condstore = c0.Caps.Has(imap.CapCondStore)
	remote = ns.channelFolders(remote)
	for _, f := range remote {
		if f.Delim != 0 {
			r.delim = f.Delim
			break
		}
	}
	return c0, remote, nil
}
