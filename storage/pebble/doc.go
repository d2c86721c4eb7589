// Package pebble keeps goka's table partitions in Pebble
// (github.com/cockroachdb/pebble/v2), the maintained LSM engine of
// CockroachDB, as an alternative to package storage's LevelDB (goleveldb is
// no longer maintained). It is a Go module of its own, so that programs that
// do not use it do not depend on Pebble.
//
// # Usage
//
//	p, err := goka.NewProcessor(brokers, graph,
//		goka.WithStorageBuilder(pebble.Builder("/var/lib/myapp")))
//
// [Builder] keeps one database per partition in <path>/<topic>.<partition>
// and is a [storage.Builder], so it works wherever goka takes one (processors,
// views). It is not compatible on disk with LevelDB: switching a processor
// from one to the other starts from empty storage, which recovery fills from
// the table topic.
//
// # Contract
//
// The storages pass package storage's conformance suite (package
// storage/storagetest) like LevelDB's: reads see writes at once, the key
// "__offset" is reserved for the offset, iterators are snapshots in key
// order. Like LevelDB's they buffer Set, Delete and SetOffset (newest per key)
// and write them together with the offset in one atomic Pebble batch, when
// the buffer reaches [WithFlushSize], on a write [WithFlushInterval] after the
// last flush, on Flush (goka's storage flush interval, revocation, shutdown),
// MarkRecovered, Iterator and Close. Writes are not synced (as LevelDB's and
// Goka's): after a machine crash, recovery replays the table topic from the
// stored offset.
//
// # Memory
//
// The partitions of one builder share one block cache ([WithCacheSize],
// default 32 MiB), so the cache does not grow with the partition count; each
// partition has its own memtables ([WithMemTableSize], default 4 MiB, up to
// two at a time) and its write buffer ([WithFlushSize], default 1 MiB).
//
// # Damaged storage
//
// When Pebble reports corruption, the storage writes the marker file
// "DAMAGED" into the directory and returns a [*storage.CorruptedError]; the
// builder refuses to open a marked directory. goka's tables discard it
// ([storage.Discarder]) and rebuild the partition from the table topic, as
// with LevelDB.
package pebble
