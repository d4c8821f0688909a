//go:build !linux

package dovecot

import "os/exec"

func setProcAttr(cmd *exec.Cmd) {}
