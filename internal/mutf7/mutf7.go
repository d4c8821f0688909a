// Package mutf7 is IMAP's modified UTF-7 (RFC 3501 section 5.1.3): how IMAP
// spells non-ASCII folder names, and how mbsync 1.4 and OfflineIMAP name the
// directories of such folders ("Entwürfe" is "Entw&APw-rfe"). Decoding is
// strict, so that Encode and Decode are exact inverses: a name has one
// spelling, and a directory one name.
package mutf7

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

var enc = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// Encode encodes a UTF-8 string. Invalid UTF-8 is refused: the name
// could not be spelled back.
func Encode(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		raw := make([]byte, 2*len(u))
		for i, c := range u {
			raw[2*i], raw[2*i+1] = byte(c>>8), byte(c)
		}
		b.WriteByte('&')
		b.WriteString(enc.EncodeToString(raw))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		run = append(run, r)
	}
	flush()
	return b.String(), nil
}

// Decode is the exact inverse of Encode: input that Encode would not
// have produced (bare non-ASCII, an unterminated or empty shift, a shift
// holding only printable ASCII, bad padding) is refused, so that the mapping
// stays a bijection.
func Decode(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", errors.New("not modified UTF-7")
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", errors.New("unterminated modified UTF-7 shift")
		}
		shift := s[i+1 : i+1+j]
		i += j + 1
		if shift == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := enc.DecodeString(shift)
		if err != nil || len(raw)%2 != 0 {
			return "", errors.New("bad modified UTF-7 shift")
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		for k := 0; k < len(u); k++ {
			r := rune(u[k])
			if utf16.IsSurrogate(r) {
				if k+1 == len(u) {
					return "", errors.New("unpaired surrogate in modified UTF-7")
				}
				if r = utf16.DecodeRune(r, rune(u[k+1])); r == utf8.RuneError {
					return "", errors.New("unpaired surrogate in modified UTF-7")
				}
				k++
			}
			if r >= 0x20 && r <= 0x7e {
				return "", errors.New("non-canonical modified UTF-7")
			}
			b.WriteRune(r)
		}
	}
	out := b.String()
	if again, err := Encode(out); err != nil || again != s {
		return "", errors.New("non-canonical modified UTF-7")
	}
	return out, nil
}
