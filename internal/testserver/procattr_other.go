//go:build !linux

package testserver

import "os/exec"

func setProcAttr(cmd *exec.Cmd) {}
