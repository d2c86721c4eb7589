package goka

import (
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

// builders holds the component builders; each component's applyDefaults
// fills the ones it uses.
type builders struct {
	storage        storage.Builder
	consumerSarama SaramaConsumerBuilder
	consumerGroup  ConsumerGroupBuilder
	producer       ProducerBuilder
	topicmgr       TopicManagerBuilder
	backoff        BackoffBuilder
}
