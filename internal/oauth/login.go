package oauth

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// loginTimeout bounds a sign-in whose context has no deadline: the user
// needs a few minutes at most, and a forgotten `mdsync login` should not
// hold a listening port forever.
const loginTimeout = 5 * time.Minute

// Login runs p's sign-in flow for account and saves the token in st.
//
// out receives what the user must see: the address to open (loopback
// flow), or the address and the code to enter (device flow); nothing
// secret is written to it. browse, if not nil, is called in the background
// with the address to open a browser; when it fails the user is told on out
// and can still open the address by hand.
//
// The loopback flow listens on 127.0.0.1 at a random port, sends a PKCE
// challenge (S256) and a random state, ignores redirects whose state does
// not match, answers the browser with a short "you can close this window"
// page, and gives up at ctx's deadline (5 minutes when ctx has none). The
// device flow polls the provider as RFC 8628 says, until the user has
// signed in, declined, or the code expired.
func Login(ctx context.Context, p Provider, st Store, account string, out io.Writer, browse func(url string) error) error {
	if err := p.checkLogin(); err != nil {
		return fmt.Errorf("sign in %s: %w", account, err)
	}
	path, err := st.path(account)
	if err != nil { // before the user goes through the browser for nothing
		return fmt.Errorf("sign in %s: %w", account, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, loginTimeout)
		defer cancel()
	}
	w := &userWriter{w: out}
	defer w.close()

	var tok *oauth2.Token
	switch p.flow() {
	case FlowDevice:
		tok, err = deviceLogin(ctx, p, account, w, browse)
	default:
		tok, err = loopbackLogin(ctx, p, account, w, browse)
	}
	if err != nil {
		return fmt.Errorf("sign in %s with %s: %w", account, p, err)
	}
	if tok.RefreshToken == "" {
		when := "expires"
		if !tok.Expiry.IsZero() {
			when = "expires (" + tok.Expiry.Local().Format(time.DateTime) + ")"
		}
		fmt.Fprintf(w, "Warning: %s sent no refresh token; when the access token %s you will have to sign in again.\n", p, when)
	}
	if err := st.Save(account, tok); err != nil {
		return fmt.Errorf("sign in %s: %w", account, err)
	}
	fmt.Fprintf(w, "Signed in: the token of %s is saved in %s.\n", account, path)
	return nil
}

// openBrowser calls browse with u in the background: a browser started
// directly may not return until it is closed, and the sign-in must go on
// meanwhile.
func openBrowser(w *userWriter, browse func(string) error, u string) {
	if browse == nil {
		return
	}
	go func() {
		if err := browse(u); err != nil {
			fmt.Fprintf(w, "Could not open a browser (%v); open the address by hand.\n", err)
		}
	}()
}

// userWriter serialises the writes to the user's writer (the browse
// goroutine writes too) and drops those that come after Login returned,
// when the writer is the caller's again.
type userWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (u *userWriter) Write(b []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed || u.w == nil {
		return len(b), nil
	}
	return u.w.Write(b)
}

func (u *userWriter) close() {
	u.mu.Lock()
	u.closed = true
	u.mu.Unlock()
}
