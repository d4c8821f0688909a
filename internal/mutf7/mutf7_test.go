package mutf7

import "testing"

func TestMUTF7(t *testing.T) {
	tests := []struct {
		utf8, mutf7 string
	}{
		{"INBOX", "INBOX"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"&", "&-"},
		{"a&b", "a&-b"},
		{"Gelöschte Elemente", "Gel&APY-schte Elemente"},
		{"日本語", "&ZeVnLIqe-"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"😀", "&2D3eAA-"},
		{"a\tb", "a&AAk-b"},
	}
	for _, tc := range tests {
		got, err := Encode(tc.utf8)
		if err != nil || got != tc.mutf7 {
			t.Errorf("encode(%q) = %q, %v; want %q", tc.utf8, got, err, tc.mutf7)
		}
		back, err := Decode(tc.mutf7)
		if err != nil || back != tc.utf8 {
			t.Errorf("decode(%q) = %q, %v; want %q", tc.mutf7, back, err, tc.utf8)
		}
	}
	for _, bad := range []string{"&", "&APw", "&AP-", "&AGE-", "Entwürfe", "&2D0-", "&APwA-", "a\x7fb"} {
		if got, err := Decode(bad); err == nil {
			t.Errorf("decode(%q) = %q, want an error", bad, got)
		}
	}
	if _, err := Encode("bad\xff"); err == nil {
		t.Error("invalid UTF-8 encoded")
	}
}
