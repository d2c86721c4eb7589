package goka

import (
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/kafka"
)

// rebalanceMode is how a processor's consumer group rebalances.
type rebalanceMode int

const (
	// rebalanceEager is Goka's: the copartitioning strategy, every
	// rebalance stops every partition.
	rebalanceEager rebalanceMode = iota
	// rebalanceUpgrade (WithCooperativeUpgrade) lists the cooperative
	// strategy first and the copartitioning strategy second: the eager
	// protocol still runs, and the group uses the cooperative placement
	// once every member lists it.
	rebalanceUpgrade
	// rebalanceCooperative (WithCooperativeRebalance) runs the cooperative
	// protocol: only the partitions that move stop.
	rebalanceCooperative
)

// Defaults of the cooperative rebalance options, those of Kafka Streams'
// high-availability task assignor (KIP-441).
const (
	// DefaultAcceptableRecoveryLag is the default of
	// WithAcceptableRecoveryLag (Kafka Streams' acceptable.recovery.lag).
	DefaultAcceptableRecoveryLag int64 = kafka.DefaultAcceptableLag
	// DefaultMaxWarmupReplicas is the default of WithMaxWarmupReplicas
	// (Kafka Streams' max.warmup.replicas).
	DefaultMaxWarmupReplicas = kafka.DefaultMaxWarmups
	// DefaultProbingRebalanceInterval is the default of
	// WithProbingRebalanceInterval (Kafka Streams'
	// probing.rebalance.interval.ms).
	DefaultProbingRebalanceInterval = kafka.DefaultProbingInterval
)

// WithCooperativeRebalance makes the processor's consumer group rebalance
// cooperatively (KIP-429, Kafka Streams' default since 2.4): when a member
// joins or leaves, only the partitions that must move to keep the spread
// even (at most one partition between the most and the least loaded
// member) are revoked, and only from the members that give them up; every
// other partition keeps processing through the rebalance, without being
// stopped, flushed or recovered. Partition p of every input, of the loop
// and of the table stays on one member, as with CopartitioningStrategy.
// A partition that moves is stopped on its old owner (its messages
// acknowledged and committed, its transaction committed under ExactlyOnce)
// before its new owner starts it, in a second rebalance that follows at
// once.
//
// Every member of the group must run it. To move a running group from
// Goka's eager rebalancing, restart its instances one by one with
// WithCooperativeUpgrade, then once more one by one with
// WithCooperativeRebalance (Kafka's documented two-step upgrade); a member
// with WithCooperativeRebalance cannot join a group whose members only know
// the eager strategy (the JoinGroup fails with an inconsistent-protocol
// error and the processor retries).
//
// It builds the consumer group from the config of WithSaramaConfig or else
// a copy of the global config, with Consumer.Group.Rebalance.GroupStrategies
// set to the cooperative strategy and Version raised to 2.4.0 if it is
// lower, so it cannot be combined with WithConsumerGroupBuilder. It has no
// effect on processors run by the tester, which has one member. Default:
// off (eager, as Goka). Not in Goka.
func WithCooperativeRebalance() ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.rebalance = rebalanceCooperative }
}

// WithCooperativeUpgrade is the first step of moving a group from eager to
// cooperative rebalancing (see WithCooperativeRebalance): the member offers
// the cooperative strategy first and the eager copartitioning strategy
// second, so it still rebalances eagerly, and the group places partitions
// with the cooperative strategy (sticky, standbys, query addresses) once
// every member offers it. Restart every instance with it, then every
// instance with WithCooperativeRebalance. Default: off. Not in Goka.
func WithCooperativeUpgrade() ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.rebalance = rebalanceUpgrade }
}

// WithQueryAddress sets the address this instance serves key queries on
// (Kafka Streams' application.server), e.g. "10.0.0.7:8080". The members
// of a group with the cooperative strategy (WithCooperativeRebalance or
// WithCooperativeUpgrade) advertise it to each other, and
// Processor.KeyOwner names the instance owning a key by it; web/router
// serves a key from any instance. It is not dialled or checked. Default:
// none. Not in Goka.
func WithQueryAddress(addr string) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.queryAddress = addr }
}

// WithStandbyReplicas keeps the table of each partition warm on n other
// instances than the one processing it (Kafka Streams'
// num.standby.replicas), placed by the cooperative strategy, which needs
// WithCooperativeRebalance or WithCooperativeUpgrade. Members report how
// far behind their copies are when they join; when an instance fails, its
// partitions go to the members with the freshest copies, which resume
// after replaying only their lag. Goka's WithHotStandby, which follows
// every partition on every instance, stays as it is. Default: 0. Not in
// Goka.
func WithStandbyReplicas(n int) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.standbyReplicas = n }
}

// WithAcceptableRecoveryLag sets how many records a member's copy of a
// partition's table may be behind for the cooperative strategy to move the
// partition to it (Kafka Streams' acceptable.recovery.lag); a member
// further behind first warms a copy up as a standby while the partition
// stays where it is. It must be > 0. Default DefaultAcceptableRecoveryLag
// (10,000). Not in Goka.
func WithAcceptableRecoveryLag(records int64) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.acceptableLag = records }
}

// WithMaxWarmupReplicas bounds how many warm-ups the cooperative strategy
// places at a time across the group (Kafka Streams' max.warmup.replicas):
// each is a table copy recovering on a member before its partition moves
// there, so the bound limits the extra load a scale-out puts on the
// brokers and the time partitions take to spread over new members. It must
// be > 0, and every member should use the same value (the group leader's
// applies). Default DefaultMaxWarmupReplicas (2). Not in Goka.
func WithMaxWarmupReplicas(n int) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.maxWarmups = n }
}

// WithProbingRebalanceInterval sets the longest time the cooperative
// strategy lets warm-ups run before a member asks for the follow-up
// rebalance that moves their partitions (Kafka Streams'
// probing.rebalance.interval.ms). A member whose warm-ups caught up asks
// at once; the interval matters when a warm-up cannot catch up (its table
// grows faster than it recovers) or its member left, and when the leader
// kept the warm-ups of the last probe. It must be > 0, and every member
// should use the same value (the group leader's applies, and
// Stats().Assignment.ProbeAfter shows it). Default
// DefaultProbingRebalanceInterval (10 minutes). Not in Goka.
func WithProbingRebalanceInterval(d time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.probingInterval = d }
}

// validateCooperative returns the errors of the cooperative options.
func (o *poptions) validateCooperative() []error {
	var errs []error
	if o.rebalance != rebalanceEager && !o.testerClientID && slices.Contains(o.customBuilders, "WithConsumerGroupBuilder") {
		errs = append(errs, fmt.Errorf("cooperative rebalancing builds the consumer group itself and cannot be combined with WithConsumerGroupBuilder (WithCooperativeRebalance): pass its sarama config with WithSaramaConfig"))
	}
	if o.standbyReplicas < 0 {
		errs = append(errs, fmt.Errorf("StandbyReplicas must be >= 0, got %d (WithStandbyReplicas)", o.standbyReplicas))
	}
	if o.standbyReplicas > 0 && o.rebalance == rebalanceEager {
		errs = append(errs, fmt.Errorf("StandbyReplicas %d needs the cooperative strategy, which places them (WithStandbyReplicas): add WithCooperativeRebalance", o.standbyReplicas))
	}
	if o.maxWarmups <= 0 {
		errs = append(errs, fmt.Errorf("MaxWarmupReplicas must be > 0, got %d (WithMaxWarmupReplicas)", o.maxWarmups))
	}
	if o.probingInterval <= 0 {
		errs = append(errs, fmt.Errorf("ProbingRebalanceInterval must be > 0, got %v (WithProbingRebalanceInterval)", o.probingInterval))
	}
	if o.acceptableLag <= 0 {
		errs = append(errs, fmt.Errorf("AcceptableRecoveryLag must be > 0, got %d (WithAcceptableRecoveryLag)", o.acceptableLag))
	}
	return errs
}

// cooperative reports whether the processor's sessions run the
// cooperative protocol.
func (o *poptions) cooperative() bool {
	return o.rebalance == rebalanceCooperative && !o.testerClientID
}

// cooperativeGroupConfig returns the consumer group's config with strategy
// in GroupStrategies (and the copartitioning strategy after it during an
// upgrade), from a copy of base.
func (o *poptions) cooperativeGroupConfig(base *sarama.Config, strategy sarama.BalanceStrategy) *sarama.Config {
	gc := *base
	gc.Consumer.Group.Rebalance.Strategy = nil //nolint:staticcheck // GroupStrategies rules; clear the deprecated field
	gc.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{strategy}
	if o.rebalance == rebalanceUpgrade {
		gc.Consumer.Group.Rebalance.GroupStrategies = append(gc.Consumer.Group.Rebalance.GroupStrategies, CopartitioningStrategy)
	}
	if !gc.Version.IsAtLeast(sarama.V2_4_0_0) {
		gc.Version = sarama.V2_4_0_0 // sarama's minimum for the cooperative protocol (OwnedPartitions, KIP-429)
	}
	return &gc
}
