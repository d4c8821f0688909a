package msgio

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
)

// A message's identity for content matching is what other tools leave
// alone: its header fields minus the ones sync and delivery tools add, and
// its body. mbsync writes an X-TUID field into every message it copies,
// OfflineIMAP an X-OfflineIMAP field where the server lacks UIDPLUS, mbox
// code Status/X-Status and X-Keywords/X-UID, and delivery puts Return-Path
// and Delivered-To in front; none of them is part of what the author sent.
// Two files are the same message when everything else is equal byte for byte
// (line endings normalised, field order kept): a different Date, Subject,
// sender or body — what two messages that share a Message-ID differ in —
// keeps them apart.

// addedField reports whether a header field (its lower-cased name) is one
// that sync and delivery tools add or rewrite.
func addedField(name string) bool {
	switch name {
	case "x-tuid", "x-offlineimap", "status", "x-status", "x-keywords", "x-uid",
		"x-imap", "x-imapbase", "return-path", "delivered-to":
		return true
	}
	return strings.HasPrefix(name, "x-offlineimap-")
}

// headKey hashes a header block (LF or CRLF line endings, with or without the
// blank line that ends it) without the fields addedField names. It returns ""
// for a block that is not a complete header (cut short), which matches
// nothing.
func HeadKey(block []byte) string {
	h := sha256.New()
	drop := false
	for len(block) > 0 {
		i := bytes.IndexByte(block, '\n')
		var line []byte
		if i < 0 {
			line, block = block, nil
		} else {
			line, block = block[:i], block[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // the blank line: the header ends here
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !drop {
				h.Write(line)
				h.Write([]byte{'\n'})
			}
			continue
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		drop = ok && addedField(strings.ToLower(string(bytes.TrimSpace(name))))
		if !drop {
			h.Write(line)
			h.Write([]byte{'\n'})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// bodyTee hashes and measures the body of a message streamed through it
// with LF line endings: everything after the first empty line.
type bodyTee struct {
	inBody bool
	lastLF bool // the byte before was '\n' (true at the start: an empty header)
	h      hash.Hash
	n      int64 // body bytes
	lines  int64 // LFs in the body: each is CRLF on the server
}

func newBodyTee() *bodyTee { return &bodyTee{h: sha256.New(), lastLF: true} }

func (b *bodyTee) Write(p []byte) {
	if !b.inBody {
		for i, c := range p {
			if c == '\n' && b.lastLF {
				b.inBody = true
				p = p[i+1:]
				break
			}
			b.lastLF = c == '\n'
		}
		if !b.inBody {
			return
		}
	}
	b.h.Write(p)
	b.n += int64(len(p))
	b.lines += int64(bytes.Count(p, []byte{'\n'}))
}

// Sum returns the body's hash and its size with CRLF line endings.
func (b *bodyTee) Sum() (string, int64) {
	return hex.EncodeToString(b.h.Sum(nil)), b.n + b.lines
}
