package oauth_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/oauth"
)

// wait is the deadline for events the tests wait on; it is never slept.
const wait = 10 * time.Second

func newStore(t *testing.T) oauth.Store {
	t.Helper()
	return oauth.Store{Dir: filepath.Join(t.TempDir(), "state", "oauth")}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// recv waits for a value on ch, failing the test at the deadline.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("no %s within %s", what, wait)
		panic("unreachable")
	}
}

// noSecrets fails if s holds any of the secrets.
func noSecrets(t *testing.T, where, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Errorf("%s leaks a secret (%.6s...): %s", where, sec, s)
		}
	}
}

// errText is everything an error could print.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf("%v | %+v | %s | %q", err, err, err, err)
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// visit is what the test browser saw at the end of the redirects.
type visit struct {
	status int
	body   string
	url    string
	err    error
}

// get fetches u with client and reports what came back.
func get(client *http.Client, u string) visit {
	resp, err := client.Get(u)
	if err != nil {
		return visit{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return visit{status: resp.StatusCode, body: string(b), url: resp.Request.URL.String()}
}

// browser returns a browse callback that plays the user's browser: it
// follows the redirects from the provider to the loopback listener and
// sends what it saw on the channel.
func browser() (func(string) error, <-chan visit) {
	ch := make(chan visit, 4)
	return func(u string) error {
		ch <- get(http.DefaultClient, u)
		return nil
	}, ch
}

// noRedirect is a client that stops at the first redirect.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
