package watch

// Failures is the number of Next calls since the last Reset.
func (b *Backoff) Failures() int { return b.n }

// Watched is the number of directories watched.
func (w *LocalWatcher) Watched() int { return len(w.dirs) + len(w.roots) }
