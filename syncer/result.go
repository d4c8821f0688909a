package syncer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Result counts what a run did.
type Result struct {
	Folders      int      `json:"folders"`
	Unchanged    int      `json:"unchanged"`
	Fetched      int      `json:"fetched"`
	Appended     int      `json:"appended"`
	FlagsServer  int      `json:"flags_to_server"`
	FlagsLocal   int      `json:"flags_to_local"`
	DeletedLocal int      `json:"deleted_local"`
	Expunged     int      `json:"expunged"`
	Moved        int      `json:"moved"`
	MovedLocally int      `json:"moved_locally"`
	Linked       int      `json:"linked"`
	Created      int      `json:"folders_created"`
	Notes        []Note   `json:"notes,omitempty"`
	Errors       []string `json:"errors,omitempty"`

	// PairsLoaded counts the pairs read from the state: a run where only
	// the server changed reads just those of the changed messages.
	PairsLoaded int `json:"-"`
	// Pipelined counts the folders whose server side was gathered in a
	// pipeline (gatherAhead).
	Pipelined int `json:"-"`
	// Prefetched counts the new messages delivered from bodies read in
	// that pipeline (a rename each, no fetch of their own).
	Prefetched int `json:"-"`

	// Arrived lists the messages downloaded, in the order they landed.
	Arrived []Arrival `json:"-"`

	Plans     []FolderPlan `json:"-"` // filled by a dry run
	FolderOps []Action     `json:"-"`
	mu        sync.Mutex
	bytes     int64     // bytes copied, for progress
	progress  *Progress // nil: none
}

func (r *Result) add(f func(r *Result)) {
	r.mu.Lock()
	before, bytes := r.Fetched+r.Appended, r.bytes
	f(r)
	if r.progress != nil {
		r.progress.Done.Add(int64(r.Fetched + r.Appended - before))
		r.progress.Bytes.Add(r.bytes - bytes)
	}
	r.mu.Unlock()
}

// Note is something a run says besides its counts.
type Note struct {
	Text string
	// Notice: worth saying without -v (something the user may not expect:
	// a folder deleted, downloaded again or renamed, messages re-matched,
	// an earlier run's work finished).
	Notice bool
}

func (n Note) String() string { return n.Text }

// MarshalJSON writes a note as its text.
func (n Note) MarshalJSON() ([]byte, error) { return json.Marshal(n.Text) }

// note adds a detail, said with -v.
func (r *Result) note(format string, args ...any) {
	r.add(func(r *Result) { r.Notes = append(r.Notes, Note{Text: fmt.Sprintf(format, args...)}) })
}

// notice adds a note said without -v.
func (r *Result) notice(format string, args ...any) {
	r.add(func(r *Result) { r.Notes = append(r.Notes, Note{Text: fmt.Sprintf(format, args...), Notice: true}) })
}

// ErrFolders is returned (wrapped) when some folders failed and others ran.
var ErrFolders = errors.New("some folders failed")

// ErrBlocked marks a folder held back by the mass-deletion guard.
var ErrBlocked = errors.New("mass-deletion guard")

func summarize(res *Result) error {
	if len(res.Errors) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrFolders, strings.Join(res.Errors, "; "))
}
