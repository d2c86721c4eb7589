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
// retries: Goka's settings. Four differ from Goka:
//
// Consumer.Fetch.Default is 256 KiB (sarama: 1 MiB) and
// Consumer.Fetch.MaxBytes is 1 MiB (sarama: 50 MiB), see below.
//
// Producer.Flush.MaxMessages is 10,000 (sarama: 0, no limit), see below.
//
// Producers ride out about 3 s without a leader. With Goka's (sarama's)
// Metadata.Retry of 3 × 250 ms, the producer fails a message as soon as it
// cannot look up its partition's leader for about a second, which a leader
// election after a broker is killed can take. Here Metadata.Retry.Max is 12
// with sarama's 250 ms Backoff, and Net.DialTimeout is 10 s (sarama: 30 s).
// Metadata.Timeout stays 0, so that a program raising Metadata.Retry.Max,
// as Goka users do to ride out restarts, gets all of its retries. Not longer: sarama's producer
// refreshes metadata for one partition batch in flight at a time, so after
// the brokers went away, failing everything it holds takes about the budget
// per batch, and the batches grow with the budget: with 60 s, Goka's own
// emitter-disconnect system test needed over ten minutes to Finish, with
// 15 s still over ten. Processors and views ride out longer outages
// themselves: they probe their brokers, stop consuming while none answers,
// and only stop after WithBrokerOutageTimeout or
// WithViewBrokerOutageTimeout (DefaultBrokerOutageTimeout, 15 s); a table
// write or emit in flight still fails after the producer's budget and stops
// the processor, with an error naming the brokers. Goka's behaviour: set
// Metadata.Retry.Max = 3 and Net.DialTimeout = 30 s, and pass
// WithBrokerOutageTimeout(0) and WithViewBrokerOutageTimeout(0).
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
	// What a fetch response may hold in all, over all of one broker's
	// partitions (KIP-74: the broker still returns a first batch larger
	// than this, so big records are not stuck). Without it the response
	// grows with the partition count, each partition adding up to
	// Fetch.Default before the 10-20 times expansion: the raw
	// consume-and-produce loop peaked at 645 MB RSS with 100 partitions
	// and 50 MiB (sarama's default), 173 MB with 4 MiB; with 1 MiB
	// 10 partitions peaked at 70-85 MB instead of 153-189 MB, at the same
	// speed on the embedded broker and on Kafka 4.4 (README, Benchmarks).
	// A consumer fetches again as soon as it has handed the response on,
	// so a smaller response costs round trips, not throughput, unless the
	// round trip is long.
	config.Consumer.Fetch.MaxBytes = 1 << 20

	config.Producer.RequiredAcks = sarama.WaitForLocal
	config.Producer.Compression = sarama.CompressionSnappy
	config.Producer.Flush.Frequency = 100 * time.Millisecond
	config.Producer.Flush.Bytes = 64 * 1024
	// While a broker is slow to acknowledge, sarama's producer keeps
	// adding messages to the next request, up to MaxMessageBytes (1 MB)
	// per partition and 100 MB in all, so what it holds grows with the
	// partition count: with 100 partitions on Kafka 4.4 the benchmark's
	// emitter peaked at 129-351 MB, with this bound at 37-45 MB (10
	// partitions: 41-50 MB, 30-32 MB), at the same speed (README,
	// Benchmarks). A request still carries up to 10,000 messages, so
	// batches stay large.
	config.Producer.Flush.MaxMessages = 10_000
	config.Producer.Return.Successes = true
	config.Producer.Return.Errors = true
	config.Producer.Retry.Max = 10

	// Ride out about 3 s without a leader; see the doc comment.
	config.Metadata.Retry.Max = 12
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
