package redis

import (
	"bytes"
	"slices"
	"sort"
)

type entry struct {
	key   []byte
	value []byte
}

// iterator iterates over a sorted snapshot. next is the index of the entry
// the next Next moves to; cur is the index of the current entry, or -1 before
// the first Next, after the last one and after Seek.
type iterator struct {
	entries []entry
	next    int
	cur     int
}

func newIterator(found map[string][]byte) *iterator {
	entries := make([]entry, 0, len(found))
	for k, v := range found {
		entries = append(entries, entry{key: []byte(k), value: v})
	}
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
	return &iterator{entries: entries, cur: -1}
}

// Next moves to the next key; it returns false when the keys are exhausted or
// the iterator was released.
func (it *iterator) Next() bool {
	if it.next >= len(it.entries) {
		it.cur = -1
		return false
	}
	it.cur = it.next
	it.next++
	return true
}

// Err returns nil: the snapshot is read when the iterator is created, and
// errors are returned then.
func (it *iterator) Err() error { return nil }

// Key returns the current key, or nil if there is none (before the first
// Next, after the last key and after Seek).
func (it *iterator) Key() []byte {
	if it.cur < 0 {
		return nil
	}
	return it.entries[it.cur].key
}

// Value returns the current value, or nil if there is no current key.
func (it *iterator) Value() ([]byte, error) {
	if it.cur < 0 {
		return nil, nil
	}
	return it.entries[it.cur].value, nil
}

// Release drops the snapshot; Next returns false afterwards.
func (it *iterator) Release() {
	it.entries = nil
	it.next, it.cur = 0, -1
}

// Seek positions the iterator so that the next call to Next returns the
// first key >= key (also backwards). It reports whether such a key exists.
// Key and Value return nil until that Next.
func (it *iterator) Seek(key []byte) bool {
	it.next = sort.Search(len(it.entries), func(i int) bool { return bytes.Compare(it.entries[i].key, key) >= 0 })
	it.cur = -1
	return it.next < len(it.entries)
}
