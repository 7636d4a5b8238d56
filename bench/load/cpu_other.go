//go:build !linux

package load

import (
	"errors"
	"time"
)

// ProcessCPU returns a clock of the CPU time of the process pid. It is available on
// Linux only; elsewhere the clock fails.
func ProcessCPU(pid int) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		return 0, errors.New("load: reading another process's CPU time needs Linux")
	}
}
