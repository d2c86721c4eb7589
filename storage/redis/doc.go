// Package redis keeps the local storage of table partitions in Redis, as
// Goka's storage/redis does, with the same key layout.
//
// Use [RedisBuilder] where a [storage.Builder] is expected, for example with
// goka.WithStorageBuilder or goka.WithViewStorageBuilder:
//
//	import (
//		goredis "github.com/redis/go-redis/v9"
//		"github.com/e3793d55/goka/storage/redis"
//	)
//
//	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	defer client.Close()
//	builder := redis.RedisBuilder(client, "my-app")
//
// The client is github.com/redis/go-redis/v9, not gopkg.in/redis.v5 as in
// Goka: a program that moves from Goka changes the client import (and the
// client's construction, whose options differ) along with the goka import.
// The storage never closes the client.
//
// # Key layout
//
// Each partition is one Redis hash named <namespace>:<topic>:<partition>,
// for example "my-app:my-group-table:3". Every table key is a field of the
// hash, holding the raw value bytes. The field __offset holds the storage
// offset (the Kafka offset of the last table record applied) as ASCII
// decimal. This is Goka's layout: a hash written by Goka opens with this
// package and the other way round. The key "__offset" is therefore reserved:
// Get, Has, Set and Delete return [ErrReservedKey] for it, and iterators never
// return it.
//
// # Writes, buffering and Flush
//
// Set, Delete and SetOffset are buffered in memory and written to Redis by
// Flush (the storage implements [storage.Flusher]) in one MULTI/EXEC
// transaction, values and offset together, so Redis never holds an offset
// ahead of the values. Flush runs by itself when [DefaultWriteBuffer] writes
// (see [WithWriteBuffer]) are pending, and MarkRecovered and Close flush too.
// Get, Has and the iterators see buffered writes at once. A crash loses the
// buffered writes together with their offset, so the next start replays them
// from Kafka. [WithWriteBuffer](0) writes every call through, as Goka does.
// One goroutine may write while others read.
//
// # Iteration
//
// Redis hashes are unordered. An iterator reads the whole hash (or, for a
// prefix or range, the fields matching their common prefix) with an HSCAN
// cursor loop when it is created, overlays the buffered writes, and sorts the
// keys in byte order, so the iterators of several partitions merge correctly
// with storage.NewMultiIterator. It holds that snapshot in memory. Writes to
// Redis while the scan runs may or may not be seen, as with HSCAN itself.
// IteratorWithRange(start, limit) covers [start, limit) if limit is set and
// the keys with the prefix start if limit is empty. Seek(k) makes the next
// Next return the first key >= k.
//
// # Timeouts
//
// Every round trip to Redis (a command, a transaction, one HSCAN batch) runs
// under a context with a timeout, [DefaultTimeout] unless [WithTimeout] says
// otherwise, so a dead Redis gives an error, never a hang. go-redis applies
// context deadlines to the socket only if the client has
// ContextTimeoutEnabled: true; without it, each attempt is bounded by the
// client's ReadTimeout and WriteTimeout (5 s by default) and its retries
// (MaxRetries) by the timeout. [New] rejects a client whose reads or writes
// could block forever (disabled timeouts without ContextTimeoutEnabled).
// After Redis comes back, go-redis may keep failing fast for about a second
// until its pool has redialed.
//
// # Data loss and recovery
//
// Kafka's table topic is the source of truth; Redis is a cache of it. If
// Redis loses a partition's hash (a restart without persistence, FLUSHALL,
// eviction under maxmemory, a deleted key), the __offset field is gone with
// it. A storage that has seen the offset field (it read or wrote it) notices
// at its next call that reaches Redis: Get, Has, GetOffset, iterators and
// Flush return [ErrDataLost], every call does from then on, and Close drops
// the buffer. A flush that finds the offset gone deletes the hash again after
// its transaction, so that no offset survives without the values before it.
// (A storage that has not seen an offset yet cannot tell a lost hash from an
// empty one.)
//
// The processor (or view) must then stop and recover the partition from
// Kafka: restarting it, or the partition being assigned again, opens a new
// storage, whose GetOffset finds no offset and returns the default, so
// recovery reads the table topic from the oldest offset. Run Redis with
// persistence (appendonly yes) and maxmemory-policy noeviction to avoid the
// long recovery.
//
// # Differences from Goka
//
//   - The client is go-redis v9 instead of gopkg.in/redis.v5.
//   - Goka's iterator returns only the first HSCAN batch (about ten keys) in
//     Redis's order; here iterators return the whole hash (or range) in
//     sorted byte order.
//   - Goka's IteratorWithRange uses start as a MATCH pattern (so glob
//     characters in keys misbehave) and ignores limit; here start and limit
//     are honoured as with LevelDB and glob characters are escaped.
//   - Seek works (it was a no-op).
//   - Goka writes every call at once, values and offset in separate
//     commands; here writes are buffered and flushed atomically (see above).
//   - Every call has a timeout; Goka's calls could hang with the client.
//   - Loss of the hash is reported as [ErrDataLost] instead of serving empty
//     values and later writing an offset that claims they are there.
//   - The key "__offset" is rejected instead of overwriting the offset.
//   - Close closes the storage (later calls return [ErrClosed]) but not the
//     client; Goka's Close did nothing.
//   - New and RedisBuilder accept options ([WithTimeout], [WithWriteBuffer]);
//     calls with Goka's arguments compile unchanged.
//
// # Errors
//
// New and the builder return an error if the client is nil, the namespace,
// topic or hash name is empty, the partition is negative, an option is
// invalid, or Redis does not answer PING, naming the address, e.g.
//
//	redis storage: ping 127.0.0.1:6390 (hash "ns:t:0"): dial tcp 127.0.0.1:6390: connect: connection refused
//
// Errors of Redis calls name the hash, the address and the operation and wrap
// the go-redis error, e.g.
//
//	redis storage: hash "ns:t:0" at 127.0.0.1:6390: get "k": no answer within 5s: context deadline exceeded
//
// so errors.Is works with context.DeadlineExceeded and errors.As with the
// go-redis error types. The sentinels are [ErrClosed], [ErrDataLost] and
// [ErrReservedKey]. A Get of a missing key is not an error: it returns nil,
// nil. A failed Flush keeps the writes buffered and can be retried.
package redis
