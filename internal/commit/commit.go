// Package commit tracks which messages of a topic partition are done, so
// that the committed offset never passes a message still in flight, and
// counts operations in flight (Counter) for those that only wait for all.
//
// Messages complete out of order (their emits are acknowledged by
// different brokers, DeferCommit functions run whenever the user calls
// them), but a consumer-group commit covers every offset below it. The
// Tracker hands out the highest offset whose predecessors are all done.
package commit

import (
	"cmp"
	"slices"
	"sync"
)

// Tracker tracks in-flight offsets of one topic partition. Offsets must be
// added in increasing order; Done may be called in any order and from any
// goroutine.
type Tracker struct {
	mu      sync.Mutex
	pending []entry       // in offset order
	head    int           // index of the first entry not yet committed
	idle    chan struct{} // handed out by Idle; closed when nothing is pending
}

type entry struct {
	offset int64
	done   bool
}

// Add registers offset as in flight.
func (t *Tracker) Add(offset int64) {
	t.mu.Lock()
	t.pending = append(t.pending, entry{offset: offset})
	t.mu.Unlock()
}

// Done marks offset as done. It returns the offset to commit (the next
// offset to consume, Kafka style: last done + 1) and true when the
// contiguous done prefix grew.
func (t *Tracker) Done(offset int64) (next int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Binary search (offsets are added in increasing order): completions
	// are mostly in order, but the table write cache completes a whole
	// flush interval's messages key by key, far out of order.
	if i, found := slices.BinarySearchFunc(t.pending[t.head:], offset, func(e entry, o int64) int {
		return cmp.Compare(e.offset, o)
	}); found {
		t.pending[t.head+i].done = true
	}
	last := int64(-1)
	for t.head < len(t.pending) && t.pending[t.head].done {
		last = t.pending[t.head].offset
		t.head++
		ok = true
	}
	// Compact once the committed prefix dominates, keeping appends cheap.
	if t.head > 1024 && t.head*2 > len(t.pending) {
		n := copy(t.pending, t.pending[t.head:])
		t.pending = t.pending[:n]
		t.head = 0
	}
	if t.idle != nil && t.head == len(t.pending) {
		close(t.idle)
		t.idle = nil
	}
	if !ok {
		return 0, false
	}
	return last + 1, true
}

// closedChan is what Idle returns when nothing is pending.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Idle returns a channel that is closed once no offset is pending (at
// once if none is). Offsets added after the call do not reopen it.
func (t *Tracker) Idle() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head == len(t.pending) {
		return closedChan
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	return t.idle
}

// Pending returns the number of offsets not yet done or blocked behind
// one that is not done.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending) - t.head
}

// Counter counts operations in flight, such as an emitter's messages, and
// tells when none is. Its zero value is ready to use; it is safe for
// concurrent use.
type Counter struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // handed out by Idle; closed when n reaches 0
}

// Add counts one more operation in flight.
func (c *Counter) Add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

// Done counts one operation finished.
func (c *Counter) Done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	if c.n == 0 && c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
}

// N returns the number of operations in flight.
func (c *Counter) N() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Idle returns a channel that is closed once no operation is in flight (at
// once if none is).
func (c *Counter) Idle() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		return closedChan
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	return c.idle
}
