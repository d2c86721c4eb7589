package kafka

import (
	"errors"
	"io"

	"github.com/IBM/sarama"
)

// transientErrors can go away by themselves: leadership moving or not yet
// established, replicas catching up, brokers unreachable for a moment, a
// connection a restarting broker closed (sarama's ErrNotConnected: the
// client reopens it on the next request; seen in system test i, where it
// stopped a processor setting up a partition during a rolling restart),
// or closed under a request in flight (io.EOF: seen the same way, in the
// cooperative run of system test i, reading a high-water mark; after the
// metadata refresh the retry may find the leader on another broker).
var transientErrors = []error{
	sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable, sarama.ErrUnknownTopicOrPartition,
	sarama.ErrRequestTimedOut, sarama.ErrOutOfBrokers, sarama.ErrNotEnoughReplicas,
	sarama.ErrKafkaStorageError, sarama.ErrFencedLeaderEpoch, sarama.ErrUnknownLeaderEpoch,
	sarama.ErrOffsetNotAvailable, sarama.ErrBrokerNotAvailable, sarama.ErrReplicaNotAvailable,
	sarama.ErrNotConnected, io.EOF,
}

// TransientError reports whether err (or an error it wraps) is one that a
// retry after a metadata refresh can overcome.
func TransientError(err error) bool {
	for _, e := range transientErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
