package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("POST /device", p.deviceAuth)
	mux.HandleFunc("GET /device/verify", p.deviceVerify)
	mux.HandleFunc("/introspect", p.introspect)
	return mux
}

// authorize is the user's visit to the consent page, answered at once: a
// redirect to redirect_uri with a code (or error=access_denied under
// WithDenial). Bad client or redirect URI get a 400 page, not a redirect,
// as RFC 6749 section 4.1.2.1 says.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.lastAuth = q
	p.mu.Unlock()

	if q.Get("client_id") != p.set.clientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || !loopbackHost(redirect.Hostname()) || redirect.Port() == "" {
		http.Error(w, "redirect_uri must be http://127.0.0.1:PORT/ (a loopback address with a port)", http.StatusBadRequest)
		return
	}
	back := func(v url.Values) {
		v.Set("state", q.Get("state"))
		u := *redirect
		rq := u.Query()
		for k, vs := range v {
			rq[k] = vs
		}
		u.RawQuery = rq.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		back(url.Values{"error": {"invalid_request"}, "error_description": {"PKCE with S256 is required"}})
		return
	case p.set.deny:
		back(url.Values{"error": {"access_denied"}, "error_description": {"The user declined."}})
		return
	}
	code := "code-" + rand.Text()
	p.mu.Lock()
	p.codes[code] = &authCode{
		clientID:    q.Get("client_id"),
		redirectURI: q.Get("redirect_uri"),
		challenge:   q.Get("code_challenge"),
		scope:       q.Get("scope"),
		expires:     time.Now().Add(time.Minute),
	}
	p.counts.Authorizations++
	p.mu.Unlock()
	back(url.Values{"code": {code}})
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// token is the token endpoint: authorization_code (with PKCE),
// refresh_token and device_code grants.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	p.mu.Lock()
	p.counts.TokenRequests++
	var fail *failure
	if len(p.failures) > 0 {
		fail = &p.failures[0]
		p.failures = p.failures[1:]
	}
	g := p.gate
	p.mu.Unlock()

	if g != nil {
		select {
		case g.arrived <- struct{}{}:
		default:
		}
		select {
		case <-g.released:
		case <-p.stop:
		case <-r.Context().Done():
			return
		}
	}
	if fail != nil {
		body := fail.body
		if p.set.leaky {
			body += " " + strings.Join([]string{r.PostForm.Get("refresh_token"), r.PostForm.Get("code"), r.PostForm.Get("client_secret")}, " ")
		}
		if strings.HasPrefix(fail.body, "{") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
		w.WriteHeader(fail.status)
		fmt.Fprint(w, body)
		return
	}
	if !p.client(w, r) {
		return
	}

	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		p.exchange(w, r)
	case "refresh_token":
		p.refreshGrant(w, r)
	case "urn:ietf:params:oauth:grant-type:device_code":
		p.devicePoll(w, r)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", gt)
	}
}

// client checks the client authentication: Basic auth (x/oauth2 escapes
// both parts) or client_id/client_secret in the body, not a secret both
// ways; the secret only when the client has one.
func (p *Provider) client(w http.ResponseWriter, r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if r.PostForm.Has("client_secret") || (r.PostForm.Has("client_id") && r.PostForm.Get("client_id") != id) {
			oauthError(w, http.StatusBadRequest, "invalid_request", "more than one client authentication")
			return false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	if basic {
		p.counts.HeaderAuth++
	} else {
		p.counts.BodyAuth++
	}
	p.mu.Unlock()
	if id != p.set.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client "+id)
		return false
	}
	if p.set.clientSecret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(p.set.clientSecret)) != 1 {
		desc := "wrong client secret"
		if p.set.leaky {
			desc += " " + secret
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", desc)
		return false
	}
	return true
}

func (p *Provider) exchange(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	code := f.Get("code")
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.codes[code]
	bad := func(why string) {
		if p.set.leaky {
			why += " (code " + code + ")"
		}
		oauthError(w, http.StatusBadRequest, "invalid_grant", why)
	}
	switch {
	case c == nil:
		bad("unknown authorization code")
		return
	case c.used:
		bad("authorization code already used")
		return
	}
	c.used = true // single use, whatever comes next
	verifier := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case time.Now().After(c.expires):
		bad("authorization code expired")
	case f.Get("redirect_uri") != c.redirectURI:
		bad("redirect_uri differs from the authorization request")
	case c.clientID != p.set.clientID:
		bad("code issued to another client")
	case base64.RawURLEncoding.EncodeToString(verifier[:]) != c.challenge:
		bad("PKCE verification failed")
	default:
		p.counts.Exchanges++
		writeToken(w, p.issueLocked(p.set.user, c.scope, "", true))
	}
}

func (p *Provider) refreshGrant(w http.ResponseWriter, r *http.Request) {
	rt := r.PostForm.Get("refresh_token")
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.refresh[rt]
	if old == nil || old.revoked {
		p.counts.RefusedRefreshes++
		why := "Token has been expired or revoked."
		if p.set.leaky {
			why = "refresh token " + rt + " has been expired or revoked."
		}
		oauthError(w, http.StatusBadRequest, "invalid_grant", why)
		return
	}
	p.counts.Refreshes++
	if p.set.rotate {
		old.revoked = true
		writeToken(w, p.issueLocked(old.user, old.scope, "", true))
		return
	}
	writeToken(w, p.issueLocked(old.user, old.scope, rt, false))
}

func (p *Provider) devicePoll(w http.ResponseWriter, r *http.Request) {
	dc := r.PostForm.Get("device_code")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts.DevicePolls++
	d := p.devices[dc]
	switch {
	case d == nil || d.state == "used":
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown device code")
	case time.Now().After(d.expires):
		oauthError(w, http.StatusBadRequest, "expired_token", "")
	case d.state == "pending":
		oauthError(w, http.StatusBadRequest, "authorization_pending", "")
	case d.state == "denied":
		oauthError(w, http.StatusBadRequest, "access_denied", "The user declined.")
	default:
		d.state = "used"
		p.counts.Exchanges++
		writeToken(w, p.issueLocked(p.set.user, d.scope, "", true))
	}
}

// deviceAuth is the device authorization endpoint. interval is 1, the
// least x/oauth2 honours (0 would make it wait the default 5 s).
func (p *Provider) deviceAuth(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	if r.PostForm.Get("client_id") != p.set.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	dc := "dc-" + rand.Text()
	uc := userCode()
	d := &device{userCode: uc, scope: r.PostForm.Get("scope"), expires: time.Now().Add(5 * time.Minute), state: "pending"}
	if p.set.autoApprove {
		d.state = "approved"
	}
	p.mu.Lock()
	p.devices[dc] = d
	p.byUser[uc] = dc
	p.counts.DeviceAuthorizations++
	p.mu.Unlock()
	select {
	case p.userCodes <- uc:
	default:
	}
	verify := p.srv.URL + "/device/verify"
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               dc,
		"user_code":                 uc,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + url.QueryEscape(uc),
		"expires_in":                300,
		"interval":                  1,
	})
}

// deviceVerify is the user's visit to verification_uri_complete: it
// approves the code, so a test's browse callback can play the user.
func (p *Provider) deviceVerify(w http.ResponseWriter, r *http.Request) {
	if err := p.Approve(r.URL.Query().Get("user_code")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintln(w, "Device approved; you can close this window.")
}

// introspect is RFC 7662 token introspection as Dovecot's oauth2 passdb
// uses it: introspection_mode = post (form field token), get (?token=) or
// auth (Authorization: Bearer).
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	tok := ""
	switch {
	case r.Method == http.MethodPost:
		if err := r.ParseForm(); err == nil {
			tok = r.PostForm.Get("token")
		}
	case r.Method == http.MethodGet:
		tok = r.URL.Query().Get("token")
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if tok == "" {
		if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			tok = strings.TrimSpace(h)
		}
	}
	p.mu.Lock()
	p.counts.Introspections++
	a := p.access[tok]
	active := a != nil && !a.revoked && time.Now().Before(a.expires)
	var answer map[string]any
	if active {
		answer = map[string]any{
			"active":     true,
			"username":   a.user,
			"sub":        a.user,
			"scope":      a.scope,
			"client_id":  p.set.clientID,
			"token_type": "Bearer",
			"exp":        a.expires.Unix(),
		}
	} else {
		answer = map[string]any{"active": false}
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
}

func userCode() string {
	s := rand.Text()[:8] // base32: A-Z and 2-7
	return s[:4] + "-" + s[4:]
}

func writeToken(w http.ResponseWriter, t *issued) {
	body := map[string]any{
		"access_token": t.access,
		"token_type":   "Bearer",
		"expires_in":   t.expiresIn(),
	}
	if t.refresh != "" {
		body["refresh_token"] = t.refresh
	}
	if t.scope != "" {
		body["scope"] = t.scope
	}
	writeJSON(w, http.StatusOK, body)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	body := map[string]any{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
