// Package goka is a library for stateful stream processing on Kafka,
// compatible with github.com/lovoo/goka v1: a Goka program compiles against
// it after changing its import paths, and reads and writes the same topics
// and local storages.
//
// # Components
//
// An [Emitter] writes messages to a topic. A [Processor] consumes input
// topics as a consumer group: every instance of the group gets some of the
// partitions, and processes each partition in a goroutine of its own,
// message after message, calling the callbacks of its [GroupGraph]. A
// processor can keep a table: one value per key, stored locally (LevelDB by
// default) and in the compacted topic "<group>-table", from which any
// instance recovers the partitions it takes over. A [View] is a local,
// always-updating copy of a whole table.
//
// # Delivery guarantees
//
// At least once. An input message is committed only after its callback
// returned and every message the callback produced (outputs, loopbacks,
// table writes) was acknowledged by Kafka, and after the functions returned
// by [Context.DeferCommit] were called. A failed message stops the
// processor with an error naming its topic, partition and offset; it is
// processed again after a restart. Commits never pass a message still in
// flight, even when later messages finish first.
//
// # Exactly-once
//
// WithProcessingGuarantee(ExactlyOnce) puts everything the messages of a
// partition cause (table writes, emits, loopbacks) and their input offsets
// into one Kafka transaction per commit interval (WithCommitInterval,
// default 100 ms), as Kafka Streams' processing.guarantee=exactly_once
// does with one producer per task: each partition has its own
// transactional producer, with transactional ID "<group>-<partition>".
// After a crash, a rebalance, a broker loss or a cut connection either all
// of it is visible, once, or none is and the messages are processed again
// from the committed state: a counter stays exact.
//
//   - Fencing: a partition initializes its producer before it recovers
//     its table, which fences the previous owner's producer and aborts its
//     open transaction, and its offsets are committed with the session's
//     group generation (KIP-447). An instance paused past its session
//     timeout finds its late transaction refused: nothing it wrote becomes
//     visible, and it rejoins. A dead owner's transaction that keeps the
//     group's offsets unstable is aborted the same way. A hanging
//     transaction of such a producer (KIP-664: one a partition holds open
//     at an older epoch while its coordinator has ended it, which a broker
//     restart can leave when the coordinator skips the markers of
//     partitions without a leader) is then ended as its coordinator
//     decided, once its last write is older than
//     Producer.Transaction.Timeout: committed or aborted as the
//     coordinator's log, __transaction_state, records, and left alone if
//     the log no longer tells. Commit markers need Kafka >= 3.6 (which
//     refuses the records that could open a transaction nobody committed;
//     the processor checks the partition leader's version and its
//     transaction.partition.verification.enable first). That needs the
//     CLUSTER_ACTION and DESCRIBE_CONFIGS permissions, READ on
//     __transaction_state, and SASL, if any, other than GSSAPI. If three
//     sessions in a row still fail on the offsets, the processor logs it.
//   - Local storage never runs ahead of Kafka: a transaction's table writes
//     reach storage only after it committed (Context.Value sees them at
//     once), with the table offset in the next flush; after a crash only
//     the tail is replayed, never the whole table.
//   - Reading: the processor's inputs, tables, joins and lookups are read
//     read_committed. Downstream consumers of its output and table topics
//     must read with isolation.level=read_committed too (sarama:
//     Consumer.IsolationLevel = sarama.ReadCommitted; a View:
//     WithViewReadCommitted), or they also see aborted records and the
//     records of open transactions.
//   - A failed transaction (a produce or commit error) is aborted and
//     logged, and its partition restarts on its own while the others go
//     on, as Kafka Streams revives a corrupted task: a new producer of the
//     same transactional ID, recovery from committed table state, then the
//     input messages since the last commit again, which the partition
//     keeps in memory (one commit interval's worth) because sarama's claims
//     cannot seek back; those that the group's committed offsets already
//     cover are dropped. TransactionStats.Restarts counts these restarts.
//     A fenced producer or group member (the partition moved on), a
//     failure during a broker outage and a sixth restart in a row make the
//     instance rejoin the group instead; Run returns an error wrapping
//     ErrTransactionAborted only after ten rejoins in a row. A callback
//     error still stops the processor; its transaction is aborted.
//   - DeferCommit holds the partition's transaction open until the
//     function is called: the partition stops taking messages at the next
//     commit until then (for at most 10 s when it stops, after which the
//     transaction is aborted). A visit of VisitAll is done once its
//     transaction committed.
//   - Cost: a commit takes a few requests to the transaction coordinator
//     and the partition takes no message meanwhile; end-to-end latency for
//     read_committed consumers is about the commit interval; one producer
//     (client and connections) per assigned partition. README,
//     "Benchmarks", has the figures.
//   - ExactlyOnce builds the Kafka clients itself (from WithSaramaConfig
//     or the global config, raising Version to 2.5.0): it refuses
//     WithConsumerGroupBuilder, WithConsumerSaramaBuilder and
//     WithProducerBuilder. The tester ignores it: it processes each
//     message to the end before the next and never crashes.
//
// # Cooperative rebalancing, standby replicas and key owners
//
// By default a processor group rebalances as Goka's does: the eager
// copartitioning strategy stops every partition of every instance when a
// member joins or leaves, and a partition that moves is recovered from its
// table topic before it processes again. [WithCooperativeRebalance] runs
// the cooperative protocol instead (KIP-429; Kafka Streams' default, see
// its "Rebalancing" docs), with a sticky copartitioning strategy:
//
//   - Only the partitions that must move to keep the spread even (at most
//     one partition between the most and the least loaded member) are
//     revoked; all others keep processing through the rebalance, neither
//     stopped, nor flushed, nor recovered. A moving partition is stopped
//     on its old owner (messages acknowledged and offsets committed, its
//     transaction committed under ExactlyOnce) and starts on the new one
//     in the follow-up rebalance.
//   - Warm-up (KIP-441): a partition moves only to a member whose copy of
//     its table is within [WithAcceptableRecoveryLag] records (10,000, as
//     Kafka Streams' acceptable.recovery.lag). A member further behind
//     first follows the table as a standby while the partition keeps
//     running where it is (at most [WithMaxWarmupReplicas], two, at a
//     time across the group); once caught up, the member starts the
//     follow-up rebalance itself, by joining the group for a moment with a
//     probe member that gets nothing (sarama has no call to request a
//     rebalance). So a new instance takes its share only after it has
//     caught up, and scaling out never stops a partition for a recovery.
//     A member without a copy counts as behind by the whole table (its
//     end offset, as the members holding the partition report it): a
//     table within the acceptable lag moves at once, as in Kafka Streams.
//     A warm-up that cannot catch up is looked at again after
//     [WithProbingRebalanceInterval] (10 minutes, Kafka Streams'
//     probing.rebalance.interval.ms). Stateless groups move partitions at
//     once.
//   - [WithStandbyReplicas](n) keeps each partition's tables on n other
//     instances, placed by the strategy (never on the active one); members
//     report their copies' lag when they join, and a failed instance's
//     partitions go to the members with the freshest copies, which replay
//     only their lag. Stats show standby partitions with
//     [PartitionProcStats] Standby and StandbyLag. Goka's [WithHotStandby]
//     (every partition on every instance) is unchanged.
//   - [WithQueryAddress] advertises where an instance serves key lookups
//     (Kafka Streams' application.server); [Processor.KeyOwner] names the
//     instance owning a key, with its standbys, from the group's last
//     assignment, and package web/router serves any key from any instance.
//   - [RebalanceObserver] sees each generation's Added, Revoked, Incoming,
//     Standby and Warmup partitions, and [ProcessorStats] Assignment the
//     last one; [WithRebalanceCallback] gets the full new assignment of
//     every generation, as under the eager strategy.
//   - The group's coordinator gets a connection of its own: a broker
//     answers a connection's requests in order, so on the shared one the
//     kept partitions' fetches would wait while the coordinator holds the
//     member's JoinGroup for the group to rejoin. A member that gains
//     partitions still pauses its fetches for 100 ms, sarama's batching of
//     new partition consumers.
//   - Under ExactlyOnce a partition commits nothing between its member's
//     JoinGroup and the new assignment (the coordinator refuses the old
//     generation meanwhile): its transaction stays open and commits right
//     after, as Kafka Streams does. A commit already under way delays the
//     member's JoinGroup until it is done (at most 10 s).
//   - Every member of a group must run the cooperative protocol. To move a
//     running group, restart its instances one by one with
//     [WithCooperativeUpgrade], then once more with
//     [WithCooperativeRebalance] (Kafka's two-step upgrade). The eager
//     strategy stays the default, for compatibility with Goka.
//
// # Local storage and recovery
//
// A table write reaches local storage only once Kafka acknowledged it:
// until then [Context.Value] reads it from memory (and [Processor.Get], on
// other goroutines, does not see it), so a write Kafka refused never
// outlives a restart. Acknowledged writes are buffered per partition and
// written to LevelDB in one atomic batch together with the table offset,
// every second (see [WithStorageFlushInterval]), on rebalance and on
// shutdown. After a crash the storage is consistent but possibly older, and
// recovery replays the table topic from the stored offset. Recovery ends at
// the high-water mark read when it started.
//
// LevelDB storages are opened with strict journal checks: a storage found
// damaged (an error wrapping storage.ErrCorrupted) is moved aside and the
// partition is recovered from the table topic, with a log line and
// [TableStats] Rebuilds counting it; damage found while running stops the
// processor, and the next start rebuilds (see package storage, "Damaged
// storage").
//
// # Windows and timers
//
// New in this library, opt-in, and absent from Goka. The semantics follow
// Kafka Streams (https://kafka.apache.org/documentation/streams/developer-guide/dsl-api.html#windowing):
// event time is the message timestamp; the stream time of a partition is
// the largest timestamp seen on it; time windows are aligned to the epoch
// and half-open [start, end).
//
//   - [Windowed] consumes an input and calls a [WindowCallback] once per
//     window of each message: [Tumbling], [Hopping] (TimeWindows with
//     advanceBy) or [Session] windows (SessionWindows; a message bridging
//     two sessions merges them). ctx.Value/SetValue/Delete address that
//     window's aggregate.
//   - [Grace] (TimeWindows.ofSizeAndGrace): a message whose window has
//     end + grace <= stream time is late; it is not applied, it is counted
//     (Processor.LateMessages, PartitionProcStats.LateMessages, the
//     metric goka_processor_window_late_records_total) and [OnLate] sees it.
//   - [EmitFinal] emits each window once, when stream time reaches
//     end + grace: Kafka Streams' EmitStrategy.onWindowClose (KIP-825,
//     https://cwiki.apache.org/confluence/display/KAFKA/KIP-825%3A+introduce+a+new+API+to+control+when+aggregated+results+are+produced),
//     equivalent to suppress(untilWindowCloses). [EmitUpdates] is
//     onWindowUpdate. The window bounds are in the headers
//     [HeaderWindowStart] and [HeaderWindowEnd] (decimal epoch ms).
//   - Windows live in the partition's time store, a local storage whose
//     changelog is [WindowTable] ("<group>-window", compacted), written
//     through the partition's producer and applied when acknowledged,
//     exactly as table writes, and recovered like the group table. A
//     key's windows are one range scan: TimeContext.Windows and
//     Processor.Windows query them. [Retention] (Materialized.withRetention,
//     at least size + grace) purges older windows from local storage.
//   - [WindowCache] (on by default, 16 MiB per partition) also holds the
//     open tumbling and hopping windows in memory, as Kafka Streams'
//     record cache fronts its window stores: a callback reads its window
//     without a store lookup, and with the default retention a window is
//     purged from local storage as it closes, without scanning the store.
//     Unlike Kafka Streams' cache it does not hold writes back: every
//     SetValue is still written to the changelog and to local storage.
//   - [WithTimeStorageBuilder] gives the time stores their own storage
//     (default: the one of [WithStorageBuilder]). A time store holds few
//     live windows but many short-lived writes, so its LevelDB memory is
//     its write buffers; a small storage.WithMemoryBudget bounds them.
//   - [Punctuate] calls a [PunctuateCallback] per partition on
//     [StreamTime] or [WallClock] (Kafka Streams' ProcessorContext.schedule
//     and Punctuator.punctuate,
//     https://kafka.apache.org/documentation/streams/developer-guide/processor-api.html#defining-a-stream-processor).
//   - TimeContext.SetTimer sets a per-key timer ([TimeOf] gives the
//     TimeContext of any callback); [OnTimer]'s callback runs with that
//     key's context when it is due. Timers are stored in the time store,
//     so they survive restarts and move with their partition; a WallClock
//     timer fires with no input at all.
//
// The tester drives time explicitly: message timestamps (tester.WithTime)
// for stream time, and Tester.AdvanceTime for the wall clock; nothing
// sleeps. Programs without these edges are unaffected: no store, no topic,
// no goroutine, no extra work per message.
//
// Limits: one Windowed edge per group; punctuation schedules are not
// persisted (the next multiple fires after a restart); the changelog is
// compacted, not also time-deleted as Kafka Streams' window changelogs are
// (windows past retention stay in it until overwritten), and windows of
// a key are stored one record each. Under at-least-once, the stream time
// that marks windows as emitted is produced with their final results, so
// a failed final emission stops the processor and that window is not
// emitted again after the restart.
//
// # Differences from Goka
//
// [NewProcessor] and [NewView] do no network I/O; [Processor.Run] checks
// and creates the topics, and [View.Run] waits for a table topic that does
// not exist yet (see [WithViewTopicWait]), so a view started together with
// the processor of its table works as in Goka; a processor asks again for
// up to 3 s for a missing input or joined topic, whose metadata may lag
// behind its creation on a cluster. [NewEmitter] creates its
// producer, which connects, as in Goka. The ...WithConfig builders copy
// the sarama config instead of writing ClientID and Partitioner into it,
// so one config can serve several components. [Processor.Get] fails with
// [ErrNotRunning] before Run and after it returned (not with "partition not
// held"), and so does [Processor.VisitAll]. There is no 5 s pause between
// consumer-group sessions. Two views of one table in one process use
// different default directories. A second
// [Emitter.Finish] returns nil instead of panicking. Errors wrap sentinels
// such as [ErrNotCopartitioned] for errors.Is, and typed errors
// ([MessageError], [PanicError]) for errors.As. Recovery ends even when a
// table partition ends in transaction markers or compacted offsets.
// [DefaultConfig] fetches 256 KiB per partition rather than 1 MiB and at
// most 1 MiB per fetch response rather than 50 MiB, and sends at most
// 10,000 messages per produce request, which bounds memory whatever the
// partition count, and its producer rides out about 3 s without a leader
// rather than about one second (Metadata.Retry.Max 12, Net.DialTimeout
// 10 s; its doc derives the bounds). Processors and views
// probe their seed brokers every second: during an outage a processor is in
// [ProcStateSetup] with [Processor.Recovered] false, a view in
// [ViewStateConnecting], both report it in their Stats (Brokers), stop
// consuming and resume when a broker answers; after [WithBrokerOutageTimeout]
// or [WithViewBrokerOutageTimeout] (15 s) Run returns an error wrapping
// [ErrBrokerUnreachable] that names the brokers. A processor that lost a
// set-up session rejoins without the consumer-group backoff. A [StateChangeObserver] that does not keep up misses
// intermediate states rather than blocking its component.
//
// # Caveats
//
// Inputs must be partitioned with the same hash as goka's producers (FNV-1a,
// see [DefaultHasher]) for the group table to be copartitioned with them; a
// Java producer's murmur2 partitioner breaks this silently, as with Goka.
package goka
