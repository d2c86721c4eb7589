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
//   - Flush is called: LevelDB storages implement [Flusher]; a processor
//     flushes every goka.WithStorageFlushInterval (1 s) and when a partition
//     is revoked or stops. Input offsets are committed without waiting for a
//     flush: recovery trusts the table topic, and the storage offset only
//     says how far the storage got, so a storage older than the commits is
//     caught up from the topic;
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
// # Concurrency
//
// Storages must be safe for concurrent use; the bundled ones lock
// internally. Who calls what:
//
//   - While a table partition recovers, or a view or join follows it, one
//     goroutine applies the records: Set, Delete, SetOffset, MarkRecovered.
//   - A processor's group table gets every write (Set, Delete, SetOffset,
//     Flush, Close) from the partition's goroutine. Table writes reach it
//     once Kafka acknowledged them, in that order; until then goka keeps
//     them in memory, so a write Kafka refused never reaches the storage.
//   - Get, Has and the iterators come from any goroutine: the partition's
//     callbacks, Processor.Get, View.Get, VisitAll, web handlers.
//   - View.Evict calls Delete from the caller's goroutine while the view's
//     goroutine applies records.
//
// # Damaged storage
//
// goleveldb by default skips damaged journal records when it opens a
// database: a few KiB of zeros or garbage in a journal (the *.log file)
// lose every write in the damaged 32 KiB block for good, while the
// offset, written by later intact records, says they were applied, so
// recovery never replays them. The builders therefore open LevelDB with
// goleveldb's default strict level plus StrictJournal and StrictManifest,
// unless [WithDBOptions] sets a strict level (see there for the risk).
// goleveldb's default level already verifies journal and table block
// checksums and makes a corrupt table block fail the read.
//
// Damage is reported as a [*CorruptedError], which wraps [ErrCorrupted] and
// goleveldb's error:
//
//   - by the builder, for a damaged journal or manifest or a missing table
//     file;
//   - by Get, Has, iterators and writes, for a table block that fails its
//     checksum (a table file is read only when needed, so an open does not
//     find its damage) or a compaction that found one.
//
// From then on every method but Close returns that error, and the
// directory holds the file "DAMAGED", which names the cause. The builders
// refuse to open a directory holding it, so that the next start does not
// run on damage found while running: a strict open checks only the journal
// and the manifest and would succeed.
//
// [CorruptedError.Discard] moves the damaged directory aside, to
// <dir>.damaged-<UTC time>, keeping it for examination; the next call of
// the builder creates an empty storage. Goka's processors and views do
// this when a builder fails with a [Discarder]: they log the partition,
// the directory and the cause, count it in TableStats.Rebuilds and recover
// the whole partition from the table topic. A damaged storage thus stops
// its partition once (the error of the call that found it) and is rebuilt
// by the next start. Nothing deletes the moved directories: remove them
// when done.
//
// The memory and null storages keep nothing that could be damaged, and the
// file storage reads nothing. The Redis storage (storage/redis) leaves
// detecting damage to Redis and returns no [Discarder].
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
