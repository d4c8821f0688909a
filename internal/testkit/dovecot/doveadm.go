package dovecot

import (
	"os/exec"
	"strings"
	"testing"
)

// Doveadm runs doveadm against this instance and returns its combined
// output; a failure is fatal.
func (d *Server) Doveadm(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.doveadmErr(args...)
	if err != nil {
		t.Fatalf("dovecot: doveadm %s: %v\n%s\n%s", strings.Join(args, " "), err, out, d.logTail())
	}
	return out
}

func (d *Server) doveadmErr(args ...string) (string, error) {
	cmd := exec.Command(d.doveadm, append([]string{"-c", d.conf}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
