package mailnet

import "fmt"

// TLSMode is how a connection is secured. The zero value is TLSImplicit:
// an Endpoint or Options left unset never goes out in clear text.
type TLSMode int

const (
	TLSImplicit TLSMode = iota // TLS from the first byte (ports 993, 995)
	TLSStartTLS                // plain greeting, then STARTTLS / STLS
	TLSNone                    // no TLS at all: see PlaintextAllowed
)

// String is the mode as the config spells it (tls = "...").
func (m TLSMode) String() string {
	switch m {
	case TLSStartTLS:
		return "starttls"
	case TLSNone:
		return "none"
	case TLSImplicit:
		return "implicit"
	}
	return fmt.Sprintf("TLSMode(%d)", int(m))
}

// ParseTLSMode reads the config's spelling of a mode; "" is the default,
// implicit TLS.
func ParseTLSMode(s string) (TLSMode, error) {
	switch s {
	case "", "implicit":
		return TLSImplicit, nil
	case "starttls":
		return TLSStartTLS, nil
	case "none":
		return TLSNone, nil
	}
	return 0, fmt.Errorf("tls must be implicit, starttls or none; not %q", s)
}
