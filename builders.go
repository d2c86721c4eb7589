package goka

import (
	"fmt"
	"hash"
	"time"

	"github.com/IBM/sarama"
)

// ProducerBuilder creates the producer of a processor or an emitter.
type ProducerBuilder func(brokers []string, clientID string, hasher func() hash.Hash32) (Producer, error)

// TopicManagerBuilder creates a topic manager.
type TopicManagerBuilder func(brokers []string) (TopicManager, error)

// ConsumerGroupBuilder creates the consumer group of a processor.
type ConsumerGroupBuilder func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error)

// SaramaConsumerBuilder creates the partition consumer used to read tables.
type SaramaConsumerBuilder func(brokers []string, clientID string) (sarama.Consumer, error)

// BackoffBuilder creates the backoff used between reconnection attempts.
type BackoffBuilder func() (Backoff, error)

// DefaultProducerBuilder builds a producer from a copy of the global config
// with the given client ID and a hash partitioner using hasher.
func DefaultProducerBuilder(brokers []string, clientID string, hasher func() hash.Hash32) (Producer, error) {
	return ProducerBuilderWithConfig(globalConfigCopy())(brokers, clientID, hasher)
}

// ProducerBuilderWithConfig returns a ProducerBuilder using a copy of
// config, made at every call, with the given ClientID and a hash
// partitioner using hasher.
//
// Deliberate difference from Goka, which writes ClientID and Partitioner
// into the caller's config: sarama keeps the *Config it is given, so with
// one config shared by several processors, views and lookups, a later
// build changed the partitioner of an earlier producer (a table written
// with another processor's hasher) and raced with running clients. config
// itself is never written.
func ProducerBuilderWithConfig(config *sarama.Config) ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (Producer, error) {
		if config == nil {
			return nil, fmt.Errorf("creating producer: %w", ErrNilConfig)
		}
		c := *config
		c.ClientID = clientID
		c.Producer.Partitioner = sarama.NewCustomHashPartitioner(hasher)
		return NewProducer(brokers, &c)
	}
}

// DefaultTopicManagerBuilder builds a topic manager from a copy of the
// global config with client ID "goka-topic-manager" and
// NewTopicManagerConfig.
func DefaultTopicManagerBuilder(brokers []string) (TopicManager, error) {
	return TopicManagerBuilderWithTopicManagerConfig(NewTopicManagerConfig())(brokers)
}

// TopicManagerBuilderWithConfig returns a TopicManagerBuilder using config
// and tmConfig. NewTopicManager copies both and writes into neither (Goka
// sets tmConfig.Logger when it is nil), so they may be shared.
func TopicManagerBuilderWithConfig(config *sarama.Config, tmConfig *TopicManagerConfig) TopicManagerBuilder {
	return func(brokers []string) (TopicManager, error) {
		return NewTopicManager(brokers, config, tmConfig)
	}
}

// TopicManagerBuilderWithTopicManagerConfig returns a TopicManagerBuilder
// using a copy of the global config and tmConfig.
func TopicManagerBuilderWithTopicManagerConfig(tmConfig *TopicManagerConfig) TopicManagerBuilder {
	return func(brokers []string) (TopicManager, error) {
		config := globalConfigCopy()
		config.ClientID = "goka-topic-manager"
		return NewTopicManager(brokers, config, tmConfig)
	}
}

// DefaultConsumerGroupBuilder builds a consumer group from a copy of the
// global config with the given client ID.
func DefaultConsumerGroupBuilder(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
	return ConsumerGroupBuilderWithConfig(globalConfigCopy())(brokers, group, clientID)
}

// ConsumerGroupBuilderWithConfig returns a ConsumerGroupBuilder using a
// copy of config, made at every call, with the given ClientID. Deliberate
// difference from Goka, which sets ClientID on the caller's config: sarama
// keeps the *Config it is given, so a config shared by several components
// would be written while their clients use it. config itself is never
// written.
func ConsumerGroupBuilderWithConfig(config *sarama.Config) ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		if config == nil {
			return nil, fmt.Errorf("creating consumer group %q: %w", group, ErrNilConfig)
		}
		c := *config
		c.ClientID = clientID
		cg, err := sarama.NewConsumerGroup(brokers, group, &c)
		if err != nil {
			return nil, fmt.Errorf("creating consumer group %q on %v: %w", group, brokers, err)
		}
		return cg, nil
	}
}

// DefaultSaramaConsumerBuilder builds a partition consumer from a copy of
// the global config with the given client ID.
func DefaultSaramaConsumerBuilder(brokers []string, clientID string) (sarama.Consumer, error) {
	return SaramaConsumerBuilderWithConfig(globalConfigCopy())(brokers, clientID)
}

// SaramaConsumerBuilderWithConfig returns a SaramaConsumerBuilder using a
// copy of config, made at every call, with the given ClientID. Deliberate
// difference from Goka, which sets ClientID on the caller's config: lookup
// views start concurrently, and sarama keeps the *Config it is given, so
// writing a shared config raced with the running consumers. config itself
// is never written.
func SaramaConsumerBuilderWithConfig(config *sarama.Config) SaramaConsumerBuilder {
	return func(brokers []string, clientID string) (sarama.Consumer, error) {
		if config == nil {
			return nil, fmt.Errorf("creating consumer: %w", ErrNilConfig)
		}
		cfg := *config
		cfg.ClientID = clientID
		c, err := sarama.NewConsumer(brokers, &cfg)
		if err != nil {
			return nil, fmt.Errorf("creating consumer on %v: %w", brokers, err)
		}
		return c, nil
	}
}

// DefaultBackoffBuilder returns NewSimpleBackoff(10 s, 120 s).
func DefaultBackoffBuilder() (Backoff, error) {
	return NewSimpleBackoff(10*time.Second, 120*time.Second), nil
}

// Backoff computes the waits between retries.
type Backoff interface {
	Duration() time.Duration
	Reset()
}

type simpleBackoff struct {
	step, max time.Duration
	current   time.Duration
}

// NewSimpleBackoff returns a backoff that waits 0, step, 2·step, … capped at
// max. It is not safe for concurrent use.
func NewSimpleBackoff(step time.Duration, max time.Duration) Backoff {
	return &simpleBackoff{step: step, max: max}
}

func (b *simpleBackoff) Duration() time.Duration {
	d := b.current
	b.current += b.step
	if b.current > b.max {
		b.current = b.max
	}
	return d
}

func (b *simpleBackoff) Reset() { b.current = 0 }
