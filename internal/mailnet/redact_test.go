package mailnet

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestRedactor: no secret reaches the trace, however it is written, and
// the rest of the line is left as it was.
func TestRedactor(t *testing.T) {
	loginRule := func(line []byte) []byte { // as IMAP's: LOGIN's arguments
		if f := strings.Fields(string(line)); len(f) >= 3 && strings.EqualFold(f[1], "LOGIN") {
			return []byte(f[0] + " LOGIN " + f[2] + " ***\r\n")
		}
		return line
	}
	tests := []struct {
		name    string
		rule    func([]byte) []byte
		secrets []string
		later   []string // added after the start (a token fetched later)
		writes  []string
		want    string
	}{
		{"a password", nil, []string{"hunter2"}, nil,
			[]string{"C: PASS hunter2\r\n"}, "C: PASS ***\r\n"},
		{"split across writes", nil, []string{"hunter2"}, nil,
			[]string{"C: PASS hun", "ter2\r\nS: +OK\r\n"}, "C: PASS ***\r\nS: +OK\r\n"},
		{"every occurrence", nil, []string{"s3cr3t"}, nil,
			[]string{"a s3cr3t b s3cr3t\n"}, "a *** b ***\n"},
		{"a token added later", nil, []string{"pw"}, []string{"ya29.TOKEN"},
			[]string{"T1 AUTHENTICATE XOAUTH2 ya29.TOKEN\r\n"}, "T1 AUTHENTICATE XOAUTH2 ***\r\n"},
		{"a password inside a token is no way into the token", nil, []string{"pass"}, []string{"xxpassyy"},
			[]string{"token xxpassyy, then pass\n"}, "token ***, then ***\n"},
		{"the protocol's rule", loginRule, []string{"hunter2"}, nil,
			[]string{`A1 LOGIN "bob" "hunter2"` + "\r\n"}, `A1 LOGIN "bob" ***` + "\r\n"},
		{"the rule sees a quoted password the secrets do not match", loginRule, []string{"a\"b"}, nil,
			[]string{`A1 LOGIN bob "a\"b"` + "\r\n"}, "A1 LOGIN bob ***\r\n"},
		{"empty secrets mask nothing", nil, []string{""}, []string{""},
			[]string{"S: +OK ready\r\n"}, "S: +OK ready\r\n"},
		{"an unfinished line waits", nil, []string{"hunter2"}, nil,
			[]string{"C: PASS hunter2"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			r := NewRedactor(&out, tc.rule, tc.secrets...)
			r.Add(tc.later...)
			for _, w := range tc.writes {
				if n, err := r.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if out.String() != tc.want {
				t.Errorf("trace %q, want %q", out.String(), tc.want)
			}
		})
	}
}

// TestRedactorLongLiteral: a long body without a line end is passed on in
// pieces, redacted, instead of held whole.
func TestRedactorLongLiteral(t *testing.T) {
	var out bytes.Buffer
	r := NewRedactor(&out, nil, "hunter2")
	body := strings.Repeat("x", maxPending) + "hunter2"
	r.Write([]byte(body))
	if out.Len() == 0 {
		t.Fatal("a long literal was held back")
	}
	if strings.Contains(out.String(), "hunter2") || !strings.HasSuffix(out.String(), Mask) {
		t.Errorf("the literal's end: %q", out.String()[out.Len()-20:])
	}
}

// TestTagged: each line whole with its connection's tag, however writes
// of several connections interleave.
func TestTagged(t *testing.T) {
	if Tagged(nil, "[c1] ") != nil {
		t.Error("a nil trace became a writer")
	}
	var mu sync.Mutex
	var out bytes.Buffer
	shared := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	a, b := Tagged(shared, NextConnTag()), Tagged(shared, AccountTag("pop", "isp"))
	a.Write([]byte("A1 NOOP"))
	b.Write([]byte("C: STAT\r\n"))
	a.Write([]byte("\r\nA2 LOGOUT\r\n"))
	lines := strings.SplitAfter(out.String(), "\n")
	want := []string{"[pop isp] C: STAT\r\n", "A1 NOOP\r\n", "A2 LOGOUT\r\n", ""}
	if len(lines) != len(want) {
		t.Fatalf("trace %q", out.String())
	}
	for i, w := range want[:3] {
		if !strings.HasSuffix(lines[i], w) || (i > 0 && !strings.HasPrefix(lines[i], "[c")) {
			t.Errorf("line %d: %q, want %q with its tag", i, lines[i], w)
		}
	}
	t1, t2 := NextConnTag(), NextConnTag()
	if t1 == t2 || !strings.HasPrefix(t1, "[c") || !strings.HasSuffix(t1, "] ") {
		t.Errorf("connection tags %q, %q", t1, t2)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestTaggedWriteError: a failing trace reports its error.
func TestTaggedWriteError(t *testing.T) {
	w := Tagged(writerFunc(func([]byte) (int, error) { return 0, fmt.Errorf("disk full") }), "[c9] ")
	if _, err := w.Write([]byte("x\n")); err == nil {
		t.Error("no error from a failing trace")
	}
}
