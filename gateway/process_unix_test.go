//go:build !windows

package gateway

import "syscall"

// ownProcessGroup reports whether this process leads its own process group.
func ownProcessGroup() bool {
	pgid, err := syscall.Getpgid(0)
	return err == nil && pgid == syscall.Getpid()
}
