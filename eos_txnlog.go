package goka

import (
	"context"
	"fmt"
	"math"
	"slices"
	"unicode/utf16"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A hanging transaction gets the marker its coordinator decided, which the
// coordinator's log, the internal topic __transaction_state, records: it
// writes PrepareCommit or PrepareAbort before it sends any marker. Traced
// on Kafka 4.4 (system test c, 2026-12-07, coordinator at DEBUG and
// kafka-dump-log), a broker shutting down wrote PrepareCommit and
// CompleteCommit in the same millisecond while no marker reached the
// transaction's partitions: Kafka's TransactionMarkerChannelManager skips
// partitions without a leader endpoint as "likely deleted" (KAFKA-5202),
// and a single broker's partitions have none while it stops or starts.
// The same skip can end an aborted transaction, so neither marker is right
// for every hanging transaction; the log says which one is.

// txnStateTopic is the transaction coordinators' log.
const txnStateTopic = "__transaction_state"

// txnDecision is how a coordinator decided to end a transaction.
type txnDecision int8

const (
	undecided     txnDecision = iota // the log does not tell: leave it alone
	decidedCommit                    // PrepareCommit or CompleteCommit
	decidedAbort                     // PrepareAbort or CompleteAbort
)

func (d txnDecision) String() string {
	switch d {
	case decidedCommit:
		return "commit"
	case decidedAbort:
		return "abort"
	default:
		return "undecided"
	}
}

// txnLogRecord is one state of a transactional ID in the coordinator's
// log.
type txnLogRecord struct {
	producerID int64
	epoch      int16
	state      kmsg.TransactionState
	topics     []kmsg.TxnMetadataValueTopic
}

func (r txnLogRecord) has(topic string, partition int32) bool {
	return slices.ContainsFunc(r.topics, func(t kmsg.TxnMetadataValueTopic) bool {
		return t.Topic == topic && slices.Contains(t.Partitions, partition)
	})
}

// decisionFor returns what the coordinator decided for the transaction
// that producer pid holds open at epoch on topic/partition, from records,
// the transactional ID's states in log order: the first decision after its
// last Ongoing state at that epoch that lists the partition. (A producer's
// earlier transactions on the partition got their markers, or the open
// one would have been closed by a later transaction's.) An epoch fence
// before the abort is passed over; anything else, or no such Ongoing
// state (compacted away), is undecided.
func decisionFor(records []txnLogRecord, pid int64, epoch int16, topic string, partition int32) txnDecision {
	last := -1
	for i, r := range records {
		if r.producerID == pid && r.epoch == epoch && r.state == kmsg.TransactionStateOngoing && r.has(topic, partition) {
			last = i
		}
	}
	if last < 0 {
		return undecided
	}
	for _, r := range records[last+1:] {
		switch r.state {
		case kmsg.TransactionStateOngoing:
			if r.producerID == pid && r.epoch == epoch {
				continue // the same transaction adding partitions
			}
			return undecided
		case kmsg.TransactionStatePrepareEpochFence:
			continue
		case kmsg.TransactionStatePrepareCommit, kmsg.TransactionStateCompleteCommit:
			return decidedCommit
		case kmsg.TransactionStatePrepareAbort, kmsg.TransactionStateCompleteAbort:
			return decidedAbort
		default:
			return undecided
		}
	}
	return undecided
}

// txnLogPartition is the partition of the coordinators' log that holds
// id, as Kafka places it: Utils.abs(id.hashCode()) % partitions, with
// Java's String.hashCode over UTF-16 code units. Kafka's Utils.abs is
// Math.abs with Integer.MIN_VALUE taken to 0, not the sign bit masked off
// as its producer partitioner does (Utils.toPositive): the two differ for
// every negative hash.
func txnLogPartition(id string, partitions int) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(id)) {
		h = 31*h + int32(u)
	}
	switch {
	case h == math.MinInt32:
		h = 0
	case h < 0:
		h = -h
	}
	return int32(int(h) % partitions)
}

// readTxnLog returns the states of the transactional IDs ids that the
// coordinators' log holds, in log order, by ID: it reads the partitions
// that hold them from the oldest offset to their high-water marks. That
// needs the READ permission on __transaction_state.
func readTxnLog(ctx context.Context, client sarama.Client, ids []string) (map[string][]txnLogRecord, error) {
	parts, err := client.Partitions(txnStateTopic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", txnStateTopic, err)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%s has no partitions", txnStateTopic)
	}
	want := make(map[int32][]string)
	for _, id := range ids {
		p := txnLogPartition(id, len(parts))
		want[p] = append(want[p], id)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, err
	}
	defer func() { _ = consumer.Close() }()
	out := make(map[string][]txnLogRecord, len(ids))
	for p, pids := range want {
		if err := readTxnLogPartition(ctx, client, consumer, p, pids, out); err != nil {
			return nil, fmt.Errorf("reading %s/%d: %w", txnStateTopic, p, err)
		}
	}
	return out, nil
}

func readTxnLogPartition(ctx context.Context, client sarama.Client, consumer sarama.Consumer, p int32, ids []string, out map[string][]txnLogRecord) error {
	hwm, err := client.GetOffset(txnStateTopic, p, sarama.OffsetNewest)
	if err != nil {
		return err
	}
	oldest, err := client.GetOffset(txnStateTopic, p, sarama.OffsetOldest)
	if err != nil {
		return err
	}
	if oldest >= hwm {
		return nil
	}
	pc, err := consumer.ConsumePartition(txnStateTopic, p, oldest)
	if err != nil {
		return err
	}
	defer func() { _ = pc.Close() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case cerr, ok := <-pc.Errors():
			if ok {
				return cerr
			}
		case msg, ok := <-pc.Messages():
			if !ok {
				return fmt.Errorf("the consumer stopped at offset %d of %d", oldest, hwm)
			}
			if err := addTxnLogRecord(msg.Key, msg.Value, ids, out); err != nil {
				return fmt.Errorf("offset %d: %w", msg.Offset, err)
			}
			if msg.Offset >= hwm-1 {
				return nil
			}
		}
	}
}

// addTxnLogRecord decodes one record of the coordinators' log and appends
// it to out if it is one of ids'. A tombstone (the ID expired) forgets its
// states.
func addTxnLogRecord(key, value []byte, ids []string, out map[string][]txnLogRecord) error {
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return fmt.Errorf("decoding key: %w", err)
	}
	if k.Version != 0 || !slices.Contains(ids, k.TransactionalID) {
		return nil // another ID, or not a transaction's state
	}
	if value == nil {
		delete(out, k.TransactionalID)
		return nil
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return fmt.Errorf("decoding the state of %q: %w", k.TransactionalID, err)
	}
	out[k.TransactionalID] = append(out[k.TransactionalID], txnLogRecord{
		producerID: v.ProducerID, epoch: v.ProducerEpoch, state: v.State, topics: v.Topics,
	})
	return nil
}
