package oauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// ErrNeedLogin means the account has no usable refresh token: none is
// stored, the token file is damaged, or the provider refused the refresh
// token (invalid_grant: revoked, expired, password changed). Nothing but an
// interactive sign-in fixes that, so callers should stop retrying and tell
// the user. The errors returned here wrap it in a *NeedLoginError that names
// the account in the command to run.
var ErrNeedLogin = errors.New("OAuth2 sign-in needed: run `mdsync login NAME`")

// NeedLoginError is the ErrNeedLogin of one account: errors.Is(err,
// ErrNeedLogin) holds, and the message names the exact command.
type NeedLoginError struct {
	Account string
	Reason  string // what is wrong, e.g. "no OAuth2 token is stored"
	Err     error  // the cause (a missing file, a *ProviderError), may be nil
}

func (e *NeedLoginError) Error() string {
	return fmt.Sprintf("%s: run `mdsync login %s`", e.Reason, shellQuote(e.Account))
}

// Is makes errors.Is(err, ErrNeedLogin) true.
func (e *NeedLoginError) Is(target error) bool { return target == ErrNeedLogin }

func (e *NeedLoginError) Unwrap() error { return e.Err }

// ProviderError is a refusal by the provider: an RFC 6749 error answer from
// the token or device endpoint, or an error=... redirect to the loopback
// listener. Its message holds the error code and description (with known
// secrets cut out), never the response body, which x/oauth2's RetrieveError
// would print whole.
type ProviderError struct {
	Status      int    // HTTP status of the answer; 0 for a browser redirect
	Code        string // "invalid_grant", "access_denied", ...; empty if the body had none
	Description string // error_description, redacted

	cause error // the *oauth2.RetrieveError, reachable by errors.As, never printed
}

func (e *ProviderError) Error() string {
	var b strings.Builder
	b.WriteString("the provider answered ")
	switch {
	case e.Code != "":
		b.WriteString(e.Code)
		if e.Status != 0 && e.Status != http.StatusBadRequest {
			fmt.Fprintf(&b, " (HTTP %d)", e.Status)
		}
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
	default:
		b.WriteString("with an error")
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	return b.String()
}

func (e *ProviderError) Unwrap() error { return e.cause }

// Temporary reports whether err is worth retrying later without the user:
// network trouble, a timeout, or a provider outage (HTTP 5xx or 429,
// server_error, temporarily_unavailable). It is false for ErrNeedLogin, for
// other refusals and for a cancelled context.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, ErrNeedLogin) || errors.Is(err, context.Canceled) {
		return false
	}
	var pe *ProviderError
	if errors.As(err, &pe) {
		return pe.Status >= 500 || pe.Status == http.StatusTooManyRequests ||
			pe.Code == "server_error" || pe.Code == "temporarily_unavailable"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne)
}

// fromOAuth2 turns an error of x/oauth2 into one fit to print: a
// RetrieveError becomes a *ProviderError (code and description only), and
// every message has the given secrets cut out. Network errors stay in the
// chain (for Temporary and errors.As).
func fromOAuth2(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		pe := &ProviderError{Code: re.ErrorCode, Description: scrub(re.ErrorDescription, secrets), cause: re}
		if re.Response != nil {
			pe.Status = re.Response.StatusCode
		}
		return pe
	}
	return redact(err, secrets...)
}

// redact returns err with the secrets cut out of its message; Unwrap still
// reaches err. Secrets shorter than minSecret are not looked for, so that an
// odd test value of "x" cannot mangle every message.
func redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := scrub(msg, secrets)
	if clean == msg {
		return err
	}
	return &redacted{msg: clean, err: err}
}

const minSecret = 6

func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= minSecret {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// shellQuote quotes s for a shell command line when it needs it.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
