// Package storage keeps the local copy of table partitions: the state of
// processors and the content of views.
//
// A [Storage] holds one partition of one table. A [Builder] creates the
// storage of a topic partition; pass one to goka.WithStorageBuilder or
// goka.WithViewStorageBuilder. This package has four storages:
//
//   - LevelDB, the default, on disk: [DefaultBuilder], [BuilderWithOptions],
//     [LevelDBBuilder], [New] and [NewLevelDB].
//   - Memory: [MemoryBuilder] and [NewMemory]. The tester package uses it.
//   - Null, which stores nothing: [NewNull].
//   - File, which appends values to a file and reads nothing: [NewFile].
//
// Redis lives in the subpackage storage/redis.
//
// # Layout on disk
//
// The LevelDB builders keep one LevelDB database per partition in the
// directory <path>/<topic>.<partition>, for example
// /tmp/goka/processor/counter/counter-table.3, and create it as needed. Keys
// and values are the raw bytes of the Kafka record's key and value. The
// storage offset, the Kafka offset of the last table record applied, is
// stored under the key "__offset" as an ASCII decimal int64, for example
// "42". Iterators never return "__offset", and Get, Has, Set and Delete
// reject it with [ErrReservedKey].
//
// LevelDB locks its directory. Opening a directory that another storage, in
// this process or another, holds open fails with an error naming the
// directory.
//
// # Batching and durability
//
// A LevelDB storage does not write each Set, Delete and SetOffset to LevelDB.
// It keeps them in memory, newest per key, and writes them all together with
// the offset in one LevelDB batch, which LevelDB applies atomically. Get and
// Has see pending writes at once, and GetOffset returns the last offset set.
//
// Pending writes are written ("flushed") when
//
//   - Flush is called: LevelDB storages implement [Flusher]; the processor
//     flushes before it commits input offsets and on revocation;
//   - they reach the flush size, about 1 MiB by default
//     ([WithFlushSize]), which bounds the memory used, whatever the table
//     size;
//   - a write comes one second or more after the last flush
//     ([WithFlushInterval]);
//   - MarkRecovered, Iterator, IteratorWithRange or Close is called.
//     Iterators read LevelDB directly, so they see every write made before
//     they were created, and none made after.
//
// Writes are not synced to disk (LevelDB's default; Goka does the same).
// After a crash of the process or the machine a storage may therefore be
// older than what was written last, but its values and its offset always
// match each other, because they are written in one batch. Recovery then
// replays the table topic from the stored offset and catches up. Calling
// Set on a key that was not flushed yet replaces the pending value, so a
// key updated many times between flushes is written once.
//
// A storage may be used by one writer and any number of readers at once.
// SetOffset may be called from another goroutine than Set, for example from
// a producer's acknowledgement callback.
//
// # Compatibility with Goka
//
// The directory layout, the raw keys and values and the "__offset" key and
// format are those of Goka's LevelDB storage: a database written by Goka
// opens with this package, keeps its offset and data, and the other way
// round. [DefaultBuilder], [BuilderWithOptions], [New], [NewMemory],
// [MemoryBuilder], [NewNull], [NewFile] and [NewMultiIterator] have Goka's
// signatures.
//
// The behaviour differs where Goka's is inconsistent:
//
//   - Goka's LevelDB storage writes each Set and, after recovery, each
//     SetOffset separately; this package batches them as described above.
//   - The key "__offset" is rejected instead of overwriting the offset.
//   - Iterator.Seek(k) positions every iterator so that the next Next
//     returns the first key >= k (Goka's LevelDB iterator skipped that key,
//     and its memory iterator filtered by prefix).
//   - IteratorWithRange(start, limit) covers [start, limit) in every storage
//     (Goka's memory storage included limit).
//   - The memory storage copies values on Set and Get.
package storage
