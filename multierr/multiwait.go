package multierr

import (
	"context"
	"sync"
)

// MultiWait waits for a fixed number of done channels, or for a context to
// end, whichever happens first. Create it with [NewMultiWait].
type MultiWait struct {
	ctx  context.Context
	done chan struct{} // closed when every added channel is closed

	mu        sync.Mutex
	num       int // channels expected
	added     int // channels passed to Add
	remaining int // expected channels not closed yet
}

// NewMultiWait returns a MultiWait that expects num channels to be passed to
// Add. With num <= 0 it is done at once.
func NewMultiWait(ctx context.Context, num int) *MultiWait {
	if num < 0 {
		num = 0
	}
	mw := &MultiWait{ctx: ctx, done: make(chan struct{}), num: num, remaining: num}
	if num == 0 {
		close(mw.done)
	}
	return mw
}

// Add registers a channel that is closed when one awaited thing is done. Add
// must be called at most num times; it panics when called more often.
//
// Add starts a goroutine that ends when done is closed or the context of the
// MultiWait ends.
func (m *MultiWait) Add(done <-chan struct{}) {
	m.mu.Lock()
	if m.added == m.num {
		m.mu.Unlock()
		panic("multierr: MultiWait.Add called more often than the number passed to NewMultiWait")
	}
	m.added++
	m.mu.Unlock()

	go func() {
		select {
		case <-done:
			m.finishOne()
		case <-m.ctx.Done():
		}
	}()
}

func (m *MultiWait) finishOne() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remaining--
	if m.remaining == 0 {
		close(m.done)
	}
}

// Done returns a channel that is closed once all num channels passed to Add
// are closed. It is not closed when the context ends.
func (m *MultiWait) Done() <-chan struct{} {
	return m.done
}

// Wait blocks until all num channels passed to Add are closed, returning
// true, or until the context ends, returning false. If both have happened,
// Wait returns true.
func (m *MultiWait) Wait() bool {
	select {
	case <-m.done:
		return true
	default:
	}
	select {
	case <-m.done:
		return true
	case <-m.ctx.Done():
		return false
	}
}
