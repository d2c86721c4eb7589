// Package table keeps one partition of a table topic in local storage: it
// opens the storage, recovers the partition up to its high-water mark,
// optionally follows it afterwards, flushes and closes. Processors use it for
// their group table, joined tables and hot-standby partitions; views use it
// for every partition of the viewed table. The root package goka adapts its
// public options (UpdateCallback, TopicManager, Logger, PPRunMode) to this
// package's [Config]; this package never imports goka.
//
// # Lifecycle
//
// [New] builds a [Table] without any I/O. [Table.Open] builds and opens the
// storage. [Table.Run] recovers and, when asked to, follows; it may be called
// again after it returned (a view reconnecting calls [Table.Rebind] first).
// [Table.Close] waits for the partition consumers Run closes in the
// background and closes the storage; it is safe to call more than once.
//
// # Recovery policy
//
// Where Run starts is a pure function of the local offset, the oldest offset
// and the high-water mark (recoveryStart, tested with a table of cases): a
// fresh storage starts at the oldest offset; a storage at offset n starts at
// n+1 unless retention or compaction removed n+1; a storage at or beyond the
// high-water mark is treated as recovered (and logged); a storage with data
// for a partition that is now empty is an error (the topic was recreated).
//
// Sarama's consumer skips transaction markers, so a partition that ends with
// one would never deliver its record at hwm-1. When a whole [ProbeAfter]
// interval passes without a record during recovery, Run asks the [Offsets]
// for the optional [EndProber] whether anything is left to read.
//
// # Concurrency
//
// Run and Storage belong to the goroutine that owns the partition. Other
// goroutines (Processor.Get, View reads, VisitAll) reach the storage through
// [Table.WithStorage] or [Table.StoreOffset], which hold a read lock that
// Close excludes, so no one uses a closed storage. Lock order: the storage lock, then the offset
// lock, then the statistics lock.
//
// # Tester hook
//
// A partition consumer that implements [AppliedNotifier] is told the offset
// of every record right after the record is applied. The tester package uses
// it to know when a table has caught up; Kafka's consumers do not implement
// it and pay one nil check per record.
package table
