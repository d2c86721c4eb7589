package storage

import (
	"bytes"
	"container/heap"
	"errors"
)

// multiIterator merges iterators that each return keys in order.
type multiIterator struct {
	iters []Iterator
	heap  iterHeap // iterators positioned on a key, smallest key first
	cur   int      // index in iters of the current key; -1 if none
	fresh bool     // heads not loaded yet: at the start or after Seek
	err   error
}

// NewMultiIterator returns an iterator that merges iters, each returning its
// keys in order, into one sequence in key order (by bytes.Compare). This is
// how a View iterates over all partitions of a table. A key present in
// several iterators is returned once per iterator, in the order of iters.
//
// Key and Value are valid only after Next returned true. Seek(k) seeks every
// iterator; the following Next returns the first key >= k. If one iterator
// fails, Next returns false and Err reports its error. Release releases all
// iterators. The merged iterator is not safe for concurrent use.
func NewMultiIterator(iters []Iterator) Iterator {
	return &multiIterator{
		iters: iters,
		heap:  iterHeap{iters: iters, idx: make([]int, 0, len(iters))},
		cur:   -1,
		fresh: true,
	}
}

func (m *multiIterator) Next() bool {
	if m.err != nil {
		return false
	}
	if m.fresh {
		m.fresh = false
		m.heap.idx = m.heap.idx[:0]
		for i, it := range m.iters {
			if it.Next() {
				m.heap.idx = append(m.heap.idx, i)
			} else if m.failed(it) {
				return false
			}
		}
		heap.Init(&m.heap)
	} else if m.cur >= 0 {
		// Advance the iterator that supplied the current key: it is
		// the top of the heap.
		if m.iters[m.cur].Next() {
			heap.Fix(&m.heap, 0)
		} else {
			heap.Pop(&m.heap)
			if m.failed(m.iters[m.cur]) {
				return false
			}
		}
	}
	if len(m.heap.idx) == 0 {
		m.cur = -1
		return false
	}
	m.cur = m.heap.idx[0]
	return true
}

// failed records the error of an iterator that stopped, if it stopped on an
// error.
func (m *multiIterator) failed(it Iterator) bool {
	if err := it.Err(); err != nil {
		m.err, m.cur = err, -1
		return true
	}
	return false
}

func (m *multiIterator) Err() error {
	if m.err != nil {
		return m.err
	}
	var errs []error
	for _, it := range m.iters {
		if err := it.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *multiIterator) Key() []byte {
	if m.cur < 0 {
		return nil
	}
	return m.iters[m.cur].Key()
}

func (m *multiIterator) Value() ([]byte, error) {
	if m.cur < 0 {
		return nil, nil
	}
	return m.iters[m.cur].Value()
}

func (m *multiIterator) Release() {
	for _, it := range m.iters {
		it.Release()
	}
	m.heap.idx = m.heap.idx[:0]
	m.cur = -1
}

func (m *multiIterator) Seek(key []byte) bool {
	found := false
	for _, it := range m.iters {
		if it.Seek(key) {
			found = true
		}
	}
	m.cur, m.fresh, m.err = -1, true, nil
	return found
}

// iterHeap is a min-heap of indexes into iters, ordered by the current key
// of each iterator and then by index, so equal keys come in iterator order.
type iterHeap struct {
	iters []Iterator
	idx   []int
}

func (h *iterHeap) Len() int { return len(h.idx) }

func (h *iterHeap) Less(a, b int) bool {
	ia, ib := h.idx[a], h.idx[b]
	if c := bytes.Compare(h.iters[ia].Key(), h.iters[ib].Key()); c != 0 {
		return c < 0
	}
	return ia < ib
}

func (h *iterHeap) Swap(a, b int) { h.idx[a], h.idx[b] = h.idx[b], h.idx[a] }

func (h *iterHeap) Push(x any) { h.idx = append(h.idx, x.(int)) }

func (h *iterHeap) Pop() any {
	n := len(h.idx) - 1
	x := h.idx[n]
	h.idx = h.idx[:n]
	return x
}
