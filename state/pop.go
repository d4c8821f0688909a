package state

import (
	"context"
	"fmt"
	"time"
)

// POPStatus is what the state records of a POP message fetched. It is
// stored as text: the values are part of the file format.
type POPStatus string

// The statuses of a fetched POP message.
const (
	POPDelivered POPStatus = "delivered" // in the Maildir, still on the server
	POPDeleted   POPStatus = "deleted"   // in the Maildir and deleted from the server
)

// UIDL is what the state holds about one POP message.
type UIDL struct {
	UIDL         string
	FirstSeen    time.Time
	DeliveredKey string
	Status       POPStatus
}

// POPSeen returns the UIDLs recorded for a POP account.
func (d *DB) POPSeen(ctx context.Context, account string) (map[string]UIDL, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT uidl, first_seen, delivered_key, status FROM pop_uidl WHERE account = ?`, account)
	if err != nil {
		return nil, fmt.Errorf("load uidls of %s: %w", account, err)
	}
	defer rows.Close()
	out := map[string]UIDL{}
	for rows.Next() {
		var u UIDL
		var ts int64
		if err := rows.Scan(&u.UIDL, &ts, &u.DeliveredKey, &u.Status); err != nil {
			return nil, fmt.Errorf("load uidls of %s: %w", account, err)
		}
		u.FirstSeen = time.Unix(ts, 0)
		out[u.UIDL] = u
	}
	return out, rows.Err()
}

// POPRecord records a delivered POP message.
func (t *Tx) POPRecord(account string, u UIDL) error {
	if u.Status == "" {
		u.Status = POPDelivered
	}
	_, err := t.exec(`INSERT INTO pop_uidl(account, uidl, first_seen, delivered_key, status) VALUES(?,?,?,?,?)
		ON CONFLICT(account, uidl) DO UPDATE SET delivered_key=excluded.delivered_key, status=excluded.status`,
		account, u.UIDL, u.FirstSeen.Unix(), u.DeliveredKey, u.Status)
	if err != nil {
		return fmt.Errorf("record uidl %s: %w", u.UIDL, err)
	}
	return nil
}

// POPForget removes a UIDL (it vanished from the server).
func (t *Tx) POPForget(account, uidl string) error {
	if _, err := t.exec(`DELETE FROM pop_uidl WHERE account = ? AND uidl = ?`, account, uidl); err != nil {
		return fmt.Errorf("forget uidl %s: %w", uidl, err)
	}
	return nil
}

// POPCount returns how many UIDLs an account has recorded.
func (d *DB) POPCount(ctx context.Context, account string) (n int, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT count(*) FROM pop_uidl WHERE account = ?`, account).Scan(&n)
	return
}
