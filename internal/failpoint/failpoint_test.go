package failpoint

import (
	"os"
	"os/exec"
	"testing"
)

func TestHitExitsOnNth(t *testing.T) {
	if os.Getenv("FP_CHILD") == "1" {
		for i := 0; i < 5; i++ {
			Hit("other")
			Hit("step")
			os.Stdout.WriteString("x")
		}
		os.Exit(0)
	}
	cases := []struct {
		fp   string
		out  string
		code int
	}{
		{"", "xxxxx", 0},
		{"step", "", ExitCode},
		{"step:3", "xx", ExitCode},
		{"step:9", "xxxxx", 0},
		{"nope", "xxxxx", 0},
	}
	for _, c := range cases {
		cmd := exec.Command(os.Args[0], "-test.run=TestHitExitsOnNth")
		cmd.Env = append(os.Environ(), "FP_CHILD=1", "MDSYNC_FAILPOINT="+c.fp)
		out, _ := cmd.Output()
		if string(out) != c.out || cmd.ProcessState.ExitCode() != c.code {
			t.Errorf("%q: out %q code %d, want %q %d", c.fp, out, cmd.ProcessState.ExitCode(), c.out, c.code)
		}
	}
}
