package syncer

import (
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/imapconn"
)

// lane is one worker's connection and what the worker has sent ahead on
// it. A worker serves its folders one after the other; the lane, not the
// folders, carries the handoff between two of them: the next folder's
// SELECT, or its whole gather, sent behind the last command of the one
// before, so that it costs no round trip of its own. A lane belongs to its
// worker's goroutine alone; no other goroutine reads or writes it.
type lane struct {
	c     *imapconn.Conn
	next  *folderSync // the folder the worker serves after the current one
	ahead *sentAhead  // sent for next, not read yet
}

// sentAhead is what one folder sent on its lane for the next one: the
// SELECT to apply its plan under, or (not gathered yet) its gather.
type sentAhead struct {
	w   *folderSync
	sel *imapclient.SelectCommand
	ask *remoteAsk
}

// conn is the lane's connection (nil for work that needs none).
func (l *lane) conn() *imapconn.Conn {
	if l == nil {
		return nil
	}
	return l.c
}

// takeSelect returns the SELECT sent ahead for w, once (nil if none).
func (l *lane) takeSelect(w *folderSync) *imapclient.SelectCommand {
	if l == nil || l.ahead == nil || l.ahead.w != w || l.ahead.sel == nil {
		return nil
	}
	sel := l.ahead.sel
	l.ahead = nil
	return sel
}

// takeAsk returns the gather sent ahead for w, once (nil if none).
func (l *lane) takeAsk(w *folderSync) *remoteAsk {
	if l == nil || l.ahead == nil || l.ahead.w != w || l.ahead.ask == nil {
		return nil
	}
	ask := l.ahead.ask
	l.ahead = nil
	return ask
}

// drain waits for what was sent ahead and forgets it: the connection is
// the current folder's again once the answers are in (the next folder
// selects anew).
func (l *lane) drain() {
	if l == nil || l.ahead == nil {
		return
	}
	if s := l.ahead.sel; s != nil {
		s.Wait()
	}
	if a := l.ahead.ask; a != nil {
		a.sel.Wait()
		if a.ahead != nil {
			a.ahead.Close()
		}
	}
	l.ahead = nil
}
