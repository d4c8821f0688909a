package dovecot

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel SIGTERM Dovecot's master if the test process
// dies without running its cleanups (e.g. on a test timeout panic).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
