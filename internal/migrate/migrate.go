// Package migrate holds what an import from another sync tool (mbsync,
// OfflineIMAP) produces: the mdsync configuration to write, one note per
// setting that could not be carried over, and the sync state to adopt so
// that the first mdsync run changes nothing on either side.
//
// The readers of each tool's files live in the sub-packages (mbsync,
// offlineimap); they fill these types and never write anything. Writing the
// config and the state is internal/app's job.
package migrate

import "fmt"

// Note is one thing the user must know about the import, at the line of the
// other tool's config that it comes from.
type Note struct {
	File string
	Line int // 0 when the note is not about one line
	Text string
}

func (n Note) String() string {
	if n.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", n.File, n.Line, n.Text)
	}
	return fmt.Sprintf("%s: %s", n.File, n.Text)
}

// Error is a config the reader cannot use at all (exit 2 in the CLI).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Config is the mdsync configuration an import produces; Render writes it as
// TOML. Names are mdsync section names ([imap.NAME], ...).
type Config struct {
	IMAP    []IMAP
	Maildir []Maildir
	Channel []Channel
}

// IMAP is an [imap.NAME] section.
type IMAP struct {
	Name            string
	Host            string
	Port            int    // 0: mdsync's default for TLS
	TLS             string // implicit | starttls | none
	User            string
	UserCommand     string // not in mdsync's config yet: reported as a note
	Password        string
	PasswordCommand string
	PasswordEnv     string // set by the caller when the other tool prompts
	CAFile          string
	AllowPlaintext  bool
}

// Maildir is a [maildir.NAME] section.
type Maildir struct {
	Name   string
	Path   string // absolute
	Layout string // verbatim | maildir++ | flat
	// Separator joins the levels of a folder name in one directory name
	// with Layout "flat" (OfflineIMAP's sep = "."); empty otherwise.
	Separator string
	// Names is how folder names are spelled on disk: utf8 (mdsync's
	// default) or mutf7 (IMAP modified UTF-7, as mbsync 1.4 and
	// OfflineIMAP write them).
	Names string
}

// Channel is a [channel.NAME] section.
type Channel struct {
	Name    string
	IMAP    string
	Maildir string
	Folders []string // mbsync-style patterns
	Create  string   // both | imap | maildir | none
	Remove  string   // none | imap | maildir | both
	Expunge string   // both | imap | maildir | none
}

// Folder is the adopted state of one synced folder of a channel: the
// server's UIDVALIDITY the other tool last saw and the messages it knew on
// both sides.
type Folder struct {
	Channel string
	// Name is the IMAP folder name, UTF-8 (modified UTF-7 decoded), its
	// levels joined by '/'. Any other server delimiter is applied by the
	// caller, who knows the server's.
	Name        string
	UIDValidity uint32
	Pairs       []Pair
}

// Pair is one message known on both sides.
type Pair struct {
	UID   uint32 // on the server
	Key   string // the local file's Maildir key: its name up to ":2," ("!2,")
	Flags string // Maildir letters both sides agreed on (sorted, from DFPRST)
}

// Result is everything one import found.
type Result struct {
	Config  Config
	Folders []Folder
	Notes   []Note
}
