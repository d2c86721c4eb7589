package tester

import (
	"slices"
	"sync"
	"time"

	"github.com/e3793d55/goka"
)

// clock is the wall clock of the tester's processors: it stands still
// until a test moves it with AdvanceTime or SetTime.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*clockTimer
}

type clockTimer struct {
	c  *clock
	at time.Time
	f  func()
}

// ClockStart is the time of a new Tester's clock: the Unix epoch.
var ClockStart = time.Unix(0, 0).UTC()

func newClock() *clock { return &clock{now: ClockStart} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc registers f to run when the clock reaches now+d, inside the
// AdvanceTime or SetTime that moves it there; a timer due already runs in
// the next one (AdvanceTime(0) runs it).
func (c *clock) AfterFunc(d time.Duration, f func()) goka.ClockTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &clockTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *clockTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	return true
}

// next removes and returns the earliest timer due at to, moving the clock
// to its time; with none due it moves the clock to to and returns nil.
func (c *clock) next(to time.Time) *clockTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first *clockTimer
	for _, t := range c.timers {
		if !t.at.After(to) && (first == nil || t.at.Before(first.at)) {
			first = t
		}
	}
	if first == nil {
		if to.After(c.now) {
			c.now = to
		}
		return nil
	}
	if first.at.After(c.now) {
		c.now = first.at
	}
	c.timers = slices.DeleteFunc(c.timers, func(t *clockTimer) bool { return t == first })
	return first
}

// Clock returns the wall clock of the processors of the tester (found by
// goka.WithTester): timers and punctuation on goka.WallClock fire only when
// the test moves it.
func (tt *Tester) Clock() goka.Clock { return tt.clock }

// Now returns the time of the tester's clock; it starts at ClockStart.
func (tt *Tester) Now() time.Time { return tt.clock.Now() }

// AdvanceTime moves the tester's clock forward by d: the wall-clock timers
// and punctuations due on the way fire in time order, each at its own
// time, and AdvanceTime returns once the system is idle, as Consume does.
// Nothing sleeps.
func (tt *Tester) AdvanceTime(d time.Duration) {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	tt.SetTime(tt.clock.Now().Add(d))
}

// SetTime moves the tester's clock to t (never backwards), as AdvanceTime.
func (tt *Tester) SetTime(t time.Time) {
	if h, ok := tt.t.(helper); ok {
		h.Helper()
	}
	if !tt.waitStartup() {
		return
	}
	// Held across the firings, as Consume holds it across its push: a
	// timer callback emitting through an emitter must not wait for itself.
	tt.settleMu.Lock()
	defer tt.settleMu.Unlock()
	for {
		timer := tt.clock.next(t)
		if timer == nil {
			break
		}
		timer.f() // returns once the partition handled it
		if !tt.settleLocked() {
			return
		}
	}
	tt.settleLocked()
}
