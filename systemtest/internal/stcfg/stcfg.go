// Package stcfg holds the client configuration shared by the system tests
// and the processes they start (systemtest/cmd/stnode).
package stcfg

import (
	"time"

	"github.com/IBM/sarama"

	goka "github.com/e3793d55/goka"
)

// SessionTimeout is Config's Consumer.Group.Session.Timeout.
const SessionTimeout = 6 * time.Second

// Config is goka's default sarama configuration with what the system tests
// need: a new group reads its inputs from the oldest offset; short group
// timeouts, so that a killed member is noticed after 6 s (the broker's
// minimum session timeout); producer and metadata retries that outlast a
// broker restart or a 10 s network cut (so that components resume instead
// of failing); and,
// with acksAll, acknowledgements from every in-sync replica, without which a
// broker killed with SIGKILL can lose acknowledged messages.
func Config(acksAll bool) *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 500 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = SessionTimeout
	cfg.Consumer.Group.Heartbeat.Interval = time.Second
	cfg.Consumer.Group.Rebalance.Timeout = 15 * time.Second
	cfg.Consumer.Retry.Backoff = 500 * time.Millisecond
	cfg.Producer.Retry.Max = 120
	cfg.Producer.Retry.Backoff = 250 * time.Millisecond
	// sarama's producer fails a message at once when it cannot refresh the
	// metadata of its partition (all brokers unreachable), whatever
	// Producer.Retry says; a processor whose table write fails stops (as in
	// Goka). 60 x 500 ms of metadata retries outlast the outages.
	cfg.Metadata.Retry.Max = 60
	cfg.Metadata.Retry.Backoff = 500 * time.Millisecond
	cfg.Net.DialTimeout = 5 * time.Second
	if acksAll {
		cfg.Producer.RequiredAcks = sarama.WaitForAll
	}
	return cfg
}

// Defaults is goka.DefaultConfig with only what a test harness must set:
// a new group reads its inputs from the oldest offset (the load may start
// before a replacement member joins), and with acksAll acknowledgements
// from every in-sync replica, without which a broker that stops can take
// acknowledged messages with it and "0 messages lost" cannot be checked.
// Every retry and timeout is goka's default (scenario i).
func Defaults(acksAll bool) *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	if acksAll {
		cfg.Producer.RequiredAcks = sarama.WaitForAll
	}
	return cfg
}

// Backoff is the reconnect backoff of the system tests' processors and
// views: 0, 1 s, 2 s ... up to 5 s (goka's default steps by 10 s).
func Backoff() (goka.Backoff, error) { return goka.NewSimpleBackoff(time.Second, 5*time.Second), nil }
