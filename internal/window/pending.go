package window

import (
	"bytes"
	"slices"
	"sync"

	"github.com/e3793d55/goka/storage"
)

// Pending are a partition's window-store writes not yet in local storage:
// produced writes wait for their acknowledgement, local ones (index
// entries) for the write they belong to. Reads go through it first (Get,
// Range), so a callback sees its own writes at once. The partition's
// goroutine owns the writes; the acknowledgement goroutine only Queues.
type Pending[A any] struct {
	seq    uint64
	latest map[string]Entry

	mu     sync.Mutex
	acked  []A
	spare  []A // the slice Take returned before, reused by Queue
	signal chan struct{}
}

// Entry is a pending write.
type Entry struct {
	Seq   uint64
	Key   []byte
	Str   string // Key as a string, set by Add (the storage takes strings)
	Value []byte // nil for a delete
	Del   bool
}

// NewPending returns an empty Pending.
func NewPending[A any]() *Pending[A] {
	return &Pending[A]{latest: make(map[string]Entry), signal: make(chan struct{}, 1)}
}

// Add records a write of key and returns it.
func (p *Pending[A]) Add(key, value []byte, del bool) Entry {
	p.seq++
	e := Entry{Seq: p.seq, Key: key, Str: string(key), Value: value, Del: del}
	p.latest[e.Str] = e
	return e
}

// Get returns the newest pending write of key.
func (p *Pending[A]) Get(key []byte) (Entry, bool) {
	e, ok := p.latest[string(key)]
	return e, ok
}

// Forget drops e once it is in local storage, unless a newer write of its
// key is pending.
func (p *Pending[A]) Forget(e Entry) {
	if cur, ok := p.latest[e.Str]; ok && cur.Seq == e.Seq {
		delete(p.latest, e.Str)
	}
}

// Len is the number of keys with pending writes.
func (p *Pending[A]) Len() int { return len(p.latest) }

// Queue hands an acknowledgement to the partition's goroutine; it never
// blocks.
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

// Take returns the queued acknowledgements. The slice is valid until the
// next Take, which reuses it.
func (p *Pending[A]) Take() []A {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.acked
	clear(p.spare) // drop the references of the last batch
	p.acked, p.spare = p.spare[:0], out
	return out
}

// Range calls fn for every key in [start, limit) of st overlaid with the
// pending writes, in key order, until fn returns false. limit nil means no
// bound.
func (p *Pending[A]) Range(st storage.Storage, start, limit []byte, fn func(key, value []byte) bool) error {
	var over []Entry
	for _, e := range p.latest {
		if bytes.Compare(e.Key, start) >= 0 && (limit == nil || bytes.Compare(e.Key, limit) < 0) {
			over = append(over, e)
		}
	}
	slices.SortFunc(over, func(a, b Entry) int { return bytes.Compare(a.Key, b.Key) })
	it, err := st.IteratorWithRange(start, limit)
	if err != nil {
		return err
	}
	defer it.Release()
	i := 0
	emitOver := func(e Entry) bool { return e.Del || fn(e.Key, e.Value) }
	for it.Next() {
		k := it.Key()
		for i < len(over) && bytes.Compare(over[i].Key, k) < 0 {
			if !emitOver(over[i]) {
				return nil
			}
			i++
		}
		if i < len(over) && bytes.Equal(over[i].Key, k) {
			if !emitOver(over[i]) {
				return nil
			}
			i++
			continue
		}
		v, err := it.Value()
		if err != nil {
			return err
		}
		if !fn(bytes.Clone(k), bytes.Clone(v)) {
			return nil
		}
	}
	for ; i < len(over); i++ {
		if !emitOver(over[i]) {
			return nil
		}
	}
	return it.Err()
}
