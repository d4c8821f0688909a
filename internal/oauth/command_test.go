package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/oauth"
)

func TestCommandToken(t *testing.T) {
	for _, tc := range []struct {
		name    string
		command string
		want    string
	}{
		{"printf", `printf 'tok-123\n'`, "tok-123"},
		{"no newline", `printf tok-456`, "tok-456"},
		{"first line trimmed", `printf '  tok-789 \t\nsecond line\n'`, "tok-789"},
		{"shell syntax", `a=tok; b=abc; printf '%s-%s\n' "$a" "$b"`, "tok-abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := oauth.CommandToken(testCtx(t), tc.command)
			if err != nil || got != tc.want {
				t.Errorf("CommandToken(%q) = %q, %v; want %q", tc.command, got, err, tc.want)
			}
		})
	}
}

func TestCommandTokenFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		src     oauth.CommandSource
		ctx     func(t *testing.T) context.Context
		want    string // in the message
		leak    string // printed by the command, never in the message
		check   func(t *testing.T, err error)
		fastest time.Duration
	}{
		{name: "fails after printing", src: oauth.CommandSource{Command: `x=tok; printf '%s%s\n' $x-printed-value 42; exit 3`},
			want: "exit status 3", leak: "tok-printed-value42",
			check: func(t *testing.T, err error) {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 3 {
					t.Errorf("%v: no *exec.ExitError with code 3", err)
				}
			}},
		{name: "prints nothing", src: oauth.CommandSource{Command: `true`}, want: "printed no access token"},
		{name: "prints a blank first line", src: oauth.CommandSource{Command: `printf '\n  \n%s%s\n' tok- second-line`},
			want: "printed no access token", leak: "tok-second-line"},
		{name: "empty command", src: oauth.CommandSource{Command: "  "}, want: "empty"},
		{name: "no such program", src: oauth.CommandSource{Command: "mdsync-no-such-helper-xyz"}, want: "exit status 127"},
		{name: "too much output", src: oauth.CommandSource{Command: `head -c 100000 /dev/zero | tr '\0' a`}, want: "more than"},
		{name: "timeout", src: oauth.CommandSource{Command: "sleep 5", Timeout: 200 * time.Millisecond}, want: "did not finish in time",
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%v does not wrap DeadlineExceeded", err)
				}
			}},
		{name: "grandchild keeps stdout open", src: oauth.CommandSource{Command: "sleep 5 & sleep 5", Timeout: 200 * time.Millisecond},
			want: "did not finish in time"},
		{name: "context deadline", src: oauth.CommandSource{Command: "sleep 5"},
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			}, want: "did not finish in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			if tc.ctx != nil {
				ctx = tc.ctx(t)
			}
			var stderr lockedBuffer
			tc.src.Stderr = &stderr
			start := time.Now()
			tok, err := tc.src.Token(ctx)
			if err == nil {
				t.Fatalf("Token = %q, want an error", tok)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
			msg := errText(err)
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "token_command") {
				t.Errorf("err = %v, want %q and the command", err, tc.want)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("token_command %q: ", tc.src.Command)) {
				t.Errorf("%q does not name the command", err)
			}
			noSecrets(t, "error", msg, tc.leak)
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

func TestCommandTokenStderrPassesThrough(t *testing.T) {
	var stderr lockedBuffer
	src := &oauth.CommandSource{Command: `echo 'oama: refreshing' >&2; printf 'tok-1\n'`, Stderr: &stderr}
	for _, call := range []func(context.Context) (string, error){src.Token, src.Token} {
		tok, err := call(testCtx(t))
		if err != nil || tok != "tok-1" {
			t.Errorf("= %q, %v", tok, err)
		}
	}
	if got := stderr.String(); got != "oama: refreshing\noama: refreshing\n" {
		t.Errorf("stderr = %q; want the helper's messages, once per call", got)
	}
}
