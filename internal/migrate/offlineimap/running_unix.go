//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package offlineimap

import (
	"os"
	"syscall"
)

// running reports whether an OfflineIMAP process holds the account's lock
// file. OfflineIMAP takes it with portalocker (flock) or, without it,
// fcntl.lockf (a POSIX lock), and deletes it when done. Both kinds are
// tested on a read-only descriptor: a shared flock taken and dropped at
// once, and F_GETLK, which takes nothing.
func running(lockPath string) bool {
	f, err := os.Open(lockPath)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return err == syscall.EWOULDBLOCK
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	lk := syscall.Flock_t{Type: syscall.F_RDLCK, Whence: 0, Start: 0, Len: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false
	}
	return lk.Type != syscall.F_UNLCK
}
