package goka

import (
	"context"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/kafka"
)

// TopicManager checks and creates topics.
type TopicManager interface {
	// EnsureTableExists makes sure a compacted table topic with npar
	// partitions exists, creating it if it is missing.
	EnsureTableExists(topic string, npar int) error
	// EnsureStreamExists makes sure a stream topic with npar partitions
	// exists, creating it with the stream retention if it is missing.
	EnsureStreamExists(topic string, npar int) error
	// EnsureTopicExists makes sure topic exists with npar partitions,
	// replication factor rfactor and config.
	EnsureTopicExists(topic string, npar, rfactor int, config map[string]string) error
	// Partitions returns the partitions of topic, or an error wrapping
	// ErrTopicNotFound.
	Partitions(topic string) ([]int32, error)
	// GetOffset returns the offset of partitionID at time: sarama.OffsetOldest
	// or sarama.OffsetNewest (the high-water mark) or a timestamp in ms.
	GetOffset(topic string, partitionID int32, time int64) (int64, error)
	// Close releases the connections.
	Close() error
}

// TMConfigMismatchBehavior says what the topic manager does when an
// existing topic differs from what was requested.
type TMConfigMismatchBehavior int

const (
	// TMConfigMismatchBehaviorIgnore accepts the difference silently (Goka's
	// default).
	TMConfigMismatchBehaviorIgnore TMConfigMismatchBehavior = 0
	// TMConfigMismatchBehaviorWarn logs the difference.
	TMConfigMismatchBehaviorWarn TMConfigMismatchBehavior = 1
	// TMConfigMismatchBehaviorFail returns an error.
	TMConfigMismatchBehaviorFail TMConfigMismatchBehavior = 2
)

// TopicManagerConfig configures the topic manager.
type TopicManagerConfig struct {
	// Logger gets the topic manager's log lines. Default: DefaultLogger().
	Logger Logger
	Table  struct {
		// Replication is the replication factor of new table topics.
		// Default: 2 (Goka's; set 1 for a single broker).
		Replication int
		// CleanupPolicy of new table topics. Default: "compact".
		CleanupPolicy string
	}
	Stream struct {
		// Replication is the replication factor of new stream topics.
		// Default: 2.
		Replication int
		// Retention of new stream topics. Default: 1 h.
		Retention time.Duration
		// CleanupPolicy of new stream topics. Default: "delete".
		CleanupPolicy string
	}
	// CreateTopicTimeout bounds the wait for a created topic to show up in
	// the metadata; 0 means no wait. Default: 10 s.
	CreateTopicTimeout time.Duration
	// MismatchBehavior says what to do when an existing topic differs from
	// the request. Default: TMConfigMismatchBehaviorIgnore.
	MismatchBehavior TMConfigMismatchBehavior
	// NoCreate makes Ensure* return an error instead of creating a missing
	// topic. Default: false.
	NoCreate bool
}

// NewTopicManagerConfig returns the default topic manager configuration.
func NewTopicManagerConfig() *TopicManagerConfig {
	d := kafka.DefaultConfig()
	cfg := &TopicManagerConfig{Logger: DefaultLogger()}
	cfg.Table.Replication = d.Table.Replication
	cfg.Table.CleanupPolicy = d.Table.CleanupPolicy
	cfg.Stream.Replication = d.Stream.Replication
	cfg.Stream.Retention = d.Stream.Retention
	cfg.Stream.CleanupPolicy = d.Stream.CleanupPolicy
	cfg.CreateTopicTimeout = d.CreateTopicTimeout
	return cfg
}

// internal returns the internal/kafka copy of c, with DefaultLogger() for
// a nil Logger. c itself is not written.
func (c *TopicManagerConfig) internal() kafka.Config {
	var k kafka.Config
	k.Logger = c.Logger
	if k.Logger == nil {
		k.Logger = DefaultLogger()
	}
	k.Table.Replication = c.Table.Replication
	k.Table.CleanupPolicy = c.Table.CleanupPolicy
	k.Stream.Replication = c.Stream.Replication
	k.Stream.Retention = c.Stream.Retention
	k.Stream.CleanupPolicy = c.Stream.CleanupPolicy
	k.CreateTopicTimeout = c.CreateTopicTimeout
	k.MismatchBehavior = kafka.MismatchBehavior(c.MismatchBehavior)
	k.NoCreate = c.NoCreate
	return k
}

// Broker is the part of a sarama broker goka uses.
type Broker interface {
	Addr() string
	Connected() (bool, error)
	CreateTopics(request *sarama.CreateTopicsRequest) (*sarama.CreateTopicsResponse, error)
	Open(conf *sarama.Config) error
}

// NewTopicManager connects to brokers and returns a topic manager. It needs
// saramaConfig.Version >= 0.10 and fails when no broker answers. A nil
// topicManagerConfig means NewTopicManagerConfig(). It copies both configs
// and writes into neither (Goka sets a nil Logger in topicManagerConfig):
// they may be shared by several components.
func NewTopicManager(brokers []string, saramaConfig *sarama.Config, topicManagerConfig *TopicManagerConfig) (TopicManager, error) {
	if topicManagerConfig == nil {
		topicManagerConfig = NewTopicManagerConfig()
	}
	tm, err := kafka.New(brokers, saramaConfig, topicManagerConfig.internal())
	if err != nil {
		return nil, err
	}
	return tm, nil
}

// The engine's own topic manager has context-aware variants of the
// TopicManager methods, so that stop and rebalance need not wait for a
// retry loop or a slow broker. Goka's TopicManager interface is public and
// must stay as it is, so the engine finds them by type assertion: a
// user-supplied topic manager without them still works, with waits that
// end only by their own timeouts. The helpers below pick the variant.
type topicManagerContext interface {
	PartitionsContext(ctx context.Context, topic string) ([]int32, error)
	GetOffsetContext(ctx context.Context, topic string, partition int32, at int64) (int64, error)
	EnsureTableExistsContext(ctx context.Context, topic string, npar int) error
	EnsureStreamExistsContext(ctx context.Context, topic string, npar int) error
}

// endProber is implemented by topic managers that can look at the raw
// record batches of a partition, to end a recovery whose partition ends
// with transaction markers (see kafka.TopicManager.NoDataBetween).
type endProber interface {
	// NoDataBetween reports whether [from, hwm) of the partition holds no
	// data record, only transaction markers, aborted or compacted-away
	// records.
	NoDataBetween(ctx context.Context, topic string, partition int32, from, hwm int64) (bool, error)
}

var (
	_ TopicManager        = (*kafka.TopicManager)(nil)
	_ topicManagerContext = (*kafka.TopicManager)(nil)
	_ endProber           = (*kafka.TopicManager)(nil)
)

// getOffset is tm.GetOffset, ending with ctx when tm supports it.
func getOffset(ctx context.Context, tm TopicManager, topic string, partition int32, at int64) (int64, error) {
	if c, ok := tm.(topicManagerContext); ok {
		return c.GetOffsetContext(ctx, topic, partition, at)
	}
	return tm.GetOffset(topic, partition, at)
}

// topicPartitions is tm.Partitions, ending with ctx when tm supports it.
func topicPartitions(ctx context.Context, tm TopicManager, topic string) ([]int32, error) {
	if c, ok := tm.(topicManagerContext); ok {
		return c.PartitionsContext(ctx, topic)
	}
	return tm.Partitions(topic)
}

// ensureTable is tm.EnsureTableExists, ending with ctx when tm supports it.
func ensureTable(ctx context.Context, tm TopicManager, topic string, n int) error {
	if c, ok := tm.(topicManagerContext); ok {
		return c.EnsureTableExistsContext(ctx, topic, n)
	}
	return tm.EnsureTableExists(topic, n)
}

// ensureStream is tm.EnsureStreamExists, ending with ctx when tm supports
// it.
func ensureStream(ctx context.Context, tm TopicManager, topic string, n int) error {
	if c, ok := tm.(topicManagerContext); ok {
		return c.EnsureStreamExistsContext(ctx, topic, n)
	}
	return tm.EnsureStreamExists(topic, n)
}
