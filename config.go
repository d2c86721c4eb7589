package goka

import (
	"sync"
	"time"

	"github.com/IBM/sarama"
)

var (
	globalConfigMu sync.RWMutex
	globalConfig   = *DefaultConfig()
)

// DefaultConfig returns the sarama configuration goka starts from:
// sarama.NewConfig with Version 2.0.0, consumer errors returned,
// MaxProcessingTime 1 s, Offsets.Initial OffsetNewest, the copartitioning
// rebalance strategy, RequiredAcks WaitForLocal, snappy compression, a flush
// every 100 ms or 64 KiB, successes and errors returned and 10 producer
// retries: Goka's settings. Two differ from Goka:
//
// Consumer.Fetch.Default is 256 KiB (sarama: 1 MiB), see below.
//
// Components ride out broker outages of up to about 60 s. With Goka's
// (sarama's) Metadata.Retry of 3 × 250 ms, the producer fails a message
// as soon as it cannot look up its partition's leader for about a second,
// so a processor stops (its table write fails) and an emitter's promises
// fail after a second without brokers. Here Metadata.Retry.Max is 240 with
// sarama's 250 ms Backoff, bounded by Metadata.Timeout 60 s: a metadata
// refresh retries for up to 60 s, and sarama skips the retries that would
// end past the timeout. Net.DialTimeout is 10 s (sarama: 30 s), so that a
// broker whose host is gone costs one probe 10 s, not half the budget. The
// other retries stay sarama's, because the metadata budget already bounds
// them: a produce retry (Producer.Retry.Max 10, Backoff 100 ms) and a
// partition consumer retry (Consumer.Retry: every 2 s, forever) each start
// with a leader lookup; Consumer.Group.Rebalance.Retry (4 × 2 s) spaces the
// joins of a new session, each with a coordinator lookup; Admin.Retry
// (5 × 100 ms) only covers topic creation at start. Worst cases without
// any broker, from the moment the brokers went away: a produced message
// fails after the leader lookup's 60 s plus the dials in flight (≤ 10 s),
// about 70 s; a processor or view stops after its broker outage timeout
// (DefaultBrokerOutageTimeout, 60 s, counted from the first failed probe,
// ≤ 1 s + 2 s later) plus the time its sarama calls in flight take to
// return, each bounded by Metadata.Timeout + Net.DialTimeout. With
// brokers coming back, a processor rejoins at once (see
// WithBrokerOutageTimeout) instead of after the consumer-group backoff.
// Goka's behaviour: set Metadata.Retry.Max = 3, Metadata.Timeout = 0 and
// Net.DialTimeout = 30 s, and pass WithBrokerOutageTimeout(0) and
// WithViewBrokerOutageTimeout(0).
func DefaultConfig() *sarama.Config {
	config := sarama.NewConfig()
	config.Version = sarama.V2_0_0_0

	config.Consumer.Return.Errors = true
	config.Consumer.MaxProcessingTime = time.Second
	config.Consumer.Offsets.Initial = sarama.OffsetNewest
	// GroupStrategies rather than the deprecated Strategy field: same effect
	// as Goka without sarama's deprecation warning.
	config.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{CopartitioningStrategy}
	// Sarama decodes a whole fetch response at once, and a compressed
	// fetch of small records decodes to 10-20 times its size, per
	// partition. With 1 MiB a 10-partition processor peaked at 660 MB RSS
	// in our benchmark; 256 KiB keeps it near 220 MB at the same speed
	// (README, Benchmarks).
	config.Consumer.Fetch.Default = 256 * 1024

	config.Producer.RequiredAcks = sarama.WaitForLocal
	config.Producer.Compression = sarama.CompressionSnappy
	config.Producer.Flush.Frequency = 100 * time.Millisecond
	config.Producer.Flush.Bytes = 64 * 1024
	config.Producer.Return.Successes = true
	config.Producer.Return.Errors = true
	config.Producer.Retry.Max = 10

	// Ride out about 60 s without brokers; see the doc comment.
	config.Metadata.Retry.Max = 240
	config.Metadata.Timeout = DefaultBrokerOutageTimeout
	config.Net.DialTimeout = 10 * time.Second
	return config
}

// ReplaceGlobalConfig replaces the configuration the default builders copy
// when they are called. It stores a copy of config and panics on nil. It only
// sets a default: components built with the ...WithConfig builders ignore it.
func ReplaceGlobalConfig(config *sarama.Config) {
	if config == nil {
		panic("goka: ReplaceGlobalConfig: nil config")
	}
	globalConfigMu.Lock()
	defer globalConfigMu.Unlock()
	globalConfig = *config
}

// globalConfigCopy returns a copy of the global config for one component.
// The copy is shallow like Goka's; slices such as GroupStrategies are shared
// but never mutated by goka.
func globalConfigCopy() *sarama.Config {
	globalConfigMu.RLock()
	defer globalConfigMu.RUnlock()
	c := globalConfig
	return &c
}
