// Package kafkatest starts an in-process broker that speaks the Kafka
// protocol, for examples and for integration tests of programs built on
// goka. Processors, views and emitters connect to it like to any Kafka
// cluster: no Docker, no JVM, nothing to install.
//
// # Usage
//
//	cluster, err := kafkatest.New(kafkatest.Partitions(10))
//	if err != nil { ... }
//	defer cluster.Close()
//	p, err := goka.NewProcessor(cluster.Brokers(), graph)
//
// Start is the short form for tests that need only the addresses:
//
//	brokers, stop, err := kafkatest.Start(kafkatest.Topic("input", 4))
//	if err != nil { ... }
//	defer stop()
//
// # Options
//
// NumBrokers, Partitions (of topics created without a count), Port (a fixed
// port instead of a free one), DataDir (keep the data on disk, so that a
// cluster started again on the directory finds it), Topic (create topics at
// start) and AutoCreateTopics (create topics that clients ask for, as
// Kafka's auto.create.topics.enable does; off by default).
//
// # Goka against a test broker
//
// Goka's defaults suit production clusters, not a fresh test broker: a new
// consumer group starts at the newest offset, skipping what a test emitted
// before the processor joined, and topics are created with replication 2,
// which one broker cannot hold. Cluster.GokaOptions returns, in one call,
// processor, view and emitter options that read from the oldest offset and
// create topics with replication 1, without touching goka's global
// configuration:
//
//	opts := cluster.GokaOptions()
//	p, err := goka.NewProcessor(cluster.Brokers(), graph, opts.Processor...)
//
// # What it is
//
// The broker is kfake from github.com/twmb/franz-go: consumer groups,
// transactions, compaction and topic administration work. Data lives in
// memory unless DataDir is given. It is a test broker: it is not tuned for
// throughput and does not replicate between its brokers.
//
// # Fault injection
//
// Cluster.Fake returns the underlying *kfake.Cluster, whose Control and
// ControlKey methods intercept requests, e.g. to fail every fetch for a
// while.
package kafkatest

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Cluster is a running in-process broker cluster.
type Cluster struct {
	fake *kfake.Cluster
}

type config struct {
	brokers    int
	partitions int
	port       int
	dataDir    string
	autoCreate bool
	topics     map[string]int32
}

// Option configures New.
type Option func(*config)

// NumBrokers sets the number of brokers. Default: 1.
func NumBrokers(n int) Option { return func(c *config) { c.brokers = n } }

// Partitions sets the partition count of topics created without one, and
// of topics created automatically (see AutoCreateTopics). Default: 10.
func Partitions(n int) Option { return func(c *config) { c.partitions = n } }

// Port makes the first broker listen on port (on 127.0.0.1); further
// brokers use the following ports. Default: 0, a free port.
func Port(port int) Option { return func(c *config) { c.port = port } }

// DataDir keeps the cluster's data in dir, so that a new cluster started on
// the same directory finds the topics and offsets of the previous one.
// Default: "", in memory.
func DataDir(dir string) Option { return func(c *config) { c.dataDir = dir } }

// AutoCreateTopics makes the brokers create a topic that a client asks for
// and that does not exist, as Kafka does with auto.create.topics.enable.
// Default: off, so that a test sees a missing topic as an error; goka's
// topic manager creates the topics it needs either way.
func AutoCreateTopics() Option { return func(c *config) { c.autoCreate = true } }

// Topic creates topic with partitions partitions at start.
func Topic(topic string, partitions int) Option {
	return func(c *config) {
		if c.topics == nil {
			c.topics = map[string]int32{}
		}
		c.topics[topic] = int32(partitions)
	}
}

func (c *config) validate() error {
	switch {
	case c.brokers < 1:
		return fmt.Errorf("kafkatest: NumBrokers must be >= 1, got %d", c.brokers)
	case c.partitions < 1:
		return fmt.Errorf("kafkatest: Partitions must be >= 1, got %d", c.partitions)
	case c.port < 0 || c.port+c.brokers-1 > 65535:
		return fmt.Errorf("kafkatest: Port %d out of range for %d brokers", c.port, c.brokers)
	}
	for t, n := range c.topics {
		if t == "" {
			return errors.New("kafkatest: Topic with empty name")
		}
		if n < 1 {
			return fmt.Errorf("kafkatest: Topic %q: partitions must be >= 1, got %d", t, n)
		}
	}
	return nil
}

// New starts a cluster on 127.0.0.1.
func New(options ...Option) (*Cluster, error) {
	cfg := &config{brokers: 1, partitions: 10}
	for _, o := range options {
		o(cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(cfg.brokers),
		kfake.DefaultNumPartitions(cfg.partitions),
	}
	if cfg.port > 0 {
		ports := make([]int, cfg.brokers)
		for i := range ports {
			ports[i] = cfg.port + i
		}
		opts = append(opts, kfake.Ports(ports...))
	}
	if cfg.dataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.dataDir))
	}
	if cfg.autoCreate {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	for t, n := range cfg.topics {
		opts = append(opts, kfake.SeedTopics(n, t))
	}
	fake, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: starting broker: %w", err)
	}
	return &Cluster{fake: fake}, nil
}

// Start starts a cluster and returns its broker addresses and the function
// stopping it.
func Start(options ...Option) (brokers []string, stop func(), err error) {
	c, err := New(options...)
	if err != nil {
		return nil, nil, err
	}
	return c.Brokers(), c.Close, nil
}

// Brokers returns the addresses of the brokers, "127.0.0.1:port".
func (c *Cluster) Brokers() []string { return c.fake.ListenAddrs() }

// Fake returns the underlying kfake cluster for fault injection.
func (c *Cluster) Fake() *kfake.Cluster { return c.fake }

// Close stops the brokers and closes their connections.
func (c *Cluster) Close() { c.fake.Close() }
