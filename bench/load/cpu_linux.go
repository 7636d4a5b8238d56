package load

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// ProcessCPU returns a clock of the CPU time (user and system, every thread) of the
// process pid, read with nanosecond precision from its CPU-time clock (clock_gettime
// on the clock id Linux derives from a pid), not the 10 ms ticks of /proc/pid/stat.
func ProcessCPU(pid int) func() (time.Duration, error) {
	// Linux's process CPU clocks: CPUCLOCK_SCHED (2) of the whole process (no
	// CPUCLOCK_PERTHREAD bit), for the pid in the bits above the low three, inverted.
	if pid <= 0 || pid >= 1<<28 {
		return func() (time.Duration, error) { return 0, fmt.Errorf("load: %d is not a process id", pid) }
	}
	id := int32(^pid<<3 | 2)
	return func() (time.Duration, error) {
		var ts unix.Timespec
		if err := unix.ClockGettime(id, &ts); err != nil {
			return 0, err
		}
		return time.Duration(ts.Nano()), nil
	}
}
