package goka

import (
	"github.com/IBM/sarama"
)

// DefaultTableWriteCacheBytes is a size for [WithTableWriteCache] to start
// from: 1 MiB per partition (Kafka Streams' record cache has 10 MiB per
// instance).
const DefaultTableWriteCacheBytes = 1 << 20

// WithTableWriteCache turns on the table write cache, like Kafka Streams'
// record cache (https://kafka.apache.org/documentation/streams/developer-guide/memory-mgmt.html):
// within a flush interval only the last value of each key is written to the
// table topic and to local storage. Callbacks see the newest value at once
// (ctx.Value reads the cache first). The cache holds up to maxBytes of keys
// and values per partition, counting about 256 bytes for every message
// whose write it holds (its context waits for the flush), and is flushed
// when it is full, every
// [WithStorageFlushInterval] (default 1 s), and when the partition is
// revoked or the processor stops. A message whose table write is in the
// cache is not done, and its offset not committed, until the flushed value
// is acknowledged by Kafka and in local storage, so a crash loses nothing
// that was committed: the messages after the last commit are processed
// again, as without the cache.
//
// The trade-off: the table topic, views and the update callbacks of views
// see fewer intermediate values (the last of each interval), and commits
// wait up to the flush interval. ctx.Emit, ctx.Loopback and the outputs of
// callbacks are unaffected. Default: 0, off: every update is written, as in
// Goka. Negative sizes are rejected.
func WithTableWriteCache(maxBytes int) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.writeCacheBytes = maxBytes }
}

// cacheOverhead approximates the memory of one cache entry beyond its key
// and value.
const cacheOverhead = 96

// waitingOverhead approximates the memory of one message whose write the
// cache folds: its callback context stays alive until the flush, so the
// size bound counts it too.
const waitingOverhead = 256

// writeCache is a partition's table write cache. It belongs to the
// partition's goroutine, which runs the callbacks and the flushes, so it
// has no lock.
type writeCache struct {
	pp       *partitionProcessor
	maxBytes int
	entries  map[string]*cacheEntry
	order    []*cacheEntry // in order of first write, for the flush
	bytes    int
}

// cacheEntry is the newest write of a key and the callbacks whose writes it
// folds: each counts one pending completion until the flushed write is
// applied.
type cacheEntry struct {
	key     string
	data    []byte
	del     bool
	headers Headers
	waiting []*cbContext
}

// newWriteCache returns the cache of pp, or nil if it is off.
func newWriteCache(pp *partitionProcessor, maxBytes int) *writeCache {
	if maxBytes <= 0 {
		return nil
	}
	return &writeCache{pp: pp, maxBytes: maxBytes, entries: map[string]*cacheEntry{}}
}

// get returns the cached write of key, if any.
func (wc *writeCache) get(key string) (data []byte, del, ok bool) {
	if wc == nil {
		return nil, false, false
	}
	e, ok := wc.entries[key]
	if !ok {
		return nil, false, false
	}
	return e.data, e.del, true
}

// put caches c's write of its key; it reports false if the cache is off.
func (wc *writeCache) put(c *cbContext, data []byte, del bool, headers Headers) bool {
	if wc == nil {
		return false
	}
	c.mu.Lock()
	c.pending++
	c.mu.Unlock()
	e, ok := wc.entries[c.key]
	if !ok {
		e = &cacheEntry{key: c.key}
		wc.entries[c.key] = e
		wc.order = append(wc.order, e)
		wc.bytes += len(c.key) + cacheOverhead
	}
	wc.bytes += len(data) - len(e.data) + waitingOverhead
	e.data, e.del, e.headers = data, del, headers
	e.waiting = append(e.waiting, c)
	if wc.bytes >= wc.maxBytes {
		wc.flush()
	}
	return true
}

// flush writes the newest value of every cached key to the table topic, as
// a table write that completes all the callbacks it folds once it is in
// local storage (see unackedWrites).
func (wc *writeCache) flush() {
	if wc == nil || len(wc.order) == 0 {
		return
	}
	pp := wc.pp
	topic := pp.graph.GroupTable().Topic()
	for _, e := range wc.order {
		last := e.waiting[len(e.waiting)-1]
		w := &tableWrite{c: last, folded: e, key: e.key, value: e.data, del: e.del}
		w.seq = pp.unacked.Add(e.key, e.data, e.del)
		pp.stats.countOutput(topic, len(e.data))
		pp.producer.EmitWithHeaders(topic, e.key, e.data, e.headers).ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
			w.acked(msg, produceError(topic, w.key, err))
		})
	}
	clear(wc.entries)
	clear(wc.order)
	wc.order = wc.order[:0]
	wc.bytes = 0
}

// finishMore completes the other callbacks that w's write folded.
func (w *tableWrite) finishMore(err error) {
	if w.folded == nil {
		return
	}
	for _, c := range w.folded.waiting[:len(w.folded.waiting)-1] {
		c.finishOne(err, true)
	}
}
