//go:build unix

package gateway

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// watchExit gives the child w, the write end of the exit pipe, as an extra descriptor,
// and reports that it did.
func watchExit(cmd *exec.Cmd, w *os.File) bool {
	cmd.ExtraFiles = []*os.File{w}
	return true
}

// killGroup kills the process group p leads.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
