// Package msgio reads and writes messages on their way between the
// server and a Maildir: line endings (CRLF on the wire, LF in files), the
// fingerprint of a stored file, the header fields the sync needs, and a
// message's identity for content matching.
package msgio
