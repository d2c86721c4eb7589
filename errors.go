package goka

import (
	"errors"
	"fmt"

	"github.com/e3793d55/goka/internal/kafka"
	"github.com/e3793d55/goka/internal/table"
)

// Sentinel errors. Compare with errors.Is: goka wraps them with context.
var (
	// ErrEmitterAlreadyClosed is the error of promises returned by an
	// Emitter after Finish.
	ErrEmitterAlreadyClosed = errors.New("emitter already closed")
	// ErrVisitAborted is returned by VisitAll when the processor stops or
	// the partitions are rebalanced during the visit.
	ErrVisitAborted = errors.New("VisitAll aborted due to context cancel or rebalance")
	// ErrNilConfig is returned when a nil sarama config is given.
	ErrNilConfig = kafka.ErrNilConfig
	// ErrNoBrokers is returned by constructors given no broker address.
	ErrNoBrokers = kafka.ErrNoBrokers
	// ErrTopicNotFound is returned when a topic does not exist. Its text
	// matches Goka's.
	ErrTopicNotFound = kafka.ErrTopicNotFound
	// ErrNotCopartitioned is returned when input and join topics do not have
	// the same number of partitions.
	ErrNotCopartitioned = kafka.ErrNotCopartitioned
	// ErrAlreadyRunning is returned by a second call of Run.
	ErrAlreadyRunning = errors.New("already running or ran once")
	// ErrStateless is returned by Get on a processor without group table.
	ErrStateless = errors.New("processor is stateless: it has no group table")
	// ErrPartitionNotHeld is returned by Processor.Get for a key whose
	// partition is not assigned to this instance.
	ErrPartitionNotHeld = errors.New("partition not held by this processor")
	// ErrNotRunning is returned by View and Processor reads and by
	// VisitAll before Run started and after it returned.
	ErrNotRunning = table.ErrNotRunning
	// ErrBrokerUnreachable is returned when the brokers cannot be reached
	// within the configured time.
	ErrBrokerUnreachable = kafka.ErrBrokerUnreachable
	// ErrTransactionAborted is wrapped by the error of a transaction that
	// did not commit under ExactlyOnce, together with its cause: a
	// produce or commit error, a fenced producer (sarama.ErrProducerFenced,
	// ErrInvalidProducerEpoch) or group member (sarama.ErrIllegalGeneration,
	// ErrUnknownMemberId) after the partition moved to another instance.
	// Nothing of such a transaction becomes visible; the processor logs it
	// and restarts the partition from its last commit (or, when fenced,
	// rejoins the group), and Run returns it only when many transactions
	// in a row failed.
	ErrTransactionAborted = errors.New("transaction aborted")
	// ErrNotCooperative is returned by Processor.KeyOwner of a processor
	// without the cooperative strategy, whose group does not share its
	// placement.
	ErrNotCooperative = errors.New("processor does not use the cooperative strategy")
	// ErrNoAssignment is returned by Processor.KeyOwner while the
	// processor has no assignment of its group: before it joined and
	// after Run returned.
	ErrNoAssignment = errors.New("no group assignment yet")
)

// PanicError is the error of a callback that panicked. It carries the
// panic value and the stack of the panicking goroutine.
type PanicError struct {
	Value interface{}
	Stack []byte
}

// Error gives the panic value and the stack of the panic.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic in callback: %v\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error, so that errors.Is
// finds the error given to Context.Fail.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// MessageError is the error of a message that could not be processed. It
// names the message's topic, partition and offset; its text starts as
// Goka's: "error processing message (partition=N)".
type MessageError struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Err       error
}

// Error names the topic, partition, offset and key of the message, and the cause.
func (e *MessageError) Error() string {
	return fmt.Sprintf("error processing message (partition=%d): topic %q offset %d key %q: %v",
		e.Partition, e.Topic, e.Offset, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *MessageError) Unwrap() error { return e.Err }
