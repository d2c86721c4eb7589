package tester

import "time"

// SetWaitTimeout shortens the waits of tt, so that tests of a component
// that never starts do not take the default 10 s.
func SetWaitTimeout(tt *Tester, d time.Duration) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.timeout = d
}
