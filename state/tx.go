package state

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Tx is a write transaction. Statements are prepared lazily and reused.
type Tx struct {
	tx     *sql.Tx
	ctx    context.Context
	stmts  map[string]*sql.Stmt
	unlock func()
}

// Begin starts a write transaction (BEGIN IMMEDIATE) whose commit survives
// a crash of the process, and a power loss unless it is among the last
// commits before it (synchronous=NORMAL in WAL mode: no fsync per commit).
// That suffices where the next run recognises what a lost commit had
// recorded — the IMAP sync, whose content matching relinks both sides. Keep
// it short: other writers of this process wait for it.
func (d *DB) Begin(ctx context.Context) (*Tx, error) { return d.begin(ctx, "NORMAL") }

// BeginDurable is Begin for a commit that must survive power loss
// (synchronous=FULL: the WAL is fsynced), e.g. a POP UIDL before its DELE.
func (d *DB) BeginDurable(ctx context.Context) (*Tx, error) { return d.begin(ctx, "FULL") }

func (d *DB) begin(ctx context.Context, mode string) (*Tx, error) {
	d.wmu.Lock()
	if _, err := d.w.ExecContext(ctx, "PRAGMA synchronous = "+mode); err != nil {
		d.wmu.Unlock()
		return nil, fmt.Errorf("begin state transaction: %w", err)
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		d.wmu.Unlock()
		return nil, fmt.Errorf("begin state transaction: %w", err)
	}
	return &Tx{tx: tx, ctx: ctx, stmts: map[string]*sql.Stmt{}, unlock: sync.OnceFunc(d.wmu.Unlock)}, nil
}

// Commit commits; the transaction is durable when it returns nil.
func (t *Tx) Commit() error {
	defer t.unlock()
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("commit state: %w", err)
	}
	return nil
}

// Rollback abandons the transaction (a no-op after Commit).
func (t *Tx) Rollback() {
	_ = t.tx.Rollback()
	t.unlock()
}

func (t *Tx) exec(query string, args ...interface{}) (sql.Result, error) {
	st, ok := t.stmts[query]
	if !ok {
		var err error
		st, err = t.tx.PrepareContext(t.ctx, query)
		if err != nil {
			return nil, err
		}
		t.stmts[query] = st
	}
	return st.ExecContext(t.ctx, args...)
}
