// Package exampleenv is the set-up the examples share: which brokers to use,
// the Kafka client settings for a demo and a context cancelled by
// SIGINT/SIGTERM. It keeps the examples' main files about the library, not
// about their environment.
//
// An example uses the brokers listed in KAFKA_BROKERS (comma-separated,
// e.g. from `go run ./cmd/devbroker` or examples/docker-compose.yml) and
// otherwise starts an embedded broker (package kafkatest) that lives as
// long as the program.
package exampleenv

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/kafkatest"
)

// BrokersEnv names the variable listing the brokers to use.
const BrokersEnv = "KAFKA_BROKERS"

// Brokers returns the brokers of KAFKA_BROKERS, or starts an embedded broker
// whose new topics get partitions partitions. The returned function stops
// the embedded broker (it does nothing for KAFKA_BROKERS).
func Brokers(partitions int) ([]string, func(), error) {
	if env := os.Getenv(BrokersEnv); env != "" {
		return strings.Split(env, ","), func() {}, nil
	}
	cluster, err := kafkatest.New(kafkatest.Partitions(partitions))
	if err != nil {
		return nil, nil, err
	}
	log.Printf("started an embedded broker at %v (set %s to use your own)", cluster.Brokers(), BrokersEnv)
	return cluster.Brokers(), cluster.Close, nil
}

// Configure sets goka's global Kafka client settings for the examples and
// returns a topic manager config for a one-broker cluster.
//
// A new consumer group reads its input from the oldest offset (Goka's
// default is the newest, which would skip what the example emitted before
// the processor joined), and the client gives up on an unreachable broker
// after seconds rather than minutes. Topics get replication 1, which the
// embedded broker and the single-node docker-compose broker need (Goka's
// default, 2, fails there).
func Configure() *goka.TopicManagerConfig {
	// kafkatest's options for a one-node broker: oldest offset, replication 1.
	opts := kafkatest.DevGokaOptions()
	cfg := opts.Config
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Producer.Flush.Frequency = 10 * time.Millisecond
	goka.ReplaceGlobalConfig(cfg)
	return opts.TopicManagerConfig
}

// SignalContext returns a context cancelled on SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// EnsureStreams creates the stream topics with partitions partitions if
// they do not exist.
func EnsureStreams(brokers []string, tmc *goka.TopicManagerConfig, partitions int, topics ...goka.Stream) error {
	return ensure(brokers, tmc, goka.TopicManager.EnsureStreamExists, partitions, topics...)
}

// EnsureTables creates the table topics with partitions partitions if they
// do not exist.
func EnsureTables(brokers []string, tmc *goka.TopicManagerConfig, partitions int, tables ...goka.Table) error {
	return ensure(brokers, tmc, goka.TopicManager.EnsureTableExists, partitions, tables...)
}

// ensure calls exists for every topic on one topic manager.
func ensure[T ~string](brokers []string, tmc *goka.TopicManagerConfig, exists func(goka.TopicManager, string, int) error, partitions int, topics ...T) error {
	tm, err := goka.NewTopicManager(brokers, goka.DefaultConfig(), tmc)
	if err != nil {
		return err
	}
	defer tm.Close() //nolint:errcheck // nothing to do about it
	for _, t := range topics {
		if err := exists(tm, string(t), partitions); err != nil {
			return err
		}
	}
	return nil
}

// WaitFor polls cond until it holds, ctx ends or a minute has passed.
func WaitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: timed out after a minute", what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
