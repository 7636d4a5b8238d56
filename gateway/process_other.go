//go:build !unix

package gateway

import (
	"os"
	"os/exec"
)

// ownGroup does nothing: process groups are a Unix notion.
func ownGroup(*exec.Cmd) {}

// watchExit reports false: extra descriptors are not passed to children here, so the
// parent keeps the write end until it kills the child, and a child that exits by itself
// is noticed at the next forwarded request (its transport is closed), not at once.
func watchExit(*exec.Cmd, *os.File) bool { return false }

// killGroup kills the process (its own children are not reached).
func killGroup(p *os.Process) { _ = p.Kill() }
