package storage

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// memory is the memory storage: a map, with the sorted key list that
// iterators need maintained lazily (see sortedKeysLocked).
type memory struct {
	mu   sync.RWMutex
	data map[string]memValue

	// gen counts the iterators created. A value written in the current
	// generation is shared with no iterator, so Set may overwrite it in
	// place: a counter's update then allocates nothing and writes no
	// pointer into the map, which otherwise costs a processor with memory
	// storage more in allocation, write barriers and GC marking than
	// LevelDB's write buffer costs (issue 17).
	gen uint64

	// sorted holds keys in order as of the last sort. It is shared with
	// iterators, so it is never modified in place, only replaced.
	sorted []string
	// added holds keys added since the last sort, unsorted.
	added []string
	// removed is set when a key was deleted since the last sort: sorted may
	// then hold keys that are gone, and added may hold duplicates.
	removed bool
	// stale is set when added grew too large to be worth merging; the next
	// sort then starts over from the map.
	stale bool

	offset    int64
	hasOffset bool
}

// NewMemory returns an empty storage that keeps everything in memory. It is
// the storage of the tester package and of [MemoryBuilder].
//
// It differs from LevelDB in that it keeps no data across processes, Close
// keeps the data (the storage stays usable), and the offset is not stored
// under a key. Set copies the value, Get returns a copy, Set with a nil
// value fails, and the key "__offset" is rejected as in LevelDB. Iterators
// work on a snapshot taken when they are created. It is safe for concurrent
// use.
func NewMemory() Storage {
	return &memory{data: make(map[string]memValue)}
}

// memValue is a stored value: an owned copy, modified in place only while
// gen is the storage's generation (no iterator holds it).
type memValue struct {
	v   []byte
	gen uint64
}

func (m *memory) Open() error  { return nil }
func (m *memory) Close() error { return nil }

func (m *memory) Has(key string) (bool, error) {
	if key == offsetKey {
		return false, fmt.Errorf("storage: memory: has: %w", ErrReservedKey)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.data[key]
	return ok, nil
}

func (m *memory) Get(key string) ([]byte, error) {
	if key == offsetKey {
		return nil, fmt.Errorf("storage: memory: get: %w", ErrReservedKey)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	value, ok := m.data[key]
	if !ok {
		return nil, nil
	}
	return append(make([]byte, 0, len(value.v)), value.v...), nil
}

func (m *memory) Set(key string, value []byte) error {
	if key == offsetKey {
		return fmt.Errorf("storage: memory: set: %w", ErrReservedKey)
	}
	if value == nil {
		return fmt.Errorf("storage: memory: set %q: nil value (use Delete)", key)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.data[key]
	if ok && old.gen == m.gen && len(old.v) == len(value) {
		copy(old.v, value)
		return nil
	}
	if !ok && !m.stale {
		m.added = append(m.added, key)
		// Set/Delete churn without iterating could grow added without
		// bound; past the size of the table, a full sort is cheaper.
		if len(m.added) > len(m.data)+64 {
			m.sorted, m.added, m.stale = nil, nil, true
		}
	}
	m.data[key] = memValue{v: append(make([]byte, 0, len(value)), value...), gen: m.gen}
	return nil
}

func (m *memory) Delete(key string) error {
	if key == offsetKey {
		return fmt.Errorf("storage: memory: delete: %w", ErrReservedKey)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data[key]; ok {
		delete(m.data, key)
		m.removed = true
	}
	return nil
}

func (m *memory) GetOffset(def int64) (int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.hasOffset {
		return def, nil
	}
	return m.offset, nil
}

func (m *memory) SetOffset(offset int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.offset, m.hasOffset = offset, true
	return nil
}

func (m *memory) MarkRecovered() error { return nil }

func (m *memory) Iterator() (Iterator, error) {
	return m.newIterator(nil, nil), nil
}

// IteratorWithRange returns an iterator over [start, limit), or over the keys
// with prefix start if limit is empty. (Goka's memory storage includes limit;
// this one agrees with LevelDB.)
func (m *memory) IteratorWithRange(start, limit []byte) (Iterator, error) {
	if len(limit) == 0 {
		limit = prefixLimit(start)
	}
	return m.newIterator(start, limit), nil
}

// newIterator snapshots the keys in [start, limit) (limit nil: no upper
// bound) and their values.
func (m *memory) newIterator(start, limit []byte) *memIterator {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := m.sortedKeysLocked()
	lo := searchKeys(keys, start)
	hi := len(keys)
	if limit != nil {
		hi = searchKeys(keys, limit)
	}
	if hi < lo {
		hi = lo
	}
	keys = keys[lo:hi:hi]
	values := make([][]byte, len(keys))
	for i, k := range keys {
		values[i] = m.data[k].v
	}
	m.gen++ // the values are shared with the iterator from now on
	return &memIterator{keys: keys, values: values, pos: -1}
}

// searchKeys returns the index of the first key >= k.
func searchKeys(keys []string, k []byte) int {
	return sort.Search(len(keys), func(i int) bool { return keys[i] >= string(k) })
}

// prefixLimit returns the smallest key greater than every key with the given
// prefix, or nil if there is none (the prefix is empty or all 0xff).
func prefixLimit(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if c := prefix[i]; c < 0xff {
			limit := bytes.Clone(prefix[:i+1])
			limit[i] = c + 1
			return limit
		}
	}
	return nil
}

// sortedKeysLocked returns all keys in order. Instead of sorting every key
// after each change, it sorts only the keys added since the last call and
// merges them into the previous order, dropping deleted keys.
func (m *memory) sortedKeysLocked() []string {
	switch {
	case m.stale:
		keys := make([]string, 0, len(m.data))
		for k := range m.data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		m.sorted, m.added, m.removed, m.stale = keys, m.added[:0], false, false
		return m.sorted
	case len(m.added) == 0 && !m.removed:
		return m.sorted
	}

	slices.Sort(m.added)
	keys := make([]string, 0, len(m.data))
	appendKey := func(k string) {
		if n := len(keys); n > 0 && keys[n-1] == k {
			return // added again after a delete
		}
		if m.removed {
			if _, ok := m.data[k]; !ok {
				return
			}
		}
		keys = append(keys, k)
	}
	old, add := m.sorted, m.added
	for len(old) > 0 && len(add) > 0 {
		if old[0] <= add[0] {
			appendKey(old[0])
			old = old[1:]
		} else {
			appendKey(add[0])
			add = add[1:]
		}
	}
	for _, k := range old {
		appendKey(k)
	}
	for _, k := range add {
		appendKey(k)
	}
	clear(m.added)
	m.sorted, m.added, m.removed = keys, m.added[:0], false
	return m.sorted
}

// memIterator iterates over a snapshot of a memory storage.
type memIterator struct {
	keys   []string
	values [][]byte
	pos    int // current entry; -1 before the first Next
	next   int // entry the next Next moves to
	key    []byte
}

func (i *memIterator) Next() bool {
	if i.next >= len(i.keys) {
		i.pos = len(i.keys)
		return false
	}
	i.pos = i.next
	i.next++
	i.key = append(i.key[:0], i.keys[i.pos]...)
	return true
}

func (i *memIterator) valid() bool { return i.pos >= 0 && i.pos < len(i.keys) }

func (i *memIterator) Err() error { return nil }

// Key returns the current key. The slice is valid until the next call to
// Next and must not be modified.
func (i *memIterator) Key() []byte {
	if !i.valid() {
		return nil
	}
	return i.key
}

// Value returns the current value. It must not be modified.
func (i *memIterator) Value() ([]byte, error) {
	if !i.valid() {
		return nil, nil
	}
	return i.values[i.pos], nil
}

func (i *memIterator) Release() {
	i.keys, i.values, i.pos, i.next = nil, nil, -1, 0
}

func (i *memIterator) Seek(key []byte) bool {
	i.next = searchKeys(i.keys, key)
	i.pos = -1
	return i.next < len(i.keys)
}
