package mbsync

import "testing"

func TestNameEvidence(t *testing.T) {
	for _, tc := range []struct {
		name        string
		mutf7, utf8 bool
	}{
		{"Entw&APw-rfe", true, false},
		{"A&-B", false, false},
		{"A&B", false, false},
		{"Entwürfe", false, true},
		{"Plain", false, false},
		{"\xff", false, false},
	} {
		if got := hasMUTF7NonASCII(tc.name); got != tc.mutf7 {
			t.Errorf("hasMUTF7NonASCII(%q) = %v", tc.name, got)
		}
		if got := hasUTF8NonASCII(tc.name); got != tc.utf8 {
			t.Errorf("hasUTF8NonASCII(%q) = %v", tc.name, got)
		}
	}
}
