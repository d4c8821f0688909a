package mailnet

import "testing"

// TestPlaintextAllowed: clear text only toward this machine, unless the
// user allowed it.
func TestPlaintextAllowed(t *testing.T) {
	tests := []struct {
		host     string
		allow    bool
		loopback bool
		want     bool
	}{
		{"localhost", false, true, true},
		{"LocalHost", false, true, true},
		{"127.0.0.1", false, true, true},
		{"127.1.2.3", false, true, true},
		{"::1", false, true, true},
		{"[::1]", false, true, true},
		{"mail.example.com", false, false, false},
		{"mail.example.com", true, false, true},
		{"localhost.example.com", false, false, false},
		{"10.0.0.1", false, false, false},
		{"::ffff:10.0.0.1", false, false, false},
		{"0.0.0.0", false, false, false},
		{"", false, false, false},
	}
	for _, tc := range tests {
		if got := IsLoopback(tc.host); got != tc.loopback {
			t.Errorf("IsLoopback(%q) = %v, want %v", tc.host, got, tc.loopback)
		}
		if got := PlaintextAllowed(tc.host, tc.allow); got != tc.want {
			t.Errorf("PlaintextAllowed(%q, %v) = %v, want %v", tc.host, tc.allow, got, tc.want)
		}
	}
}

// TestTLSMode: the config's spellings, the default, and a typo refused;
// String gives the spelling back.
func TestTLSMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TLSMode
		ok   bool
	}{
		{"", TLSImplicit, true},
		{"implicit", TLSImplicit, true},
		{"starttls", TLSStartTLS, true},
		{"none", TLSNone, true},
		{"tls", 0, false},
		{"NONE", 0, false},
	} {
		got, err := ParseTLSMode(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseTLSMode(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok && tc.in != "" && got.String() != tc.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	var zero TLSMode
	if zero != TLSImplicit {
		t.Error("the zero TLSMode is not implicit TLS")
	}
}
