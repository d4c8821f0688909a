package maildir

import "testing"

func TestParseName(t *testing.T) {
	tests := []struct {
		name, key, flags string
		bad              bool
	}{
		{name: "1700000000.M1P2Q3R0a0b0c0d.host:2,SF", key: "1700000000.M1P2Q3R0a0b0c0d.host", flags: "FS"},
		{name: "123.host!2,S", key: "123.host", flags: "S"},
		{name: "123.host,S=1234,W=1300:2,RS", key: "123.host,S=1234,W=1300", flags: "RS"},
		{name: "123.host,U=42:2,S", key: "123.host,U=42", flags: "S"},
		{name: "k:2,Sba", key: "k", flags: "Sab"},
		{name: "k:2,SSFF", key: "k", flags: "FS"},
		{name: "k:2,SZX", key: "k", flags: "SXZ"},
		{name: "k:2,", key: "k", flags: ""},
		{name: "k", key: "k", flags: ""},
		{name: "k,S=12", key: "k,S=12", flags: ""},
		{name: `1.2.h\072x:2,T`, key: `1.2.h\072x`, flags: "T"},
		{name: ".hidden", bad: true},
		{name: "", bad: true},
		{name: "k:1,xyz", bad: true},
		{name: "k:2,S:extra", bad: true},
		{name: "k:2,S,", bad: true},
		{name: ":2,S", bad: true},
	}
	for _, tc := range tests {
		key, flags, err := parseName(tc.name)
		if tc.bad {
			if err == nil {
				t.Errorf("parseName(%q) = %q, %q; want error", tc.name, key, flags)
			}
			continue
		}
		if err != nil || key != tc.key || flags != tc.flags {
			t.Errorf("parseName(%q) = %q, %q, %v; want %q, %q", tc.name, key, flags, err, tc.key, tc.flags)
			continue
		}
		// Formatting back gives a name that parses to the same key and flags.
		out := curName(key, flags, tc.name)
		if k2, f2, err := parseName(out); err != nil || k2 != key || f2 != flags {
			t.Errorf("round trip %q -> %q -> %q, %q, %v", tc.name, out, k2, f2, err)
		}
	}
}

func TestCurNameKeepsSeparator(t *testing.T) {
	if got := curName("k", "FS", "k!2,S"); got != "k!2,FS" {
		t.Errorf("got %q, want k!2,FS", got)
	}
	if got := curName("k", "FS", "k:2,S"); got != "k:2,FS" {
		t.Errorf("got %q, want k:2,FS", got)
	}
	if got := curName("k", "", "k"); got != "k:2," {
		t.Errorf("got %q, want k:2,", got)
	}
}

func TestNormalizeFlags(t *testing.T) {
	for in, want := range map[string]string{"": "", "S": "S", "SFS": "FS", "TSRPFD": "DFPRST", "aSbaS": "Sab"} {
		if got := NormalizeFlags(in); got != want {
			t.Errorf("NormalizeFlags(%q) = %q, want %q", in, got, want)
		}
	}
}
