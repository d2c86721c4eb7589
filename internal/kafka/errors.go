package kafka

import "errors"

// Sentinel errors, re-exported by goka. Compare with errors.Is.
var (
	// ErrNilConfig is returned when a nil sarama config is given.
	ErrNilConfig = errors.New("nil sarama config")
	// ErrNoBrokers is returned by constructors given no broker address.
	ErrNoBrokers = errors.New("no brokers given")
	// ErrTopicNotFound is returned when a topic does not exist. Its text
	// matches Goka's.
	ErrTopicNotFound = errors.New("requested topic was not found")
	// ErrNotCopartitioned is returned when topics that must be
	// copartitioned have different partitions.
	ErrNotCopartitioned = errors.New("topics are not copartitioned")
	// ErrBrokerUnreachable is returned when the brokers cannot be reached.
	ErrBrokerUnreachable = errors.New("brokers unreachable")
)
