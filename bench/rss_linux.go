package main

import "syscall"

// maxRSSBytes returns the peak resident set size of a finished child.
// Linux reports ru_maxrss in KiB.
func maxRSSBytes(sysUsage any) int64 {
	if ru, ok := sysUsage.(*syscall.Rusage); ok {
		return ru.Maxrss * 1024
	}
	return 0
}
