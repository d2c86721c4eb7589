package goka

import "time"

// SetEmitterFinishTimeout shortens how long Finish waits, for the tests of
// package goka_test.
func SetEmitterFinishTimeout(e *Emitter, d time.Duration) { e.finishTimeout = d }
