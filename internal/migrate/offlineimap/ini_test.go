package offlineimap

import (
	"errors"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/migrate"
)

func TestParseINI(t *testing.T) {
	src := strings.Join([]string{
		"# a comment",                 // 1
		"[DEFAULT]",                   // 2
		"base = /home/u",              // 3
		"[general]",                   // 4
		"Accounts: a, b",              // 5
		"  ; an indented comment",     // 6
		"[Repository r]",              // 7
		"pass = 100%% sure",           // 8
		"path = %(base)s/Mail",        // 9
		"filter = lambda f: f in [",   // 10
		"    'INBOX',",                // 11
		"",                            // 12
		"    # not part of the value", // 13
		"    'Sent']",                 // 14
		"inline = a # b",              // 15
		"empty =",                     // 16
		"nested = %(path)s/x",         // 17
		"[weird] name]",               // 18
		"k=v",                         // 19
	}, "\n")
	f, err := parseINI("rc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	get := func(sec, key string) string {
		t.Helper()
		v, _, ok, err := f.byName[sec].get(key)
		if err != nil || !ok {
			t.Fatalf("[%s] %s: ok=%v err=%v", sec, key, ok, err)
		}
		return v
	}
	for _, c := range []struct{ sec, key, want string }{
		{"general", "accounts", "a, b"},
		{"general", "base", "/home/u"}, // from [DEFAULT]
		{"Repository r", "pass", "100% sure"},
		{"Repository r", "path", "/home/u/Mail"},
		{"Repository r", "filter", "lambda f: f in [\n'INBOX',\n\n'Sent']"},
		{"Repository r", "inline", "a # b"},
		{"Repository r", "empty", ""},
		{"Repository r", "nested", "/home/u/Mail/x"},
		{"weird] name", "k", "v"},
	} {
		if got := get(c.sec, c.key); got != c.want {
			t.Errorf("[%s] %s = %q, want %q", c.sec, c.key, got, c.want)
		}
	}
	if _, line, _, _ := f.byName["Repository r"].get("filter"); line != 10 {
		t.Errorf("filter at line %d, want 10", line)
	}
}

func TestParseINIErrors(t *testing.T) {
	for _, c := range []struct {
		name, src string
		line      int
		msg       string
	}{
		{"no section", "accounts = a\n", 1, "before the first [section]"},
		{"not a key", "[general]\naccounts = a\njust words\n", 3, "neither a [section] nor"},
		{"empty key", "[general]\n = a\n", 2, "has no key"},
		{"empty brackets", "[general]\n[]\n", 2, "neither a [section] nor"},
		{"duplicate section", "[general]\na = 1\n[general]\n", 3, "appears twice"},
		{"duplicate key", "[general]\na = 1\nA: 2\n", 3, "appears twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseINI("rc", []byte(c.src))
			var me *migrate.Error
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want *migrate.Error", err)
			}
			if me.File != "rc" || me.Line != c.line || !strings.Contains(me.Msg, c.msg) {
				t.Errorf("got %v, want line %d with %q", me, c.line, c.msg)
			}
		})
	}
	// [DEFAULT] may appear twice, as in configparser.
	if _, err := parseINI("rc", []byte("[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n")); err != nil {
		t.Errorf("two [DEFAULT]: %v", err)
	}
}

func TestInterpolationErrors(t *testing.T) {
	for _, c := range []struct{ value, msg string }{
		{"100% sure", "must be followed by"},
		{"%(missing)s", "neither in"},
		{"%(x", "bad interpolation"},
		{"%(loop)s", "deeper than"},
	} {
		f, err := parseINI("rc", []byte("[s]\nloop = %(loop)s\nkey = "+c.value+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = f.byName["s"].get("key")
		var me *migrate.Error
		if !errors.As(err, &me) || me.Line != 3 || !strings.Contains(me.Msg, c.msg) {
			t.Errorf("%q: err = %v, want line 3 with %q", c.value, err, c.msg)
		}
	}
}
