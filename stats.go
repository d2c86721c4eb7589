package goka

import (
	"sync"
	"time"
)

// PartitionStatus is the state of one table partition.
type PartitionStatus int

// States of a table partition, in the order a partition goes through them.
const (
	PartitionStopped PartitionStatus = iota
	PartitionInitializing
	PartitionConnecting
	PartitionRecovering
	PartitionPreparing
	PartitionRunning
)

// PPRunMode says how a partition is run: active (assigned to this
// instance), passive (hot standby) or recover-only.
type PPRunMode int

const (
	runModeActive PPRunMode = iota
	runModePassive
	runModeRecoverOnly
)

// InputStats are the statistics of one input topic of a partition.
type InputStats struct {
	Count      uint
	Bytes      int
	OffsetLag  int64
	LastOffset int64
	Delay      time.Duration
}

// OutputStats are the statistics of one output topic of a partition.
type OutputStats struct {
	Count uint
	Bytes int
}

// PartitionProcStats are the statistics of one partition of a processor.
type PartitionProcStats struct {
	Now        time.Time
	TableStats *TableStats
	Joined     map[string]*TableStats
	Input      map[string]*InputStats
	Output     map[string]*OutputStats
	// Transactions are the partition's transactions under ExactlyOnce;
	// nil under AtLeastOnce. Not in Goka.
	Transactions *TransactionStats
	// LateMessages counts the messages of a windowed input (Windowed) that
	// came too late for at least one of their windows and were dropped,
	// since this instance took the partition; 0 without one. Not in Goka.
	LateMessages int64
	// Standby is set for a partition whose tables this instance only
	// keeps warm (WithHotStandby, WithStandbyReplicas, a warm-up before
	// the partition moves here), and StandbyLag is then how many records
	// its group table is behind the table topic, as this member reports
	// it to the cooperative strategy. Not in Goka.
	Standby    bool
	StandbyLag int64
}

// RecoveryStats describe the recovery of a table partition: Offset is the
// last applied offset (negative while none is stored: Goka's sentinel -3),
// Hwm the offset recovery runs to, so Hwm-Offset-1 records are left to do
// (see Remaining); for a standby partition Hwm follows the table topic's
// high-water mark once it is recovered.
type RecoveryStats struct {
	StartTime    time.Time
	RecoveryTime time.Time
	Offset       int64
	Hwm          int64
	// StartOffset is Offset when the recovery began. Not in Goka.
	StartOffset int64
}

// TableStats are the statistics of one table partition.
type TableStats struct {
	Stalled  bool
	Status   PartitionStatus
	RunMode  PPRunMode
	Recovery *RecoveryStats
	Input    *InputStats
	Writes   *OutputStats
	// Rebuilds counts how often the local storage of this partition was
	// found damaged when it was opened (its builder failed with an error
	// wrapping storage.ErrCorrupted), was discarded and started empty, to
	// be recovered from the table topic. It counts since the partition was
	// set up, when the processor or view started or the partition was
	// assigned. Not in Goka.
	Rebuilds int
}

// ViewStats are the statistics of a view.
type ViewStats struct {
	Partitions map[int32]*TableStats
	// Brokers tells whether the view reaches its brokers. Not in Goka.
	Brokers BrokerStats
}

// ProcessorStats are the statistics of a processor.
type ProcessorStats struct {
	Group  map[int32]*PartitionProcStats
	Lookup map[string]*ViewStats
	// Brokers tells whether the processor reaches its brokers. Not in
	// Goka.
	Brokers BrokerStats
	// Assignment is this instance's share of its group's last
	// assignment, nil before the first. Not in Goka.
	Assignment *AssignmentStats
}

// AssignmentStats is a processor instance's assignment in its consumer
// group's last generation, as WithRebalanceCallback and RebalanceObserver
// saw it (RebalanceInfo has the same fields). Under the eager protocol
// only Generation, MemberID, Active and Duration are set: every partition
// stopped and all of Active started. Under the cooperative protocol
// (WithCooperativeRebalance) the rest tell what changed and what is kept
// warm; the per-partition figures (PartitionProcStats.Standby and
// StandbyLag) are in ProcessorStats.Group. Not in Goka.
type AssignmentStats struct {
	Generation  int32
	MemberID    string
	Cooperative bool
	// Rebalancing is set while the member rejoins its group, from its
	// JoinGroup to its next assignment (cooperative protocol only; its
	// partitions keep processing meanwhile).
	Rebalancing bool
	// Active are the partitions processed; Added and Revoked the
	// changes from the previous generation.
	Active, Added, Revoked []int32
	// Incoming are partitions that arrive in the follow-up rebalance,
	// once their previous owner has revoked them.
	Incoming []int32
	// Standby and Warmup are the partitions whose tables this instance
	// keeps warm for another owner (WithStandbyReplicas) or warms up to
	// take them over (KIP-441).
	Standby, Warmup []int32
	// ProbeAfter is non-zero while warm-ups are pending anywhere in the
	// group: the probing interval of the group leader
	// (WithProbingRebalanceInterval), the longest time until a member asks
	// for the rebalance that moves their partitions.
	ProbeAfter time.Duration
	// Duration is how long the rebalance took: under the cooperative
	// protocol from this member's JoinGroup to its assignment, under the
	// eager protocol from the end of the previous session.
	Duration time.Duration
}

// BrokerStats describe whether a processor or a view reaches its seed
// brokers, as its last probe saw it: every second while it runs, it opens a
// TCP connection to a seed broker (see WithBrokerOutageTimeout). Not in
// Goka.
type BrokerStats struct {
	// UnreachableSince is when the current outage began: the first probe
	// that reached none of the brokers. Zero while a broker answers.
	UnreachableSince time.Time
	// LastError is the error of the last probe of the current outage;
	// empty while a broker answers.
	LastError string
	// Outages counts the outages since Run started.
	Outages int
}

// tableStats converts a table's snapshot into Goka's TableStats.
func tableStats(t *partitionTable) *TableStats {
	s := t.Snapshot()
	return &TableStats{
		Stalled: s.Stalled,
		Status:  PartitionStatus(s.Status),
		RunMode: PPRunMode(s.Mode),
		Recovery: &RecoveryStats{
			StartTime:    s.RecoveryStart,
			RecoveryTime: s.RecoveryEnd,
			Offset:       s.Offset,
			Hwm:          s.Hwm,
			StartOffset:  s.RecoveryFrom,
		},
		Input:    &InputStats{Count: s.InputCount, Bytes: s.InputBytes, LastOffset: s.InputLastOffset},
		Writes:   &OutputStats{Count: s.WritesCount},
		Rebuilds: s.Rebuilds,
	}
}

// partitionStatsCollector collects the input and output statistics of a
// partition processor.
type partitionStatsCollector struct {
	mu     sync.Mutex
	input  map[string]*InputStats
	output map[string]*OutputStats
}

func newPartitionStatsCollector() *partitionStatsCollector {
	return &partitionStatsCollector{input: map[string]*InputStats{}, output: map[string]*OutputStats{}}
}

func (s *partitionStatsCollector) countInput(topic string, size int, offset, hwm int64, ts time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.input[topic]
	if in == nil {
		in = &InputStats{}
		s.input[topic] = in
	}
	in.Count++
	in.Bytes += size
	in.LastOffset = offset
	if hwm > 0 {
		in.OffsetLag = hwm - offset - 1
	}
	if !ts.IsZero() {
		in.Delay = time.Since(ts)
	}
}

func (s *partitionStatsCollector) countOutput(topic string, size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.output[topic]
	if out == nil {
		out = &OutputStats{}
		s.output[topic] = out
	}
	out.Count++
	out.Bytes += size
}

func (s *partitionStatsCollector) snapshot() (map[string]*InputStats, map[string]*OutputStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return deepCopy(s.input), deepCopy(s.output)
}

// deepCopy copies m and the values its pointers point to.
func deepCopy[T any](m map[string]*T) map[string]*T {
	out := make(map[string]*T, len(m))
	for k, v := range m {
		c := *v
		out[k] = &c
	}
	return out
}
