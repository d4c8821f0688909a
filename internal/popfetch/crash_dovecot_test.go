package popfetch

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// TestChildFetch is the helper process of the crash and memory tests: it
// runs one fetch configured by POPFETCH_* variables (and MDSYNC_FAILPOINT).
func TestChildFetch(t *testing.T) {
	if os.Getenv("POPFETCH_CHILD") != "1" {
		t.Skip("helper process for the crash tests")
	}
	port, _ := strconv.Atoi(os.Getenv("POPFETCH_PORT"))
	e := newEnv(t, os.Getenv("POPFETCH_DIR"), port)
	e.opts.User = os.Getenv("POPFETCH_USER")
	if os.Getenv("POPFETCH_DELETE") == "after-fetch" {
		e.opts.Delete = DeletePolicy{Enabled: true}
	}
	if n, err := strconv.Atoi(os.Getenv("POPFETCH_BATCH")); err == nil && n > 0 {
		batchMessages = n
	}
	res, err := e.run(t, dovePass)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch:", err)
		os.Exit(1)
	}
	if os.Getenv("POPFETCH_MEM") == "1" {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		st, _ := os.ReadFile("/proc/self/status")
		m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(st)
		if m == nil {
			fmt.Fprintln(os.Stderr, "no VmHWM in /proc/self/status")
			os.Exit(1)
		}
		fmt.Printf("fetched=%d bytes=%d VmHWM=%s HeapSys=%d\n", res.Fetched, res.Bytes, m[1], ms.HeapSys)
	}
	os.Exit(0)
}

type child struct {
	d      *dovecot.Server
	user   string
	dir    string
	delete string
	batch  int
}

func (c child) cmd(fp string, extra ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildFetch$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"POPFETCH_CHILD=1",
		"POPFETCH_PORT="+strconv.Itoa(c.d.POP3Port),
		"POPFETCH_USER="+c.user,
		"POPFETCH_DIR="+c.dir,
		"POPFETCH_DELETE="+c.delete,
		"POPFETCH_BATCH="+strconv.Itoa(c.batch),
		"MDSYNC_FAILPOINT="+fp)
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

// run runs the child to its end and returns its exit code and stdout.
func (c child) run(t *testing.T, fp string, extra ...string) (int, string) {
	t.Helper()
	cmd := c.cmd(fp, extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	code := cmd.ProcessState.ExitCode()
	if code != 0 && code != failpoint.ExitCode {
		t.Fatalf("child (failpoint %q) exited %d: %s%s", fp, code, out.String(), errb.String())
	}
	return code, out.String()
}

// TestCrashFailpoints: the fetcher is ended abruptly at every step (several
// counts, across batch boundaries, twice in a row); the next normal run
// leaves every server message exactly once in new/, with nothing in tmp/,
// no pending journal entry, and (after-fetch) an empty server.
func TestCrashFailpoints(t *testing.T) {
	d := dovecot.Start(t)
	const n = 12
	type step struct {
		fp   string
		code int // expected exit code
	}
	type tc struct {
		delete string
		steps  []step
	}
	var cases []tc
	for _, del := range []string{"never", "after-fetch"} {
		for _, fp := range []string{"pop.after-journal", "pop.after-deliver", "pop.after-record"} {
			for _, k := range []int{1, 5, 6, 12} {
				cases = append(cases, tc{del, []step{{fmt.Sprintf("%s:%d", fp, k), failpoint.ExitCode}}})
			}
		}
		cases = append(cases, tc{del, []step{{"pop.after-deliver:3", failpoint.ExitCode}, {"pop.after-journal:2", failpoint.ExitCode}, {"pop.after-record:4", failpoint.ExitCode}}})
	}
	cases = append(cases,
		tc{"after-fetch", []step{{"pop.after-dele:1", failpoint.ExitCode}}},
		tc{"after-fetch", []step{{"pop.after-dele:7", failpoint.ExitCode}}},
		tc{"after-fetch", []step{{"pop.after-dele:12", failpoint.ExitCode}}},
		tc{"after-fetch", []step{{"pop.after-deliver:12", failpoint.ExitCode}, {"pop.after-dele:5", failpoint.ExitCode}}},
		tc{"never", []step{{"pop.after-dele:1", 0}}}, // delete = never never DELEs
	)
	for i, c := range cases {
		var names []string
		for _, s := range c.steps {
			names = append(names, s.fp)
		}
		t.Run(c.delete+"/"+strings.Join(names, "+"), func(t *testing.T) {
			user := fmt.Sprintf("crash%d", i)
			d.AddUser(t, user, dovePass)
			msgs := genMsgs(int64(1000+i), 0, n, 2500)
			d.BulkLoad(t, user, "INBOX", msgs)
			ch := child{d: d, user: user, dir: t.TempDir(), delete: c.delete, batch: 5}
			for _, s := range c.steps {
				if code, _ := ch.run(t, s.fp); code != s.code {
					t.Fatalf("failpoint %s: exit %d, want %d", s.fp, code, s.code)
				}
			}
			if code, _ := ch.run(t, ""); code != 0 {
				t.Fatalf("clean run exited %d", code)
			}
			e := newEnv(t, ch.dir, d.POP3Port)
			e.opts.User = user
			e.checkExactly(t, msgs)
			if j := e.journal(t); len(j) != 0 {
				t.Errorf("journal left: %+v", j)
			}
			want := n
			if c.delete == "after-fetch" {
				want = 0
			}
			if got := serverCount(t, d, user); got != want {
				t.Errorf("server holds %d, want %d", got, want)
			}
			if res := e.mustRun(t, dovePass); res.Fetched != 0 {
				t.Errorf("a further run fetched %d", res.Fetched)
			}
			e.checkExactly(t, msgs)
		})
	}
}

// TestCrashRandomKill: a child fetching 200 messages is SIGKILLed 20 times
// after a random number of new deliveries (random batch sizes); a clean run
// then leaves each message exactly once.
func TestCrashRandomKill(t *testing.T) {
	d := dovecot.Start(t)
	const user, n = "randomkill", 200
	d.AddUser(t, user, dovePass)
	msgs := genMsgs(2024, 0, n, 4000)
	d.BulkLoad(t, user, "INBOX", msgs)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ch := child{d: d, user: user, dir: t.TempDir(), delete: "never"}
	newDir := filepath.Join(ch.dir, "mail", "INBOX", "new")
	count := func() int {
		ents, _ := os.ReadDir(newDir)
		return len(ents)
	}
	kills := 0
	for rep := 0; rep < 20; rep++ {
		ch.batch = []int{1, 3, 8, 128}[rng.IntN(4)]
		target := count() + 1 + rng.IntN(10)
		cmd := ch.cmd("")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		tick := time.NewTicker(200 * time.Microsecond)
	poll:
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("child failed: %v: %s", err, errb.String())
				}
				break poll // it finished everything before the target
			case <-tick.C:
				if count() >= target {
					cmd.Process.Kill()
					<-done
					kills++
					break poll
				}
			}
		}
		tick.Stop()
	}
	t.Logf("%d kills, %d files before the clean run", kills, count())
	if code, _ := ch.run(t, ""); code != 0 {
		t.Fatalf("clean run exited %d", code)
	}
	e := newEnv(t, ch.dir, d.POP3Port)
	e.opts.User = user
	e.checkExactly(t, msgs)
	if len(e.journal(t)) != 0 || len(e.seen(t)) != n {
		t.Errorf("journal %d entries, %d UIDLs recorded", len(e.journal(t)), len(e.seen(t)))
	}
}

// TestMemoryFlat: a 50 MB message is fetched by a child process whose peak
// RSS stays under 32 MB.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB message")
	}
	d := dovecot.Start(t)
	const user = "big"
	d.AddUser(t, user, dovePass)
	msgs := [][]byte{dovecot.GenMessage(42, 0, 50<<20), dovecot.GenMessage(42, 1, 3000)}
	d.BulkLoad(t, user, "INBOX", msgs)
	ch := child{d: d, user: user, dir: t.TempDir(), delete: "never", batch: 128}
	_, out := ch.run(t, "", "POPFETCH_MEM=1")
	m := regexp.MustCompile(`fetched=(\d+) bytes=(\d+) VmHWM=(\d+) HeapSys=(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("child output: %q", out)
	}
	hwm, _ := strconv.Atoi(m[3])
	heap, _ := strconv.Atoi(m[4])
	t.Logf("fetched %s messages, %s bytes: peak RSS %d kB, HeapSys %d kB", m[1], m[2], hwm, heap/1024)
	if m[1] != "2" {
		t.Fatalf("fetched %s messages", m[1])
	}
	if heap >= 32<<20 {
		t.Errorf("HeapSys %d kB, want < 32 MB", heap/1024)
	}
	if hwm >= 32<<10 && !raceEnabled {
		t.Errorf("peak RSS %d kB, want < 32 MB", hwm)
	}
	e := newEnv(t, ch.dir, d.POP3Port)
	e.checkExactly(t, msgs)
}
