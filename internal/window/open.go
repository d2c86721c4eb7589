package window

import (
	"cmp"
	"slices"
)

// Open holds the aggregates of one partition's open time windows
// (tumbling and hopping), grouped by window start. With it the partition
// reads a window without its store, knows that a new window is new without
// a store lookup that misses, and finds the windows that a step of stream
// time closes without scanning the store's index.
//
// Open is authoritative for the windows that start after From: such a
// window is held exactly while it exists and is open. Windows that start
// at or before From (those in the store when the partition started, and
// those evicted) may be in the store only; the caller reads and closes
// them there. When the held bytes pass the limit, the oldest starts are
// evicted and From moves up to them, so Open stays within its limit at
// the cost of store reads for those windows.
//
// Only the partition's goroutine uses an Open.
type Open struct {
	from   int64
	limit  int64
	bytes  int64
	starts map[int64]map[string][]byte
	order  []int64 // the starts of starts, ascending
	evict  func(start int64, values map[string][]byte)
	// lastLen is the number of windows of the last start dropped.
	lastLen int
}

// OpenEntryOverhead approximates the bytes of one held window besides its
// key and value (map slots, string and slice headers).
const OpenEntryOverhead = 64

// NewOpen returns an empty Open, authoritative for the windows that start
// after from, holding at most limit bytes. evict, if not nil, is called
// with the windows of every start evicted, before From moves to it.
func NewOpen(from, limit int64, evict func(start int64, values map[string][]byte)) *Open {
	return &Open{from: from, limit: limit, starts: make(map[int64]map[string][]byte), evict: evict}
}

// From is the start at or before which windows may be in the store only.
func (o *Open) From() int64 { return o.from }

// Bytes is the approximate size of the held windows.
func (o *Open) Bytes() int64 { return o.bytes }

// Get returns the aggregate of the window of key that starts at start.
// known is false if start <= From: ask the store. Otherwise ok reports
// whether the window exists.
func (o *Open) Get(key string, start int64) (value []byte, ok, known bool) {
	if start <= o.from {
		return nil, false, false
	}
	value, ok = o.starts[start][key]
	return value, ok, true
}

// Set records the aggregate of the window of key that starts at start, as
// the partition wrote it; del records its deletion. Windows at or before
// From are not held.
func (o *Open) Set(key string, start int64, value []byte, del bool) {
	if start <= o.from {
		return
	}
	g := o.starts[start]
	if old, ok := g[key]; ok {
		o.bytes -= int64(len(key) + len(old) + OpenEntryOverhead)
		if del {
			delete(g, key)
		}
	}
	if del {
		return
	}
	if g == nil {
		// Sized like the last start's: a key's windows come and go
		// together, so the next start usually holds as many.
		g = make(map[string][]byte, o.lastLen)
		o.starts[start] = g
		i, _ := slices.BinarySearch(o.order, start)
		o.order = slices.Insert(o.order, i, start)
	}
	g[key] = value
	o.bytes += int64(len(key) + len(value) + OpenEntryOverhead)
	for o.bytes > o.limit && len(o.order) > 0 {
		o.evictOldest()
	}
}

// evictOldest drops the windows of the oldest start and moves From to it.
func (o *Open) evictOldest() {
	start := o.order[0]
	if o.evict != nil {
		o.evict(start, o.starts[start])
	}
	o.drop(start)
	o.from = max(o.from, start)
}

func (o *Open) drop(start int64) {
	o.lastLen = len(o.starts[start])
	for k, v := range o.starts[start] {
		o.bytes -= int64(len(k) + len(v) + OpenEntryOverhead)
	}
	delete(o.starts, start)
	o.order = o.order[1:]
}

// Close removes the windows that start at or before upTo and calls fn for
// each of their starts, oldest first, with the keys in store order (by
// length, then bytes, as Key encodes them) and the aggregates by key.
func (o *Open) Close(upTo int64, fn func(start int64, keys []string, values map[string][]byte)) {
	var keys []string
	for len(o.order) > 0 && o.order[0] <= upTo {
		start := o.order[0]
		g := o.starts[start]
		keys = keys[:0]
		for k := range g {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			if c := cmp.Compare(len(a), len(b)); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		o.drop(start)
		fn(start, keys, g)
	}
}
