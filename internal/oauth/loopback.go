package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// loopbackLogin is the authorization code grant with PKCE for native apps
// (RFC 8252): the browser comes back to http://127.0.0.1:PORT/ with the
// code. The listener is on 127.0.0.1 only (not localhost, which may
// resolve to ::1 or, misconfigured, elsewhere), at a port the kernel picks.
//
// The state, a random value checked in constant time, keeps a page the
// user happens to visit from feeding its own code to the listener; PKCE
// keeps a code intercepted on the way from being worth anything without the
// verifier, which never leaves this process.
func loopbackLogin(ctx context.Context, p Provider, account string, out *userWriter, browse func(string) error) (*oauth2.Token, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the browser's redirect: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := p.config(fmt.Sprintf("http://127.0.0.1:%d/", port))
	cb := &callback{
		ctx:      ctx,
		cfg:      cfg,
		state:    rand.Text(),
		verifier: oauth2.GenerateVerifier(),
		secret:   p.ClientSecret,
		done:     make(chan callbackResult, 1),
	}
	authURL := cfg.AuthCodeURL(cb.state, append(p.authParams(), oauth2.S256ChallengeOption(cb.verifier))...)

	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer shutdown(srv)

	deadline, _ := ctx.Deadline()
	fmt.Fprintf(out, "To sign in %s with %s, open this address in a browser on this computer:\n\n    %s\n\n", account, p, authURL)
	fmt.Fprintf(out, "(Browser on another computer? Forward the port first: ssh -L %d:127.0.0.1:%d THIS-HOST)\n", port, port)
	fmt.Fprintf(out, "Waiting for the browser until %s...\n", deadline.Local().Format(time.TimeOnly))
	openBrowser(out, browse, authURL)

	select {
	case r := <-cb.done:
		return r.tok, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("the browser did not come back in time: %w", ctx.Err())
	}
}

// shutdown lets the last page reach the browser, then closes the listener.
func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if srv.Shutdown(ctx) != nil {
		srv.Close()
	}
}

type callbackResult struct {
	tok *oauth2.Token
	err error
}

// callback is the handler of the redirect URI.
type callback struct {
	ctx             context.Context
	cfg             *oauth2.Config
	state, verifier string
	secret          string
	done            chan callbackResult // gets the first answer with the right state
	mu              sync.Mutex
	answered        bool
}

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r) // favicon.ico and the like
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		page(w, http.StatusMethodNotAllowed, "mdsync: wrong method", "")
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(c.state)) != 1 {
		page(w, http.StatusBadRequest, "mdsync: this answer does not belong to the running sign-in",
			"Its state does not match. Open the address that mdsync login printed.")
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answered {
		page(w, http.StatusOK, "mdsync: already answered", "You can close this window.")
		return
	}
	c.answered = true

	res := c.exchange(q.Get("code"), q.Get("error"), q.Get("error_description"))
	if res.err != nil {
		page(w, http.StatusBadRequest, "mdsync: sign-in failed", res.err.Error())
	} else {
		page(w, http.StatusOK, "mdsync: signed in", "You can close this window.")
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	c.done <- res
}

func (c *callback) exchange(code, errCode, errDesc string) callbackResult {
	if errCode != "" {
		return callbackResult{err: &ProviderError{Code: errCode, Description: scrub(errDesc, []string{code, c.secret})}}
	}
	if code == "" {
		return callbackResult{err: errors.New("the browser came back without an authorization code")}
	}
	tok, err := c.cfg.Exchange(c.ctx, code, oauth2.VerifierOption(c.verifier))
	if err != nil {
		err = fromOAuth2(err, code, c.verifier, c.secret)
		return callbackResult{err: fmt.Errorf("exchange the authorization code: %w", err)}
	}
	return callbackResult{tok: tok}
}

// page answers the browser with a minimal page. It is never cached and
// sends no referrer: the address it answers carries the code.
func page(w http.ResponseWriter, status int, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n<body><h1>%s</h1>\n<p>%s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
