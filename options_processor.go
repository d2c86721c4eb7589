package goka

import (
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/storage"
)

// ProcessorOption configures a processor.
type ProcessorOption func(*poptions, *GroupGraph)

type poptions struct {
	log                    Logger
	clientID               string
	updateCallback         UpdateCallback
	rebalanceCallback      RebalanceCallback
	partitionChannelSize   int
	hasher                 func() hash.Hash32
	nilHandling            NilHandling
	backoffResetTime       time.Duration
	hotStandby             bool
	recoverAhead           bool
	producerDefaultHeaders Headers
	contextWrapper         ContextWrapper
	graphHooks             []func(*GroupGraph)
	storageFlushInterval   time.Duration
	builders               builders
	timeStorage            storage.Builder // WithTimeStorageBuilder; nil: builders.storage
	testerClientID         bool
	brokerOutageTimeout    time.Duration
	clock                  Clock      // nil: the real clock (window_runtime.go)
	obs                    *observers // WithObserver; nil: none
	writeCacheBytes        int        // WithTableWriteCache (write_cache.go)

	// Exactly-once (options_eos.go).
	guarantee      ProcessingGuarantee
	commitInterval time.Duration  // 0: the guarantee's default
	saramaConfig   *sarama.Config // WithSaramaConfig; nil: the builders' own
	// customBuilders names the options that replaced a Kafka client
	// builder, which exactly-once cannot configure.
	customBuilders []string
	// txnConfig is the config of the transactional producers, set by
	// finish under exactly-once.
	txnConfig *sarama.Config
	// clientConfig is the config finishClients gave the builders it
	// replaced; nil when it kept Goka's.
	clientConfig *sarama.Config
	// groupConfig is the consumer group's config finishClients built,
	// which the cooperative strategy extends; nil when it kept Goka's
	// builder.
	groupConfig *sarama.Config

	// Cooperative rebalancing (options_cooperative.go).
	rebalance       rebalanceMode
	queryAddress    string
	standbyReplicas int
	acceptableLag   int64
	maxWarmups      int
	probingInterval time.Duration
}

// applyDefaults sets every processor default in one place.
func (o *poptions) applyDefaults(gg *GroupGraph) {
	o.log = DefaultLogger()
	o.clientID = "goka-processor-" + string(gg.Group())
	o.updateCallback = DefaultUpdate
	o.rebalanceCallback = DefaultRebalance
	o.partitionChannelSize = 10
	o.hasher = DefaultHasher()
	o.nilHandling = NilIgnore
	o.backoffResetTime = 60 * time.Second
	o.contextWrapper = func(ctx Context) Context { return ctx }
	o.storageFlushInterval = time.Second
	o.brokerOutageTimeout = DefaultBrokerOutageTimeout
	o.acceptableLag = DefaultAcceptableRecoveryLag
	o.maxWarmups = DefaultMaxWarmupReplicas
	o.probingInterval = DefaultProbingRebalanceInterval
	o.builders = builders{
		storage:        storage.DefaultBuilder(DefaultProcessorStoragePath(gg.Group())),
		consumerSarama: DefaultSaramaConsumerBuilder,
		consumerGroup:  DefaultConsumerGroupBuilder,
		producer:       DefaultProducerBuilder,
		topicmgr:       DefaultTopicManagerBuilder,
		backoff:        DefaultBackoffBuilder,
	}
}

func (o *poptions) validate() error {
	var errs []error
	check := func(bad bool, field, option string) {
		if bad {
			errs = append(errs, fmt.Errorf("%s not set (%s)", field, option))
		}
	}
	check(o.builders.storage == nil, "StorageBuilder", "WithStorageBuilder")
	check(o.builders.consumerSarama == nil, "SaramaConsumerBuilder", "WithConsumerSaramaBuilder")
	check(o.builders.consumerGroup == nil, "ConsumerGroupBuilder", "WithConsumerGroupBuilder")
	check(o.builders.producer == nil, "ProducerBuilder", "WithProducerBuilder")
	check(o.builders.topicmgr == nil, "TopicManagerBuilder", "WithTopicManagerBuilder")
	check(o.builders.backoff == nil, "BackoffBuilder", "WithBackoffBuilder")
	check(o.log == nil, "Logger", "WithLogger")
	check(o.hasher == nil, "Hasher", "WithHasher")
	check(o.updateCallback == nil, "UpdateCallback", "WithUpdateCallback")
	check(o.rebalanceCallback == nil, "RebalanceCallback", "WithRebalanceCallback")
	check(o.contextWrapper == nil, "ContextWrapper", "WithContextWrapper")
	if o.partitionChannelSize < 0 {
		errs = append(errs, fmt.Errorf("PartitionChannelSize must be >= 0, got %d (WithPartitionChannelSize)", o.partitionChannelSize))
	}
	if o.nilHandling < NilIgnore || o.nilHandling > NilDecode {
		errs = append(errs, fmt.Errorf("invalid NilHandling %d (WithNilHandling)", o.nilHandling))
	}
	if o.backoffResetTime < 0 {
		errs = append(errs, fmt.Errorf("BackoffResetTimeout must be >= 0, got %v (WithBackoffResetTimeout)", o.backoffResetTime))
	}
	if o.storageFlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("StorageFlushInterval must be > 0, got %v (WithStorageFlushInterval)", o.storageFlushInterval))
	}
	if o.writeCacheBytes < 0 {
		errs = append(errs, fmt.Errorf("TableWriteCache must be >= 0, got %d (WithTableWriteCache)", o.writeCacheBytes))
	}
	if o.brokerOutageTimeout < 0 {
		errs = append(errs, fmt.Errorf("BrokerOutageTimeout must be >= 0, got %v (WithBrokerOutageTimeout)", o.brokerOutageTimeout))
	}
	errs = append(errs, o.validateGuarantee()...)
	errs = append(errs, o.validateCooperative()...)
	if len(errs) > 0 {
		return fmt.Errorf("invalid processor options: %w", errors.Join(errs...))
	}
	return nil
}

// WithClientID sets the Kafka client ID. Default: "goka-processor-<group>".
func WithClientID(clientID string) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		// The tester finds its processors by the client ID it handed out;
		// Goka breaks when WithClientID follows WithTester, we keep the
		// tester's.
		if !o.testerClientID {
			o.clientID = clientID
		}
	}
}

// WithUpdateCallback sets the callback applying table records to storage.
// Default: DefaultUpdate.
func WithUpdateCallback(cb UpdateCallback) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.updateCallback = cb }
}

// WithStorageBuilder sets the storage of the group table and of joined
// tables. Default: LevelDB under DefaultProcessorStoragePath(group).
func WithStorageBuilder(sb storage.Builder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.storage = sb }
}

// WithTimeStorageBuilder sets the storage of the partitions' time stores,
// which hold the windows of a Windowed edge, the timers and the punctuation
// state (their changelog is WindowTable(group)); the builder is called with
// that topic name. Default: nil, the builder of WithStorageBuilder. Under
// WithTester the tester's storage is used whatever this option says.
//
// A time store sees a different load than a table: with the default
// Retention it holds only the open windows, each written a few times and
// deleted when it closes. LevelDB's memory for it is its write buffers
// (goleveldb's default 4 MiB, of which it keeps up to three per store,
// about 18 MB with their skip lists, reached after a few million writes),
// not the windows; a builder with storage.WithMemoryBudget bounds them.
// The bench's window workloads give each time store 1 MiB, which keeps
// their peak RSS flat as a run gets longer (README, "Benchmarks /
// Windows"):
//
//	goka.WithTimeStorageBuilder(storage.LevelDBBuilder(path,
//		storage.WithMemoryBudget(int64(partitions)<<20, partitions)))
//
// Not in Goka, which has no time stores.
func WithTimeStorageBuilder(sb storage.Builder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.timeStorage = sb }
}

// timeStorageBuilder returns the builder of the time stores.
func (o *poptions) timeStorageBuilder() storage.Builder {
	if o.timeStorage == nil || o.testerClientID {
		return o.builders.storage
	}
	return o.timeStorage
}

// WithTopicManagerBuilder sets the topic manager builder. Default:
// DefaultTopicManagerBuilder.
func WithTopicManagerBuilder(tmb TopicManagerBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.topicmgr = tmb }
}

// WithConsumerGroupBuilder sets the consumer group builder. Default:
// DefaultConsumerGroupBuilder.
func WithConsumerGroupBuilder(cgb ConsumerGroupBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		o.builders.consumerGroup = cgb
		o.customBuilders = append(o.customBuilders, "WithConsumerGroupBuilder")
	}
}

// WithConsumerSaramaBuilder sets the builder of the consumer reading
// tables. Default: DefaultSaramaConsumerBuilder.
func WithConsumerSaramaBuilder(cgb SaramaConsumerBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		o.builders.consumerSarama = cgb
		o.customBuilders = append(o.customBuilders, "WithConsumerSaramaBuilder")
	}
}

// WithProducerBuilder sets the producer builder. Default:
// DefaultProducerBuilder.
func WithProducerBuilder(pb ProducerBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		o.builders.producer = pb
		o.customBuilders = append(o.customBuilders, "WithProducerBuilder")
	}
}

// WithBackoffBuilder sets the backoff between reconnection attempts of the
// processor and its lookup views. Default: DefaultBackoffBuilder.
func WithBackoffBuilder(bb BackoffBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.backoff = bb }
}

// WithBackoffResetTimeout sets how long a connection must stay healthy
// before the backoff resets. Default: 60 s.
func WithBackoffResetTimeout(duration time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.backoffResetTime = duration }
}

// WithPartitionChannelSize sets the buffer of each partition's message
// channel. Default: 10.
func WithPartitionChannelSize(size int) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.partitionChannelSize = size }
}

// WithLogger sets the logger. Default: DefaultLogger().
func WithLogger(l Logger) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.log = l }
}

// WithHasher sets the partitioning hash of emits and table writes; it must
// match the producers of the inputs. Default: DefaultHasher() (FNV-1a).
func WithHasher(hasher func() hash.Hash32) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.hasher = hasher }
}

// WithHotStandby keeps every partition of the group table and of joined
// tables that is not assigned to this instance up to date locally, so that
// taking it over needs no recovery. Default: off.
func WithHotStandby() ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.hotStandby = true }
}

// WithRecoverAhead recovers every partition of the group table and of
// joined tables before joining the consumer group. Default: off.
func WithRecoverAhead() ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.recoverAhead = true }
}

// WithGroupGraphHook runs hook with the graph inside NewProcessor.
func WithGroupGraphHook(hook func(gg *GroupGraph)) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.graphHooks = append(o.graphHooks, hook) }
}

// WithProducerDefaultHeaders sets headers added to every Emit and Loopback
// (not to table writes, as in Goka). Default: none.
func WithProducerDefaultHeaders(hdr Headers) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.producerDefaultHeaders = hdr }
}

// WithNilHandling sets what happens with nil input values. Default:
// NilIgnore.
func WithNilHandling(nh NilHandling) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.nilHandling = nh }
}

// WithContextWrapper wraps the Context of callbacks and visitors. Default:
// none.
func WithContextWrapper(wrapper ContextWrapper) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.contextWrapper = wrapper }
}

// WithRebalanceCallback sets the callback called at every rebalance.
// Default: DefaultRebalance.
func WithRebalanceCallback(cb RebalanceCallback) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.rebalanceCallback = cb }
}

// WithStorageFlushInterval sets how often buffered storage writes are
// flushed to disk, together with the offset, in one batch. Shorter means
// less replay after a crash and more disk writes. Default: 1 s. Not in
// Goka.
func WithStorageFlushInterval(d time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.storageFlushInterval = d }
}

// WithTester replaces Kafka and the storages with the tester's fakes.
func WithTester(t Tester) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		o.builders.storage = t.StorageBuilder()
		o.builders.producer = t.ProducerBuilder()
		o.builders.consumerGroup = t.ConsumerGroupBuilder()
		o.builders.consumerSarama = t.ConsumerBuilder()
		o.builders.topicmgr = t.TopicManagerBuilder()
		o.partitionChannelSize = 0
		o.clientID = t.RegisterGroupGraph(gg)
		o.testerClientID = true
		if c, ok := t.(interface{ Clock() Clock }); ok {
			o.clock = c.Clock()
		}
	}
}

// WithBrokerOutageTimeout sets how long the processor rides out an outage
// of all its brokers. While it runs, the processor opens a TCP connection
// to one of its seed brokers every second; when none accepts, it shows the
// outage (state ProcStateSetup, Recovered false, ProcessorStats.Brokers),
// ends its consumer-group session and rejoins as soon as a broker answers.
// When no broker answered for d, Run returns an error wrapping
// ErrBrokerUnreachable that names the brokers. Brokers that accept
// connections but fail every request are not seen by the probe: when
// consumer-group sessions keep failing before any is set up for longer
// than d, Run returns the last session's error (Goka's Run returns the
// first). 0 rides out any outage.
// Processors run by the tester do not probe. Default:
// DefaultBrokerOutageTimeout (15 s). Not in Goka, whose processor notices
// an outage only when a request fails.
func WithBrokerOutageTimeout(d time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.brokerOutageTimeout = d }
}
