//go:build !linux

package main

// maxRSSBytes is not implemented off Linux: peak RSS is reported as 0.
func maxRSSBytes(any) int64 { return 0 }

// selfCPU is not implemented off Linux: the parent then counts the whole
// child's CPU time.
func selfCPU() float64 { return 0 }
