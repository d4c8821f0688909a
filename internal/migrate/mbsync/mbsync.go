// Package mbsync reads an mbsync (isync 1.4 or 1.5) setup — its mbsyncrc,
// its sync state and the Maildir trees it keeps — and turns it into an
// mdsync configuration, the sync state to adopt, and notes about what could
// not be carried over. It only reads; nothing is written or changed.
//
// The rule behind every decision here: a message mbsync knew is adopted as
// a pair only when mdsync will find exactly that file, under exactly that
// server UID, in exactly the directory mdsync will look in. Anything less
// certain is left out with a note, and mdsync then treats the message as
// new on that side, where its first run matches it by content (Message-ID
// and size) instead of copying it: a wrong pair could delete mail, a
// missing one costs at most a download.
package mbsync

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mdsync/mdsync/internal/migrate"
)

// Options are the environment of the import.
type Options struct {
	// Home expands "~" (default: os.UserHomeDir).
	Home string
	// StateHome is $XDG_STATE_HOME (default: that variable, or
	// Home/.local/state), where mbsync 1.5 keeps its state.
	StateHome string
	// Version is the mbsync release that wrote the files, "1.4" or "1.5"
	// (a longer "1.4.4" is fine). Empty: detected (see detectVersion).
	Version string
	// Probe returns the installed mbsync's version string; nil runs
	// "mbsync --version" when mbsync is on PATH. It is asked only when the
	// files do not tell the version.
	Probe func(context.Context) string
}

// DefaultConfigPath is the mbsyncrc mbsync would read without -c:
// $XDG_CONFIG_HOME/isyncrc (XDG_CONFIG_HOME defaulting to ~/.config) if it
// exists (mbsync 1.5), else ~/.mbsyncrc.
func DefaultConfigPath() string {
	home, _ := os.UserHomeDir()
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" {
		cfg = filepath.Join(home, ".config")
	}
	if p := filepath.Join(cfg, "isyncrc"); fileExists(p) {
		return p
	}
	return filepath.Join(home, ".mbsyncrc")
}

// Read reads the mbsyncrc at path and everything it points to. A file
// mbsync itself would refuse is a *migrate.Error with the file and line.
// Anything valid that mdsync cannot carry over is a note; so is every
// folder or message whose state is not adopted, with the reason and what
// it means for the first mdsync run.
func Read(ctx context.Context, path string, opt Options) (*migrate.Result, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &reader{ctx: ctx, path: path, opt: opt, home: opt.Home, stateHome: opt.StateHome}
	if r.home == "" {
		if r.home, err = os.UserHomeDir(); err != nil {
			return nil, err
		}
	}
	if r.stateHome == "" {
		r.stateHome = os.Getenv("XDG_STATE_HOME")
	}
	if r.stateHome == "" {
		r.stateHome = filepath.Join(r.home, ".local", "state")
	}
	rc, lerr := parseRC(string(text))
	if lerr != nil {
		return nil, &migrate.Error{File: path, Line: lerr.Line, Msg: lerr.Msg}
	}
	var why string
	r.version, why = r.detectVersion(rc)
	// 1.5 takes relative paths relative to the config file; 1.4 relative
	// to the directory it was started in, which is unknown here: the
	// config's directory is the best guess (noted where it matters).
	r.base = filepath.Dir(path)
	if abs, err := filepath.Abs(r.base); err == nil {
		r.base = abs
	}
	r.model, lerr = buildModel(rc, r.expand)
	if lerr != nil {
		return nil, &migrate.Error{File: path, Line: lerr.Line, Msg: lerr.Msg}
	}
	r.versionWhy = why
	r.translate()
	if err := r.adopt(); err != nil {
		return nil, err
	}
	return &r.res, nil
}

// reader holds one import.
type reader struct {
	ctx        context.Context
	path       string
	opt        Options
	home       string
	stateHome  string
	base       string // relative paths are relative to this
	version    version
	versionWhy string
	model      *model
	res        migrate.Result

	// what translate decided, for adopt
	channels     []*chanPlan
	imaps        map[*account]*migrate.IMAP
	imapOrder    []*migrate.IMAP
	maildirs     map[*maildirStore]*migrate.Maildir
	maildirOrder []*migrate.Maildir
	imapStoreOK  map[*imapStore]bool
	names        map[string]bool   // "kind.name" of the mdsync sections made
	chanNames    map[string]string // mbsync channel name -> mdsync name
}

// chanPlan is a channel that was carried over, with its mdsync sections.
type chanPlan struct {
	ch      *channel
	out     *migrate.Channel
	maildir *migrate.Maildir
}

func (r *reader) expand(p string) string { return expandPath(p, r.home, r.base) }

// note adds a note about line (0: about the file as a whole) of the
// mbsyncrc. A global option that several channels inherit is noted once.
func (r *reader) note(line int, format string, args ...any) {
	r.addNote(migrate.Note{File: r.path, Line: line, Text: fmt.Sprintf(format, args...)})
}

// noteFile adds a note about another file (a state file, a folder).
func (r *reader) noteFile(file string, format string, args ...any) {
	r.addNote(migrate.Note{File: file, Text: fmt.Sprintf(format, args...)})
}

func (r *reader) addNote(n migrate.Note) {
	for _, o := range r.res.Notes {
		if o == n {
			return
		}
	}
	r.res.Notes = append(r.res.Notes, n)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
