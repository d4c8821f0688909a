package mbsync

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// mbsync's sync state (sync.c in 1.4, sync_state.c in 1.5: load_state and
// save_state). One file per pair of boxes:
//
//	FarUidValidity 1700000000      (MasterUidValidity before 1.4)
//	NearUidValidity 1700000001     (SlaveUidValidity before 1.4)
//	MaxPulledUid 4711
//	MaxPushedUid 812
//	MaxExpiredFarUid 3000          (optional; MaxExpiredMasterUid, MaxExpiredSlaveUid, 1.5 MaxExpiredNearUid)
//
//	4700 800 FS                    farUID nearUID [<|>][^|~|X]FLAGS
//
// A UID of 0 means the message is not (yet, or no longer) on that side. '<'
// and '>' mark a placeholder ("dummy", MaxSize) on the far resp. near side,
// '~' (before 1.3: 'X') a message expired by MaxMessages, '^' one skipped
// (before 1.4; before 1.3 a UID of -1). FLAGS are the letters DFPRST, in
// that order, as both sides last agreed.
//
// Before 1.1 the header was one line, "farUV:maxFarUID nearUV:maxExpiredNearUID:maxNearUID",
// with no blank line after it.
type state struct {
	FarUV, NearUV uint32
	Lines         []stateLine
}

type stateLine struct {
	Num     int
	Far     uint32
	Near    uint32
	Dummy   byte // '<' (far side placeholder), '>' (near side) or 0
	Expired bool // '~' or 'X'
	Skipped bool // '^' or a UID of -1
	Flags   string
}

// msgFlags are the flag letters in the order mbsync writes them.
const msgFlags = "DFPRST"

// parseState reads a state file the way load_state does, and refuses what
// it refuses.
func parseState(text string) (*state, error) {
	st := &state{}
	lines := strings.Split(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		return nil, fmt.Errorf("line %d: incomplete (no newline)", len(lines))
	}
	i := 0
	for ; ; i++ {
		if i == len(lines) {
			return nil, fmt.Errorf("unterminated header")
		}
		l := lines[i]
		if l == "" {
			i++
			break
		}
		if i == 0 && l[0] >= '0' && l[0] <= '9' { // before 1.1
			var far, near [3]uint64
			f := strings.Fields(l)
			if len(f) != 2 || scanColon(f[0], far[:2]) < 2 || scanColon(f[1], near[:]) < 3 {
				return nil, fmt.Errorf("invalid header %q", l)
			}
			st.FarUV, st.NearUV = uint32(far[0]), uint32(near[0])
			i++
			break
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: malformed header entry %q", i+1, l)
		}
		n, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: malformed header entry %q", i+1, l)
		}
		switch f[0] {
		case "FarUidValidity", "MasterUidValidity":
			st.FarUV = uint32(n)
		case "NearUidValidity", "SlaveUidValidity":
			st.NearUV = uint32(n)
		case "MaxPulledUid", "MaxPushedUid", "MaxExpiredFarUid", "MaxExpiredNearUid",
			"MaxExpiredMasterUid", "MaxExpiredSlaveUid":
		default:
			return nil, fmt.Errorf("line %d: unrecognized header entry %q", i+1, f[0])
		}
	}
	for ; i < len(lines); i++ {
		sl, err := parseStateLine(lines[i])
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", i+1, err)
		}
		sl.Num = i + 1
		st.Lines = append(st.Lines, sl)
	}
	return st, nil
}

// scanColon parses "a:b:c" into out and returns how many numbers it read.
func scanColon(s string, out []uint64) int {
	parts := strings.Split(s, ":")
	n := 0
	for i := 0; i < len(out) && i < len(parts); i++ {
		v, err := strconv.ParseUint(parts[i], 10, 32)
		if err != nil {
			break
		}
		out[i] = v
		n++
	}
	return n
}

func parseStateLine(l string) (stateLine, error) {
	var sl stateLine
	f := strings.Fields(l)
	if len(f) < 2 {
		return sl, fmt.Errorf("invalid entry %q", l)
	}
	far, err1 := parseStateUID(f[0])
	near, err2 := parseStateUID(f[1])
	if err1 != nil || err2 != nil {
		return sl, fmt.Errorf("invalid entry %q", l)
	}
	s := ""
	if len(f) > 2 {
		s = f[2]
	}
	if s != "" && (s[0] == '<' || s[0] == '>') {
		sl.Dummy = s[0]
		s = s[1:]
	}
	switch {
	case s != "" && s[0] == '^':
		sl.Skipped = true
		s = s[1:]
	case s != "" && (s[0] == '~' || s[0] == 'X'):
		sl.Expired = true
		s = s[1:]
	case far == math.MaxUint32:
		far, sl.Skipped = 0, true
	case near == math.MaxUint32:
		near, sl.Skipped = 0, true
	}
	sl.Far, sl.Near = uint32(far), uint32(near)
	// parse_flags: the letters are taken in DFPRST order; anything else
	// ends them.
	var b strings.Builder
	d := 0
	for i := 0; i < len(msgFlags); i++ {
		if d < len(s) && s[d] == msgFlags[i] {
			b.WriteByte(msgFlags[i])
			d++
		}
	}
	sl.Flags = b.String()
	return sl, nil
}

// parseStateUID reads a UID like sscanf's %u: "-1" (before 1.3) wraps
// around to the largest value.
func parseStateUID(s string) (uint64, error) {
	if s == "-1" {
		return math.MaxUint32, nil
	}
	return strconv.ParseUint(s, 10, 32)
}
