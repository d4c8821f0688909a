package syncer

import "sync/atomic"

// Progress counts a run's work as it goes, for a progress display; the
// counters are read while the run updates them.
type Progress struct {
	Planned atomic.Int64 // messages the plans copy, either way
	Done    atomic.Int64 // messages copied so far
	Bytes   atomic.Int64 // bytes of the messages copied so far
	folder  atomic.Pointer[string]
}

// Folder is the folder being applied last.
func (p *Progress) Folder() string {
	if f := p.folder.Load(); f != nil {
		return *f
	}
	return ""
}

func (p *Progress) setFolder(name string) {
	if p != nil {
		p.folder.Store(&name)
	}
}

// planned counts what a plan copies.
func (p *Progress) planned(fp FolderPlan) {
	if p == nil || fp.Blocked != "" {
		return
	}
	n := 0
	for _, a := range fp.Actions {
		if a.Op == OpFetch || a.Op == OpAppend {
			n++
		}
	}
	p.Planned.Add(int64(n))
}

// sizes sums the sizes of fetched messages.
func sizes(fs []fetched) int64 {
	var n int64
	for _, f := range fs {
		n += f.size
	}
	return n
}

// Arrival is a message this run downloaded: the folder and the file, for
// hooks and --json (which read what they need of its header).
type Arrival struct {
	Folder string `json:"folder"`
	Path   string `json:"path"`
}

// arrived records downloaded messages (under r.mu).
func (r *Result) arrived(folder string, fs []fetched) {
	for _, f := range fs {
		if f.path != "" {
			r.Arrived = append(r.Arrived, Arrival{Folder: folder, Path: f.path})
		}
	}
}
