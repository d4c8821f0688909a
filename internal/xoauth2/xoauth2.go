// Package xoauth2 is the XOAUTH2 SASL mechanism of Google and Microsoft
// (go-sasl dropped it; OAUTHBEARER, RFC 7628, is in go-sasl).
package xoauth2

import "github.com/emersion/go-sasl"

// Mechanism is the SASL name.
const Mechanism = "XOAUTH2"

type client struct{ user, token string }

// NewClient returns a sasl.Client for XOAUTH2. On failure the server sends
// a base64 JSON error as a challenge; the client answers with an empty
// response and the server then refuses the login.
func NewClient(user, token string) sasl.Client { return &client{user, token} }

// InitialResponse is what the client sends first (for redaction).
func InitialResponse(user, token string) []byte {
	return []byte("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")
}

func (a *client) Start() (string, []byte, error) {
	return Mechanism, InitialResponse(a.user, a.token), nil
}

func (a *client) Next(challenge []byte) ([]byte, error) { return []byte{}, nil }
