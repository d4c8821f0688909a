// Package oauth signs mdsync accounts in with OAuth2 and hands out the access
// tokens that IMAP and POP send as SASL XOAUTH2/OAUTHBEARER.
//
// The pieces, one per file:
//
//   - provider.go: Provider, the endpoints, client and flow of an account
//     (Google, Microsoft or custom), and its translation to x/oauth2.
//   - store.go: Store, one JSON token file per account under
//     state_dir/oauth, written atomically with mode 0600.
//   - source.go: Source, the access token of one account, refreshed when it
//     has a minute or less left; one refresh at a time per Source.
//   - login.go, loopback.go, device.go: Login, the interactive sign-in by
//     authorization code + PKCE on a 127.0.0.1 redirect, or by device code
//     (RFC 8628).
//   - command.go: CommandSource, tokens printed by an external program
//     (token_command, e.g. oama or pizauth).
//   - errors.go: ErrNeedLogin, ProviderError, Temporary and the redaction
//     every message goes through.
//
// Rules kept throughout, because error messages end up in terminals, logs
// and bug reports:
//
//   - No access token, refresh token, client secret, authorization code or
//     PKCE verifier appears in an error message or in anything written to
//     the user. Provider answers are reduced to their RFC 6749 error code
//     and description, with known secrets cut out; response bodies are
//     never quoted.
//   - Errors say what was being done and for which account ("refresh the
//     access token of work: ...") and wrap their cause with %w, so callers
//     can test errors.Is(err, ErrNeedLogin) (sign in again) and
//     Temporary(err) (network trouble or a provider outage: retry later).
package oauth
