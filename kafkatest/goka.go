package kafkatest

import (
	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
)

// GokaOptions are the options processors, views and emitters need on a test
// broker. Pass them when building each component:
//
//	opts := cluster.GokaOptions()
//	p, err := goka.NewProcessor(cluster.Brokers(), graph, opts.Processor...)
//	v, err := goka.NewView(cluster.Brokers(), table, codec, opts.View...)
//	e, err := goka.NewEmitter(cluster.Brokers(), stream, codec, opts.Emitter...)
//
// Options passed after them override them, e.g. a storage builder. They
// leave goka's global configuration (goka.ReplaceGlobalConfig) and its
// production defaults untouched.
type GokaOptions struct {
	// Config is goka.DefaultConfig() with Consumer.Offsets.Initial set to
	// sarama.OffsetOldest: a consumer group new to a topic reads what a
	// test emitted before it joined (Goka's default, the newest offset,
	// skips it). The options below build every client from it; change it
	// before building a component to change them all.
	Config *sarama.Config
	// TopicManagerConfig is goka.NewTopicManagerConfig() with replication
	// 1 for tables and streams (Goka's default, 2, fails on one broker).
	TopicManagerConfig *goka.TopicManagerConfig
	// Processor builds a processor's consumer group, table consumer and
	// producer from Config (goka.WithSaramaConfig, so that options that
	// build the clients themselves, goka.ExactlyOnce and
	// goka.WithCooperativeRebalance, work too) and sets its topic manager
	// builder to Config and TopicManagerConfig.
	Processor []goka.ProcessorOption
	// View sets a view's consumer and topic manager builders.
	View []goka.ViewOption
	// Emitter sets an emitter's producer and topic manager builders.
	Emitter []goka.EmitterOption
}

// GokaOptions returns the options goka's components need on this cluster
// (see GokaOptions, the type). Each call returns a new Config.
func (c *Cluster) GokaOptions() GokaOptions {
	return DevGokaOptions()
}

// DevGokaOptions returns the options of Cluster.GokaOptions for any
// one-node development broker: a kafkatest cluster, cmd/devbroker or a
// single Kafka in a container. Production clusters want goka's defaults.
func DevGokaOptions() GokaOptions {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	tmb := goka.TopicManagerBuilderWithConfig(cfg, tmc)
	return GokaOptions{
		Config:             cfg,
		TopicManagerConfig: tmc,
		Processor: []goka.ProcessorOption{
			goka.WithSaramaConfig(cfg),
			goka.WithTopicManagerBuilder(tmb),
		},
		View: []goka.ViewOption{
			goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg)),
			goka.WithViewTopicManagerBuilder(tmb),
		},
		Emitter: []goka.EmitterOption{
			goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(cfg)),
			goka.WithEmitterTopicManagerBuilder(tmb),
		},
	}
}
