package state

import (
	"context"
	"fmt"
	"time"
)

// Target is the outcome of the last run of a channel or POP account.
type Target struct {
	Name, Kind  string
	LastStart   time.Time
	LastEnd     time.Time
	OK          bool
	Error       string
	Counts      string // JSON object
	LastSuccess time.Time
}

// RecordTarget stores the outcome of a run of one target.
func (d *DB) RecordTarget(ctx context.Context, t Target) error {
	var succ int64
	if t.OK {
		succ = t.LastEnd.Unix()
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	_, err := d.w.ExecContext(ctx, `INSERT INTO target(name, kind, last_start, last_end, last_ok, last_error, last_counts, last_success) VALUES(?,?,?,?,?,?,?,?)
		ON CONFLICT(kind, name) DO UPDATE SET last_start=excluded.last_start, last_end=excluded.last_end, last_ok=excluded.last_ok,
		last_error=excluded.last_error, last_counts=excluded.last_counts,
		last_success=CASE WHEN excluded.last_ok THEN excluded.last_success ELSE target.last_success END`,
		t.Name, t.Kind, t.LastStart.Unix(), t.LastEnd.Unix(), t.OK, t.Error, t.Counts, succ)
	if err != nil {
		return fmt.Errorf("record run of %s: %w", t.Name, err)
	}
	return nil
}

// Targets returns every recorded target, by kind then name.
func (d *DB) Targets(ctx context.Context) ([]Target, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, kind, last_start, last_end, last_ok, last_error, last_counts, last_success FROM target ORDER BY kind, name`)
	if err != nil {
		return nil, fmt.Errorf("read status: %w", err)
	}
	defer rows.Close()
	var out []Target
	for rows.Next() {
		var t Target
		var s, e, succ int64
		if err := rows.Scan(&t.Name, &t.Kind, &s, &e, &t.OK, &t.Error, &t.Counts, &succ); err != nil {
			return nil, fmt.Errorf("read status: %w", err)
		}
		t.LastStart, t.LastEnd = time.Unix(s, 0), time.Unix(e, 0)
		if succ > 0 {
			t.LastSuccess = time.Unix(succ, 0)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
