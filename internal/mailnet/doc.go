// Package mailnet owns what IMAP and POP3 connections share on the network:
// the kinds of failure (temporary, login refused, TLS) and the hints that
// name the setting to change, the verified TLS set-up and the probe that
// tells a TLS port from a plain one, the rule for clear-text connections,
// a connection whose every wait is bounded, and protocol traces that are
// tagged per connection and never show a secret.
//
// It knows no protocol: IMAP and POP3 describe themselves with a Protocol
// (name, ports, how their servers' refusals read).
package mailnet
