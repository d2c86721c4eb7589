package table

import (
	"sync"
	"sync/atomic"
)

// Pending are the table writes of one partition that Kafka has not
// acknowledged yet, and the acknowledgements waiting to be applied. The
// partition's goroutine owns the writes: it adds them (Add), reads them
// (Get) and, after applying an acknowledged write to local storage,
// forgets it (Forget); none of that takes a lock. The acknowledgement
// goroutine hands acknowledgements over with Queue, which never blocks;
// the partition's goroutine takes them in batches (Take, Recycle) when
// Signal fires. A is what the caller needs to apply an acknowledgement.
type Pending[A any] struct {
	inflight atomic.Int64 // writes added and not yet Done
	seq      uint64
	latest   map[string]pendingWrite // the newest unacknowledged write of each key

	mu     sync.Mutex
	acked  []A           // queued by the acknowledgement goroutine
	spare  []A           // the previous batch, reused
	signal chan struct{} // has a value when acked may be non-empty
}

type pendingWrite struct {
	seq   uint64
	value []byte // nil for a delete
	del   bool
}

// NewPending returns an empty Pending.
func NewPending[A any]() *Pending[A] {
	return &Pending[A]{latest: make(map[string]pendingWrite), signal: make(chan struct{}, 1)}
}

// Add records a write of key and returns its sequence number.
func (p *Pending[A]) Add(key string, value []byte, del bool) uint64 {
	p.inflight.Add(1)
	p.seq++
	p.latest[key] = pendingWrite{seq: p.seq, value: value, del: del}
	return p.seq
}

// Get returns a copy of the newest unacknowledged value of key; ok is
// false when key has none, del true when it is a delete.
func (p *Pending[A]) Get(key string) (value []byte, del, ok bool) {
	w, ok := p.latest[key]
	if !ok || w.del {
		return nil, w.del, ok
	}
	// A copy: codecs may hand the bytes to a callback, which may keep or
	// modify them.
	return append(make([]byte, 0, len(w.value)), w.value...), false, true
}

// Forget drops write seq of key once it is in local storage, unless a
// newer write of key is pending: that one stays visible.
func (p *Pending[A]) Forget(key string, seq uint64) {
	if w, ok := p.latest[key]; ok && w.seq == seq {
		delete(p.latest, key)
	}
}

// Done counts one added write as finished: applied, or failed. It may be
// called from any goroutine.
func (p *Pending[A]) Done() { p.inflight.Add(-1) }

// InFlight returns the number of writes added and not yet Done.
func (p *Pending[A]) InFlight() int64 { return p.inflight.Load() }

// Queue hands an acknowledgement to the partition's goroutine. It may be
// called from any goroutine and never blocks.
func (p *Pending[A]) Queue(a A) {
	p.mu.Lock()
	p.acked = append(p.acked, a)
	p.mu.Unlock()
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

// Signal has a value when acknowledgements may be queued.
func (p *Pending[A]) Signal() <-chan struct{} { return p.signal }

// Take returns the queued acknowledgements, in the order they were queued;
// hand the slice back with Recycle once done.
func (p *Pending[A]) Take() []A {
	p.mu.Lock()
	defer p.mu.Unlock()
	batch := p.acked
	p.acked = p.spare[:0]
	p.spare = nil
	return batch
}

// Recycle takes back a batch from Take for reuse.
func (p *Pending[A]) Recycle(batch []A) {
	clear(batch) // drop the references the batch holds
	p.mu.Lock()
	p.spare = batch[:0]
	p.mu.Unlock()
}
