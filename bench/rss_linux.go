package main

import (
	"syscall"
	"time"
)

// maxRSSBytes returns the peak resident set size of a finished child.
// Linux reports ru_maxrss in KiB.
func maxRSSBytes(sysUsage any) int64 {
	if ru, ok := sysUsage.(*syscall.Rusage); ok {
		return ru.Maxrss * 1024
	}
	return 0
}

// selfCPU returns the user and system CPU seconds of this process so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
