package goka

import (
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"
)

// ProcessingGuarantee is what a processor promises about the effects of an
// input message: its table writes, emits, loopbacks and offset commit.
type ProcessingGuarantee int

const (
	// AtLeastOnce is the default and Goka's behaviour: every input message
	// is processed, and after a crash, a rebalance or a lost connection
	// some are processed again. Their table writes and emits are then
	// repeated: idempotent callbacks are safe, counters and downstream
	// consumers see duplicates.
	AtLeastOnce ProcessingGuarantee = iota
	// ExactlyOnce puts the table writes, emits, loopbacks and input offsets
	// of the messages of a partition into one Kafka transaction per commit
	// interval (Kafka Streams' processing.guarantee=exactly_once): all of
	// them become visible, once, or none does, whatever fails. See the
	// package documentation, "Exactly-once", for what it costs and what
	// consumers of the output topics must set.
	ExactlyOnce
)

// String returns "at-least-once" or "exactly-once".
func (g ProcessingGuarantee) String() string {
	switch g {
	case AtLeastOnce:
		return "at-least-once"
	case ExactlyOnce:
		return "exactly-once"
	default:
		return fmt.Sprintf("ProcessingGuarantee(%d)", int(g))
	}
}

// DefaultExactlyOnceCommitInterval is the commit interval under
// ExactlyOnce unless WithCommitInterval sets another (Kafka Streams'
// commit.interval.ms under exactly-once).
const DefaultExactlyOnceCommitInterval = 100 * time.Millisecond

// WithProcessingGuarantee sets the processing guarantee. Default:
// AtLeastOnce.
//
// ExactlyOnce builds the processor's Kafka clients itself, from the config
// of WithSaramaConfig or else a copy of the global config, since it must
// set their isolation level and transactions: it cannot be combined with
// WithConsumerGroupBuilder, WithConsumerSaramaBuilder or
// WithProducerBuilder. It raises Config.Version to 2.5.0 if it is lower
// (needed for group fencing of transactional offset commits, KIP-447),
// lowers Consumer.MaxWaitTime to a fifth of the commit interval (20 ms by
// default) and the transactional producers' Producer.Flush.Frequency to a
// twentieth (5 ms), if they are higher, so that neither a fetch nor a
// flush waits longer than a commit interval allows. It
// has no effect on processors run by the tester, which processes each
// message to the end before the next one and never crashes.
func WithProcessingGuarantee(g ProcessingGuarantee) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.guarantee = g }
}

// WithCommitInterval sets how often the processor commits. Under
// ExactlyOnce each partition commits its transaction this often: a shorter
// interval means lower end-to-end latency for read_committed consumers and
// more transactions per second (each costs a few requests to the
// transaction coordinator); default DefaultExactlyOnceCommitInterval
// (100 ms). Under AtLeastOnce it sets the consumer group's
// Consumer.Offsets.AutoCommit.Interval (default: the config's, sarama's
// 1 s), which bounds how much is processed again after a crash; it then
// cannot be combined with WithConsumerGroupBuilder. Not in Goka.
func WithCommitInterval(d time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.commitInterval = d }
}

// WithSaramaConfig sets the sarama config from which the processor builds
// its consumer group, table consumers and producer(s) when their builders
// are not replaced, instead of copies of the global config (see
// ReplaceGlobalConfig). The processor copies config and never writes it.
// Default: none (the default builders, which copy the global config). Not
// in Goka.
func WithSaramaConfig(config *sarama.Config) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		if config == nil {
			o.saramaConfig = nil
			return
		}
		c := *config
		o.saramaConfig = &c
	}
}

// exactlyOnce reports whether the processor runs transactions: not under
// the tester.
func (o *poptions) exactlyOnce() bool {
	return o.guarantee == ExactlyOnce && !o.testerClientID
}

// validateGuarantee checks the options of this file.
func (o *poptions) validateGuarantee() []error {
	var errs []error
	if o.guarantee != AtLeastOnce && o.guarantee != ExactlyOnce {
		errs = append(errs, fmt.Errorf("invalid ProcessingGuarantee %d (WithProcessingGuarantee)", int(o.guarantee)))
	}
	if o.commitInterval < 0 {
		errs = append(errs, fmt.Errorf("CommitInterval must be >= 0, got %v (WithCommitInterval)", o.commitInterval))
	}
	if o.exactlyOnce() && len(o.customBuilders) > 0 {
		errs = append(errs, fmt.Errorf("ExactlyOnce builds the processor's Kafka clients itself and cannot be combined with %v (WithProcessingGuarantee): pass their sarama config with WithSaramaConfig", o.customBuilders))
	}
	if !o.exactlyOnce() && o.commitInterval > 0 && !o.testerClientID && slices.Contains(o.customBuilders, "WithConsumerGroupBuilder") {
		errs = append(errs, fmt.Errorf("CommitInterval cannot be applied to the consumer group of WithConsumerGroupBuilder (WithCommitInterval): set Consumer.Offsets.AutoCommit.Interval in its config"))
	}
	return errs
}

// finishClients builds the Kafka client builders that WithSaramaConfig,
// WithCommitInterval and ExactlyOnce call for; it runs after the options
// were validated.
func (o *poptions) finishClients() {
	if o.testerClientID {
		return
	}
	custom := func(name string) bool { return slices.Contains(o.customBuilders, name) }
	if !o.exactlyOnce() && o.saramaConfig == nil && o.commitInterval == 0 && o.rebalance == rebalanceEager {
		return // the builders as they are: Goka's behaviour
	}
	var cfg *sarama.Config
	if o.saramaConfig != nil {
		c := *o.saramaConfig
		cfg = &c
	} else {
		cfg = globalConfigCopy()
	}
	if o.exactlyOnce() {
		// read_committed: inputs and tables written by transactions are
		// read once committed, aborted records never; and the offset
		// fetch of a session waits for pending transactional commits
		// (sarama sets RequireStable), so that a partition taken over
		// starts after what its previous owner committed.
		cfg.Consumer.IsolationLevel = sarama.ReadCommitted
		if !cfg.Version.IsAtLeast(sarama.V2_5_0_0) {
			cfg.Version = sarama.V2_5_0_0
		}
		if o.commitInterval == 0 {
			o.commitInterval = DefaultExactlyOnceCommitInterval
		}
		// A fetch the broker holds for up to MaxWaitTime (sarama: 500 ms)
		// can delay records that arrive meanwhile: on Kafka 4.4 the bench's
		// p99 from emit to committed output (latency-leveldb-eos, 2-core
		// machine, noisy) was 600-720 ms with 500 ms and 270-510 ms with
		// 20 ms. A fifth of the commit interval keeps the fetch wait below
		// the commit's own; it costs an empty fetch per broker that often
		// when the inputs are idle.
		if w := o.commitInterval / 5; cfg.Consumer.MaxWaitTime > w {
			cfg.Consumer.MaxWaitTime = w
		}
		tc := *cfg
		tc.Producer.Idempotent = true
		tc.Producer.RequiredAcks = sarama.WaitForAll
		tc.Net.MaxOpenRequests = 1
		if tc.Producer.Retry.Max < 1 {
			tc.Producer.Retry.Max = 1
		}
		tc.Producer.Return.Successes = true
		tc.Producer.Return.Errors = true
		// The partition takes no message while it commits, and the
		// commit first sends what the producer still holds: with the
		// default 100 ms flush that would be a whole interval's records,
		// sent during the pause. Sending them as they come keeps the
		// pause short (Kafka's producer lingers 5 ms by default).
		if f := o.commitInterval / 20; tc.Producer.Flush.Frequency > f {
			tc.Producer.Flush.Frequency = f
		}
		o.txnConfig = &tc
	}
	o.clientConfig = cfg
	if !custom("WithConsumerGroupBuilder") {
		gc := *cfg
		if !o.exactlyOnce() && o.commitInterval > 0 {
			gc.Consumer.Offsets.AutoCommit.Interval = o.commitInterval
		}
		o.builders.consumerGroup = ConsumerGroupBuilderWithConfig(&gc)
		o.groupConfig = &gc
	}
	if !custom("WithConsumerSaramaBuilder") {
		o.builders.consumerSarama = SaramaConsumerBuilderWithConfig(cfg)
	}
	if !custom("WithProducerBuilder") {
		o.builders.producer = ProducerBuilderWithConfig(cfg)
	}
}

// WithViewReadCommitted makes the view read only committed records:
// records of transactions still open are read once they commit, records of
// aborted transactions never. Use it for tables written by processors with
// ExactlyOnce; without it a view also applies what their aborted
// transactions wrote. Lookup tables of an exactly-once processor read
// committed without it. It builds the view's consumer from a copy of the
// global config with Consumer.IsolationLevel = sarama.ReadCommitted (and
// Version at least 0.11), so it cannot be combined with
// WithViewConsumerSaramaBuilder: set the isolation level in that config
// instead. Default: off (read uncommitted, as Goka). Not in Goka.
func WithViewReadCommitted() ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.readCommitted = true }
}

func (o *voptions) finishReadCommitted() {
	if !o.readCommitted || o.customConsumer || o.testerClientID {
		return
	}
	cfg := globalConfigCopy()
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	if !cfg.Version.IsAtLeast(sarama.V0_11_0_0) {
		cfg.Version = sarama.V0_11_0_0
	}
	o.builders.consumerSarama = SaramaConsumerBuilderWithConfig(cfg)
}
