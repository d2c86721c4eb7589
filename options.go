package goka

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"path/filepath"
	"time"

	"github.com/e3793d55/goka/storage"
)

// NilHandling says what a processor does with input messages whose value is
// nil (tombstones).
type NilHandling int

const (
	// NilIgnore drops nil messages and commits them (default).
	NilIgnore NilHandling = 0 + iota
	// NilProcess calls the callback with a nil message.
	NilProcess
	// NilDecode passes nil to the codec's Decode and calls the callback with
	// the result.
	NilDecode
)

// UpdateContext describes the table record an UpdateCallback applies.
type UpdateContext interface {
	// Topic returns the table topic.
	Topic() Stream
	// Partition returns the partition of the record.
	Partition() int32
	// Offset returns the offset of the record.
	Offset() int64
	// Headers returns the headers of the record.
	Headers() Headers
	// Timestamp returns the timestamp of the record.
	Timestamp() time.Time
}

// UpdateCallback applies a table record to the local storage. It runs for
// every record read from a table topic: during processor recovery and for
// joins, lookups, views and hot-standby partitions. The offset is stored
// after it.
type UpdateCallback func(ctx UpdateContext, s storage.Storage, key string, value []byte) error

// RebalanceCallback is called with the partitions assigned to the processor
// at every rebalance. The values are always -1 (sarama.OffsetNewest), as in
// Goka.
type RebalanceCallback func(a Assignment)

// Assignment maps assigned partitions to offsets.
type Assignment map[int32]int64

// ContextWrapper wraps the Context handed to callbacks and visitors.
type ContextWrapper func(ctx Context) Context

// DefaultUpdateContext is the UpdateContext goka passes to UpdateCallbacks.
type DefaultUpdateContext struct {
	topic     Stream
	partition int32
	offset    int64
	headers   Headers
	timestamp time.Time
}

// Topic returns the table topic.
func (ctx DefaultUpdateContext) Topic() Stream { return ctx.topic }

// Partition returns the partition of the record.
func (ctx DefaultUpdateContext) Partition() int32 { return ctx.partition }

// Offset returns the offset of the record.
func (ctx DefaultUpdateContext) Offset() int64 { return ctx.offset }

// Headers returns the headers of the record.
func (ctx DefaultUpdateContext) Headers() Headers { return ctx.headers }

// Timestamp returns the timestamp of the record.
func (ctx DefaultUpdateContext) Timestamp() time.Time { return ctx.timestamp }

// DefaultUpdate deletes key for a nil value and sets it otherwise.
func DefaultUpdate(ctx UpdateContext, s storage.Storage, key string, value []byte) error {
	if value == nil {
		return s.Delete(key)
	}
	return s.Set(key, value)
}

// DefaultRebalance does nothing.
func DefaultRebalance(a Assignment) {}

// DefaultHasher returns the FNV-1a 32-bit hasher, Goka's partitioning hash.
func DefaultHasher() func() hash.Hash32 {
	return fnv.New32a
}

// DefaultProcessorStoragePath returns /tmp/goka/processor/<group>, Goka's
// storage path of a processor.
func DefaultProcessorStoragePath(group Group) string {
	return filepath.Join("/tmp", "goka", "processor", string(group))
}

// DefaultViewStoragePath returns /tmp/goka/view, Goka's storage path of
// views. NewView uses a subdirectory per view instance by default so that
// two views in one process cannot clash; see WithViewStoragePath.
func DefaultViewStoragePath() string {
	return filepath.Join("/tmp", "goka", "view")
}

// Tester is implemented by the tester package: it replaces Kafka and the
// storages by in-memory fakes.
type Tester interface {
	StorageBuilder() storage.Builder
	ProducerBuilder() ProducerBuilder
	ConsumerGroupBuilder() ConsumerGroupBuilder
	ConsumerBuilder() SaramaConsumerBuilder
	EmitterProducerBuilder() ProducerBuilder
	TopicManagerBuilder() TopicManagerBuilder
	RegisterGroupGraph(*GroupGraph) string
	RegisterEmitter(Stream, Codec)
	RegisterView(Table, Codec) string
}

// ---------------------------------------------------------------------------
// Processor options

// ProcessorOption configures a processor.
type ProcessorOption func(*poptions, *GroupGraph)

type builders struct {
	storage        storage.Builder
	consumerSarama SaramaConsumerBuilder
	consumerGroup  ConsumerGroupBuilder
	producer       ProducerBuilder
	topicmgr       TopicManagerBuilder
	backoff        BackoffBuilder
}

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
	testerClientID         bool
	brokerOutageTimeout    time.Duration
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
	check := func(bad bool, name string) {
		if bad {
			errs = append(errs, fmt.Errorf("%s not set", name))
		}
	}
	check(o.builders.storage == nil, "StorageBuilder")
	check(o.builders.consumerSarama == nil, "SaramaConsumerBuilder")
	check(o.builders.consumerGroup == nil, "ConsumerGroupBuilder")
	check(o.builders.producer == nil, "ProducerBuilder")
	check(o.builders.topicmgr == nil, "TopicManagerBuilder")
	check(o.builders.backoff == nil, "BackoffBuilder")
	check(o.log == nil, "Logger")
	check(o.hasher == nil, "Hasher")
	check(o.updateCallback == nil, "UpdateCallback")
	check(o.rebalanceCallback == nil, "RebalanceCallback")
	check(o.contextWrapper == nil, "ContextWrapper")
	if o.partitionChannelSize < 0 {
		errs = append(errs, fmt.Errorf("PartitionChannelSize must be >= 0, got %d", o.partitionChannelSize))
	}
	if o.nilHandling < NilIgnore || o.nilHandling > NilDecode {
		errs = append(errs, fmt.Errorf("invalid NilHandling %d", o.nilHandling))
	}
	if o.backoffResetTime < 0 {
		errs = append(errs, fmt.Errorf("BackoffResetTimeout must be >= 0, got %v", o.backoffResetTime))
	}
	if o.storageFlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("StorageFlushInterval must be > 0, got %v", o.storageFlushInterval))
	}
	if o.brokerOutageTimeout < 0 {
		errs = append(errs, fmt.Errorf("BrokerOutageTimeout must be >= 0, got %v", o.brokerOutageTimeout))
	}
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

// WithTopicManagerBuilder sets the topic manager builder. Default:
// DefaultTopicManagerBuilder.
func WithTopicManagerBuilder(tmb TopicManagerBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.topicmgr = tmb }
}

// WithConsumerGroupBuilder sets the consumer group builder. Default:
// DefaultConsumerGroupBuilder.
func WithConsumerGroupBuilder(cgb ConsumerGroupBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.consumerGroup = cgb }
}

// WithConsumerSaramaBuilder sets the builder of the consumer reading
// tables. Default: DefaultSaramaConsumerBuilder.
func WithConsumerSaramaBuilder(cgb SaramaConsumerBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.consumerSarama = cgb }
}

// WithProducerBuilder sets the producer builder. Default:
// DefaultProducerBuilder.
func WithProducerBuilder(pb ProducerBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.producer = pb }
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
	}
}

// WithBrokerOutageTimeout sets how long the processor rides out an outage
// of all its brokers. While it runs, the processor opens a TCP connection
// to one of its seed brokers every second; when none accepts, it shows the
// outage (state ProcStateSetup, Recovered false, ProcessorStats.Brokers),
// ends its consumer-group session and rejoins as soon as a broker answers.
// When no broker answered for d, Run returns an error wrapping
// ErrBrokerUnreachable that names the brokers. 0 rides out any outage.
// Processors run by the tester do not probe. Default:
// DefaultBrokerOutageTimeout (60 s). Not in Goka, whose processor notices
// an outage only when a request fails.
func WithBrokerOutageTimeout(d time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.brokerOutageTimeout = d }
}

// ---------------------------------------------------------------------------
// View options

// ViewOption configures a view.
type ViewOption func(*voptions, Table, Codec)

type voptions struct {
	log              Logger
	clientID         string
	testerClientID   bool // the tester's client ID wins over WithViewClientID
	updateCallback   UpdateCallback
	hasher           func() hash.Hash32
	autoreconnect    bool
	backoffResetTime time.Duration
	topicWait        time.Duration
	builders         builders
	outageTimeout    time.Duration
}

// DefaultViewTopicWait is how long View.Run waits for a missing table topic
// to be created (see WithViewTopicWait). It covers the usual start-up where
// the processor owning the table creates the topic in its own Run while the
// view starts, plus the topic manager's CreateTopicTimeout.
const DefaultViewTopicWait = 30 * time.Second

func (o *voptions) applyDefaults(topic Table) {
	o.log = DefaultLogger()
	o.clientID = "goka-view-" + string(topic)
	o.updateCallback = DefaultUpdate
	o.hasher = DefaultHasher()
	o.backoffResetTime = 60 * time.Second
	o.topicWait = DefaultViewTopicWait
	o.outageTimeout = DefaultBrokerOutageTimeout
	o.builders = builders{
		// nil storage means: a private directory per view, chosen in NewView.
		consumerSarama: DefaultSaramaConsumerBuilder,
		topicmgr:       DefaultTopicManagerBuilder,
		backoff:        DefaultBackoffBuilder,
	}
}

func (o *voptions) validate() error {
	var errs []error
	check := func(bad bool, name string) {
		if bad {
			errs = append(errs, fmt.Errorf("%s not set", name))
		}
	}
	check(o.builders.consumerSarama == nil, "SaramaConsumerBuilder")
	check(o.builders.topicmgr == nil, "TopicManagerBuilder")
	check(o.builders.backoff == nil, "BackoffBuilder")
	check(o.log == nil, "Logger")
	check(o.hasher == nil, "Hasher")
	check(o.updateCallback == nil, "UpdateCallback")
	if o.backoffResetTime < 0 {
		errs = append(errs, fmt.Errorf("BackoffResetTimeout must be >= 0, got %v", o.backoffResetTime))
	}
	if o.topicWait < 0 {
		errs = append(errs, fmt.Errorf("TopicWait must be >= 0, got %v", o.topicWait))
	}
	if o.outageTimeout < 0 {
		errs = append(errs, fmt.Errorf("BrokerOutageTimeout must be >= 0, got %v", o.outageTimeout))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid view options: %w", errors.Join(errs...))
	}
	return nil
}

// WithViewLogger sets the logger. Default: DefaultLogger().
func WithViewLogger(l Logger) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.log = l }
}

// WithViewCallback sets the callback applying table records to storage.
// Default: DefaultUpdate.
func WithViewCallback(cb UpdateCallback) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.updateCallback = cb }
}

// WithViewStorageBuilder sets the storage of the view. Default: LevelDB in
// a directory of its own under DefaultViewStoragePath(), unique per view
// instance, so that two views of one table in one process do not clash
// (Goka shares one directory; pass storage.DefaultBuilder(DefaultViewStoragePath())
// to get Goka's layout and keep the local copy across restarts).
func WithViewStorageBuilder(sb storage.Builder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.storage = sb }
}

// WithViewConsumerSaramaBuilder sets the consumer builder. Default:
// DefaultSaramaConsumerBuilder.
func WithViewConsumerSaramaBuilder(cgb SaramaConsumerBuilder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.consumerSarama = cgb }
}

// WithViewTopicManagerBuilder sets the topic manager builder. Default:
// DefaultTopicManagerBuilder.
func WithViewTopicManagerBuilder(tmb TopicManagerBuilder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.topicmgr = tmb }
}

// WithViewBackoffBuilder sets the backoff between reconnection attempts.
// Default: DefaultBackoffBuilder.
func WithViewBackoffBuilder(bb BackoffBuilder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.backoff = bb }
}

// WithViewHasher sets the hash mapping keys to partitions. Default:
// DefaultHasher().
func WithViewHasher(hasher func() hash.Hash32) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.hasher = hasher }
}

// WithViewClientID sets the Kafka client ID. Default: "goka-view-<table>".
// After WithViewTester it is ignored: the tester finds its views by the
// client ID it handed out (Goka breaks in that order).
func WithViewClientID(clientID string) ViewOption {
	return func(o *voptions, table Table, codec Codec) {
		if !o.testerClientID {
			o.clientID = clientID
		}
	}
}

// WithViewRestartable is a deprecated alias of WithViewAutoReconnect, kept
// for Goka compatibility.
//
// Deprecated: use WithViewAutoReconnect.
func WithViewRestartable() ViewOption {
	return func(o *voptions, table Table, codec Codec) {
		o.log.Printf("goka: WithViewRestartable is deprecated, use WithViewAutoReconnect")
		o.autoreconnect = true
	}
}

// WithViewAutoReconnect makes Run retry with backoff after a connection
// error instead of returning it. Default: off.
func WithViewAutoReconnect() ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.autoreconnect = true }
}

// WithViewBackoffResetTimeout sets how long a connection must stay healthy
// before the backoff resets. Default: 60 s.
func WithViewBackoffResetTimeout(duration time.Duration) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.backoffResetTime = duration }
}

// WithViewTopicWait sets how long Run waits for the table topic when it
// does not exist yet, polling the topic manager, before it returns an error
// wrapping ErrTopicNotFound. Goka checks the topic in NewView, after
// NewProcessor has created it; here constructors do no network I/O and the
// processor creates its table in Run, so a view started together with the
// processor of its table waits for the topic instead of failing. 0 fails at
// once. Lookup tables of a processor use the default. Default:
// DefaultViewTopicWait (30 s).
func WithViewTopicWait(d time.Duration) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.topicWait = d }
}

// WithViewTester replaces Kafka and the storage with the tester's fakes.
func WithViewTester(t Tester) ViewOption {
	return func(o *voptions, table Table, codec Codec) {
		o.builders.storage = t.StorageBuilder()
		o.builders.topicmgr = t.TopicManagerBuilder()
		o.builders.consumerSarama = t.ConsumerBuilder()
		o.clientID = t.RegisterView(table, codec)
		o.testerClientID = true
	}
}

// WithViewBrokerOutageTimeout sets how long a view without
// WithViewAutoReconnect rides out an outage of all its brokers. While it
// runs, the view opens a TCP connection to one of its seed brokers every
// second; when none accepts, it shows the outage (ViewStateConnecting,
// ViewStats.Brokers), stops its consumers and reconnects as soon as a
// broker answers, and when none answered for d, Run returns an error
// wrapping ErrBrokerUnreachable that names the brokers. 0 rides out any
// outage. With WithViewAutoReconnect the view rides out any outage, as if
// d were 0. Views run by the tester do not probe. Default:
// DefaultBrokerOutageTimeout (60 s). Not in Goka, whose view keeps
// "running" without brokers.
func WithViewBrokerOutageTimeout(d time.Duration) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.outageTimeout = d }
}

// ---------------------------------------------------------------------------
// Emitter options

// EmitterOption configures an emitter.
type EmitterOption func(*eoptions, Stream, Codec)

type eoptions struct {
	log            Logger
	clientID       string
	hasher         func() hash.Hash32
	defaultHeaders Headers
	builders       builders
}

func (o *eoptions) applyDefaults(topic Stream) {
	o.log = DefaultLogger()
	o.clientID = "goka-emitter-" + string(topic)
	o.hasher = DefaultHasher()
	o.builders = builders{
		producer: DefaultProducerBuilder,
		topicmgr: DefaultTopicManagerBuilder,
	}
}

func (o *eoptions) validate() error {
	var errs []error
	if o.builders.producer == nil {
		errs = append(errs, errors.New("producer builder not set (WithEmitterProducerBuilder)"))
	}
	if o.log == nil {
		errs = append(errs, errors.New("logger not set (WithEmitterLogger)"))
	}
	if o.hasher == nil {
		errs = append(errs, errors.New("hasher not set (WithEmitterHasher)"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid emitter options: %w", errors.Join(errs...))
	}
	return nil
}

// WithEmitterLogger sets the logger. Default: DefaultLogger().
func WithEmitterLogger(l Logger) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.log = l }
}

// WithEmitterClientID sets the Kafka client ID. Default:
// "goka-emitter-<topic>".
func WithEmitterClientID(clientID string) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.clientID = clientID }
}

// WithEmitterTopicManagerBuilder exists for Goka compatibility; emitters do
// not use a topic manager.
func WithEmitterTopicManagerBuilder(tmb TopicManagerBuilder) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.builders.topicmgr = tmb }
}

// WithEmitterProducerBuilder sets the producer builder. Default:
// DefaultProducerBuilder.
func WithEmitterProducerBuilder(pb ProducerBuilder) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.builders.producer = pb }
}

// WithEmitterHasher sets the partitioning hash. Default: DefaultHasher().
func WithEmitterHasher(hasher func() hash.Hash32) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.hasher = hasher }
}

// WithEmitterTester replaces Kafka with the tester.
func WithEmitterTester(t Tester) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) {
		o.builders.producer = t.EmitterProducerBuilder()
		t.RegisterEmitter(topic, codec)
	}
}

// WithEmitterDefaultHeaders sets headers added to every emitted message;
// headers given to EmitWithHeaders win. Default: none.
func WithEmitterDefaultHeaders(headers Headers) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.defaultHeaders = headers }
}
