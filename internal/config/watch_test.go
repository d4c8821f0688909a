package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const popSection = "\n[pop.isp]\nhost = \"h\"\nuser = \"u\"\npassword_env = \"X\"\nmaildir = \"work\"\n"

func TestWatchKeys(t *testing.T) {
	tests := []struct {
		name        string
		text        string
		wantWatch   []string
		wantPoll    time.Duration
		wantPOPPoll time.Duration
	}{
		{"defaults: INBOX, 5 minutes", base + popSection, []string{"INBOX"}, 5 * time.Minute, 5 * time.Minute},
		{"set", strings.Replace(base, `imap = "work"`, "imap = \"work\"\nwatch = [\"INBOX\", \"Lists/go\"]\npoll = \"90s\"", 1) + popSection + "poll = \"15m\"\n",
			[]string{"INBOX", "Lists/go"}, 90 * time.Second, 15 * time.Minute},
		{"no IDLE at all", strings.Replace(base, `imap = "work"`, "imap = \"work\"\nwatch = []", 1) + popSection, []string{}, 5 * time.Minute, 5 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("/etc/x.toml", []byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			ch := c.Channel["work"]
			if !slices.Equal(ch.Watch, tc.wantWatch) || ch.PollDur != tc.wantPoll {
				t.Fatalf("watch %q poll %v, want %q %v", ch.Watch, ch.PollDur, tc.wantWatch, tc.wantPoll)
			}
			if got := c.POP["isp"].PollDur; got != tc.wantPOPPoll {
				t.Fatalf("pop poll %v, want %v", got, tc.wantPOPPoll)
			}
		})
	}
}

func TestWatchKeyErrors(t *testing.T) {
	with := func(lines string) string { return strings.Replace(base, `imap = "work"`, "imap = \"work\"\n"+lines, 1) }
	tests := []struct{ name, text, want string }{
		{"poll not a duration", with(`poll = "often"`), `x.toml:12: channel.work: poll must be a duration of at least 1s such as "5m", not "often"`},
		{"poll too short", with(`poll = "10ms"`), `x.toml:12: channel.work: poll must be a duration of at least 1s`},
		{"pop poll", base + popSection + "poll = \"-1m\"\n", `x.toml:19: pop.isp: poll must be a duration`},
		{"a pattern", with(`watch = ["INBOX", "Lists/*"]`), `x.toml:12: channel.work: watch names folders, not patterns: "Lists/*"`},
		{"an exclusion", with(`watch = ["!Junk"]`), `watch names folders, not patterns: "!Junk"`},
		{"empty name", with(`watch = [""]`), `x.toml:12: channel.work: watch: empty folder name`},
		{"twice", with(`watch = ["INBOX", "inbox"]`), `x.toml:12: channel.work: watch: "inbox" is listed twice`},
		{"not a list", with(`watch = "INBOX"`), `x.toml:12:`},
		{"typo", with(`wacth = ["INBOX"]`), `(did you mean "channel.work.watch"?)`},
		{"watch on a POP account", base + popSection + "watch = [\"INBOX\"]\n", `x.toml:19: unknown key "pop.isp.watch"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("/etc/x.toml", []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
