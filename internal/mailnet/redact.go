package mailnet

import (
	"bytes"
	"io"
	"slices"
	"sync"
)

// Mask is what a secret is replaced with in a trace.
const Mask = "***"

// Redactor is a trace writer that never shows a secret: each registered
// secret, wherever it occurs in a line, becomes Mask, and then the
// protocol's rule, if any, rewrites the line further (IMAP: the arguments
// of LOGIN, which the server may echo in a different quoting). Lines are
// written whole, so a secret split across two writes is still found.
type Redactor struct {
	lw      lineWriter
	rule    func(line []byte) []byte
	mu      sync.Mutex
	secrets [][]byte // longest first
}

// NewRedactor writes to w what is written to it, redacted. rule may be nil.
func NewRedactor(w io.Writer, rule func(line []byte) []byte, secrets ...string) *Redactor {
	r := &Redactor{rule: rule}
	r.lw = lineWriter{w: w, edit: r.redact}
	r.Add(secrets...)
	return r
}

// Add registers more secrets (an access token once it is known, a SASL
// initial response). Empty strings are ignored.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, []byte(s))
		}
	}
	// The longest first: a password inside a token must not be masked
	// first and leave the rest of the token to be read around the mask.
	slices.SortStableFunc(r.secrets, func(a, b []byte) int { return len(b) - len(a) })
}

func (r *Redactor) Write(p []byte) (int, error) { return r.lw.Write(p) }

func (r *Redactor) redact(line []byte) []byte {
	r.mu.Lock()
	out := maskAll(line, r.secrets)
	r.mu.Unlock()
	if r.rule != nil {
		out = r.rule(out)
	}
	return out
}

// maskAll returns line with every occurrence of the secrets replaced by
// Mask, in the order given (put the longest first).
func maskAll(line []byte, secrets [][]byte) []byte {
	out := line
	for _, s := range secrets {
		if len(s) > 0 && bytes.Contains(out, s) {
			out = bytes.ReplaceAll(out, s, []byte(Mask))
		}
	}
	return out
}
