package mailnet

import (
	"io"
	"strconv"
	"sync/atomic"
)

// connSeq numbers the IMAP connections of a process for trace tags.
var connSeq atomic.Int64

// NextConnTag returns the trace tag of a new IMAP connection: "[c1] ",
// "[c2] "...
func NextConnTag() string {
	return "[c" + strconv.FormatInt(connSeq.Add(1), 10) + "] "
}

// AccountTag returns the trace tag of an account's connection, such as
// "[pop isp] " for the account [pop.isp].
func AccountTag(kind, name string) string {
	return "[" + kind + " " + name + "] "
}

// Tagged writes every line of a protocol trace with tag in front, so that
// the lines of several connections on one stderr can be told apart. Lines
// are written whole (buffered up to their end). A nil w gives nil: no
// trace.
func Tagged(w io.Writer, tag string) io.Writer {
	if w == nil {
		return nil
	}
	t := []byte(tag)
	return &lineWriter{w: w, edit: func(line []byte) []byte {
		return append(append(make([]byte, 0, len(t)+len(line)), t...), line...)
	}}
}
