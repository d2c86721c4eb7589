package kafka

import (
	"errors"

	"github.com/IBM/sarama"
)

// transientErrors can go away by themselves: leadership moving or not yet
// established, replicas catching up, brokers unreachable for a moment.
var transientErrors = []error{
	sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable, sarama.ErrUnknownTopicOrPartition,
	sarama.ErrRequestTimedOut, sarama.ErrOutOfBrokers, sarama.ErrNotEnoughReplicas,
	sarama.ErrKafkaStorageError, sarama.ErrFencedLeaderEpoch, sarama.ErrUnknownLeaderEpoch,
	sarama.ErrOffsetNotAvailable, sarama.ErrBrokerNotAvailable, sarama.ErrReplicaNotAvailable,
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
