package mbsync

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseState(t *testing.T) {
	for _, tc := range []struct {
		name, text     string
		farUV, nearUV  uint32
		lines          []stateLine
		wantErrContain string
	}{
		{
			name: "1.4",
			text: "FarUidValidity 1700000000\nNearUidValidity 1700000001\nMaxPulledUid 3\nMaxPushedUid 3\n\n" +
				"1 1 S\n2 2 F\n3 3 \n4 0 ~S\n0 5 >\n6 7 <FS\n8 9 DFPRST\n",
			farUV: 1700000000, nearUV: 1700000001,
			lines: []stateLine{
				{Num: 6, Far: 1, Near: 1, Flags: "S"},
				{Num: 7, Far: 2, Near: 2, Flags: "F"},
				{Num: 8, Far: 3, Near: 3},
				{Num: 9, Far: 4, Expired: true, Flags: "S"},
				{Num: 10, Near: 5, Dummy: '>'},
				{Num: 11, Far: 6, Near: 7, Dummy: '<', Flags: "FS"},
				{Num: 12, Far: 8, Near: 9, Flags: "DFPRST"},
			},
		},
		{
			name:  "Master/Slave (before 1.4)",
			text:  "MasterUidValidity 10\nSlaveUidValidity 20\nMaxPulledUid 1\nMaxPushedUid 1\nMaxExpiredMasterUid 0\n\n1 1 ^S\n",
			farUV: 10, nearUV: 20,
			lines: []stateLine{{Num: 7, Far: 1, Near: 1, Skipped: true, Flags: "S"}},
		},
		{
			name:  "before 1.1",
			text:  "10:5 20:0:7\n5 7 RS\n-1 8 \n",
			farUV: 10, nearUV: 20,
			lines: []stateLine{{Num: 2, Far: 5, Near: 7, Flags: "RS"}, {Num: 3, Near: 8, Skipped: true}},
		},
		{
			name:  "1.5 with MaxExpiredNearUid and flags out of order",
			text:  "FarUidValidity 1\nNearUidValidity 2\nMaxPulledUid 0\nMaxPushedUid 0\nMaxExpiredNearUid 4\n\n1 2 SF\n",
			farUV: 1, nearUV: 2,
			lines: []stateLine{{Num: 7, Far: 1, Near: 2, Flags: "S"}}, // parse_flags walks DFPRST once: the F after S is lost
		},
		{name: "unknown header", text: "FarUidValidity 1\nBogus 2\n\n", wantErrContain: "unrecognized header"},
		{name: "no blank line", text: "FarUidValidity 1\nNearUidValidity 2\n", wantErrContain: "unterminated header"},
		{name: "no final newline", text: "FarUidValidity 1\n\n1 1 S", wantErrContain: "incomplete"},
		{name: "bad entry", text: "FarUidValidity 1\n\nx 1 S\n", wantErrContain: "invalid entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := parseState(tc.text)
			if tc.wantErrContain != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrContain) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErrContain)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.FarUV != tc.farUV || st.NearUV != tc.nearUV {
				t.Errorf("uidvalidity %d/%d, want %d/%d", st.FarUV, st.NearUV, tc.farUV, tc.nearUV)
			}
			if !reflect.DeepEqual(st.Lines, tc.lines) {
				t.Errorf("lines\n got %+v\nwant %+v", st.Lines, tc.lines)
			}
		})
	}
}

func TestNameUIDAndKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		uid  uint32
		key  string
		ok   bool
	}{
		{"1700000000.123_4.host,U=17:2,FS", 17, "1700000000.123_4.host,U=17", true},
		{"1700000000.123_4.host,U=17:2,", 17, "1700000000.123_4.host,U=17", true},
		{"1700000000.123_4.host,U=17", 17, "1700000000.123_4.host,U=17", true},
		{"1700000000.1.host,S=100,U=9!2,S", 9, "1700000000.1.host,S=100,U=9", true},
		{"a,U=3:2,:2,RS", 3, "", false}, // mdsync's key would contain ':'
		{"a,U=3:2,S1", 3, "", false},    // flags that are not letters
		{"plain:2,S", 0, "plain", true},
		{"a,U=x:2,S", 0, "a,U=x", true},
	} {
		if got := nameUID(tc.name); got != tc.uid {
			t.Errorf("nameUID(%q) = %d, want %d", tc.name, got, tc.uid)
		}
		key, ok := mdsyncKey(tc.name)
		if key != tc.key || ok != tc.ok {
			t.Errorf("mdsyncKey(%q) = %q %v, want %q %v", tc.name, key, ok, tc.key, tc.ok)
		}
	}
}
