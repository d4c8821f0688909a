package oauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// CommandTimeout bounds a token_command whose context has no earlier
// deadline. Helpers such as oama or pizauth answer at once or refresh over
// the network; a minute leaves room for a slow provider, not for a hang.
const CommandTimeout = time.Minute

// maxCommandOutput is the most stdout kept from a token_command; an access
// token is a few KiB at most.
const maxCommandOutput = 64 << 10

// CommandSource gets access tokens from an external program, the
// token_command of an account (e.g. "oama access me@gmail.com"): the first
// line of its standard output, trimmed, is the token. It runs on every
// call (the program does its own caching and refreshing), so Refresh is the
// same as Token.
//
// The command runs with sh -c, standard input from /dev/null, standard
// error passed through to Stderr (os.Stderr when nil) so the user sees the
// helper's own complaints, and a timeout. A failing command gives an error
// naming the command and how it failed, never what it printed: that could
// be a token.
type CommandSource struct {
	Command string
	Stderr  io.Writer     // nil: os.Stderr
	Timeout time.Duration // zero: CommandTimeout
}

// CommandToken runs command as a CommandSource with the defaults.
func CommandToken(ctx context.Context, command string) (string, error) {
	return (&CommandSource{Command: command}).Token(ctx)
}

// Token runs the command and returns the first line it printed.
func (c *CommandSource) Token(ctx context.Context) (string, error) {
	tok, err := c.run(ctx)
	if err != nil {
		return "", fmt.Errorf("token_command %q: %w", c.Command, err)
	}
	return tok, nil
}

func (c *CommandSource) run(ctx context.Context) (string, error) {
	if strings.TrimSpace(c.Command) == "" {
		return "", errors.New("the command is empty")
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = CommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", c.Command)
	var stdout limitedBuffer
	stdout.max = maxCommandOutput
	cmd.Stdout = &stdout
	cmd.Stderr = c.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	// At the deadline only the shell is killed: putting the command in a
	// process group of its own would make a helper that prompts on the
	// terminal (gpg's pinentry) stop with SIGTTIN. A grandchild that keeps
	// stdout open then has a second before its pipes are closed, so Wait
	// cannot hang.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return "", fmt.Errorf("did not finish in time: %w", ctxErr)
		}
		return "", ctxErr
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			// ExitError's message is "exit status N" or "signal: ..."; its
			// Stderr field stays empty since Stderr is set.
			return "", fmt.Errorf("failed: %w", err)
		}
		return "", fmt.Errorf("could not run: %w", err)
	}
	if stdout.over {
		return "", fmt.Errorf("printed more than %d bytes", maxCommandOutput)
	}
	line, _, _ := strings.Cut(stdout.String(), "\n")
	tok := strings.TrimSpace(line)
	if tok == "" {
		return "", errors.New("printed no access token (its first line of output is empty)")
	}
	return tok, nil
}

// limitedBuffer keeps the first max bytes written and notes the overflow.
// It does not embed bytes.Buffer: exec would find its ReadFrom and bypass
// the limit.
type limitedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); len(p) > room {
		b.over = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) String() string { return b.buf.String() }
