package goka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/e3793d55/goka/internal/kafka"
)

func txnState(pid int64, epoch int16, state kmsg.TransactionState, parts ...string) txnLogRecord {
	r := txnLogRecord{producerID: pid, epoch: epoch, state: state}
	for _, tp := range parts {
		var topic string
		var p int32
		if _, err := fmt.Sscanf(tp, "%s %d", &topic, &p); err != nil {
			panic(err)
		}
		r.topics = append(r.topics, kmsg.TxnMetadataValueTopic{Topic: topic, Partitions: []int32{p}})
	}
	return r
}

// The decision for a hanging transaction on "t 0" of producer 4 at epoch
// 0, from the coordinator's log as Kafka 4.4 wrote it in the traced run
// (PrepareCommit and CompleteCommit without markers) and its variants.
func TestDecisionFor(t *testing.T) {
	const (
		empty    = kmsg.TransactionStateEmpty
		ongoing  = kmsg.TransactionStateOngoing
		pcommit  = kmsg.TransactionStatePrepareCommit
		ccommit  = kmsg.TransactionStateCompleteCommit
		pabort   = kmsg.TransactionStatePrepareAbort
		cabort   = kmsg.TransactionStateCompleteAbort
		fence    = kmsg.TransactionStatePrepareEpochFence
		t0, off1 = "t 0", "__consumer_offsets 1"
	)
	committed := []txnLogRecord{
		txnState(4, 0, empty),
		txnState(4, 0, ongoing, t0), txnState(4, 0, ongoing, t0, off1), txnState(4, 0, pcommit, t0, off1), txnState(4, 0, ccommit),
		txnState(4, 0, ongoing, t0), txnState(4, 0, ongoing, t0, off1), txnState(4, 0, pcommit, t0, off1), txnState(4, 0, ccommit),
		txnState(4, 1, empty), txnState(4, 2, empty),
	}
	tests := []struct {
		name    string
		records []txnLogRecord
		pid     int64
		epoch   int16
		topic   string
		want    txnDecision
	}{
		{"committed, markers skipped (the trace)", committed, 4, 0, "t", decidedCommit},
		{"only prepared", committed[:8], 4, 0, "t", decidedCommit},
		{"aborted by its producer", []txnLogRecord{
			txnState(4, 0, ongoing, t0), txnState(4, 0, pabort, t0), txnState(4, 0, cabort), txnState(4, 1, empty),
		}, 4, 0, "t", decidedAbort},
		{"aborted by a fence at the next epoch", []txnLogRecord{
			txnState(4, 0, ongoing, t0), txnState(4, 1, fence, t0), txnState(4, 1, pabort, t0), txnState(4, 1, cabort),
		}, 4, 0, "t", decidedAbort},
		{"the last of several transactions decides", []txnLogRecord{
			txnState(4, 0, ongoing, t0), txnState(4, 0, pcommit, t0), txnState(4, 0, ccommit),
			txnState(4, 0, ongoing, t0), txnState(4, 0, pabort, t0), txnState(4, 0, cabort),
		}, 4, 0, "t", decidedAbort},
		{"still ongoing", committed[:7], 4, 0, "t", undecided},
		{"compacted to the last state", committed[len(committed)-1:], 4, 0, "t", undecided},
		{"no log", nil, 4, 0, "t", undecided},
		{"another epoch", committed, 4, 1, "t", undecided},
		{"another producer", committed, 5, 0, "t", undecided},
		{"a partition it never added", committed, 4, 0, "u", undecided},
		{"an epoch bump without a decision", []txnLogRecord{
			txnState(4, 0, ongoing, t0), txnState(4, 1, empty),
		}, 4, 0, "t", undecided},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decisionFor(tt.records, tt.pid, tt.epoch, tt.topic, 0); got != tt.want {
				t.Errorf("%v, want %v", got, tt.want)
			}
		})
	}
}

// Placements as Kafka 4.4 logged them ("Initialized transactionalId ... on
// partition __transaction_state-N", 10 partitions; the hang- IDs have
// negative hashes, which a mask instead of Kafka's Utils.abs misplaced),
// and Java's String.hashCode by hand for the rest.
func TestTxnLogPartition(t *testing.T) {
	tests := []struct {
		id    string
		parts int
		want  int32
	}{
		{"st-c-278685991-0", 10, 0},
		{"st-c-278685991-1", 10, 1},
		{"st-c-278685991-2", 10, 2},
		{"st-c-278685991-5", 10, 5},
		{"hang-1796659689-0-0", 10, 5},
		{"hang-1796659454-0-0", 10, 1},
		{"hang-1796659469-0-0", 10, 7},
		{"hang-1796659484-0-0", 10, 4},
		{"hang-1796659498-0-0", 10, 9},
		{"hang-1796659542-0-0", 10, 7},
		{"hang-1796659554-0-0", 10, 4},
		{"hang-1796659568-0-0", 10, 9},
		{"hang-1796659582-0-0", 10, 3},
		{"hang-1796659595-0-0", 10, 9},
		{"hang-1796659608-0-0", 10, 4},
		{"hang-1796659622-0-0", 10, 8},
		{"hang-1796659635-0-0", 10, 4},
		{"a", 50, 97 % 50},
		{"ab", 50, (97*31 + 98) % 50},
		{"\U0001F600", 50, (0xD83D*31 + 0xDE00) % 50}, // one code point, two UTF-16 units
	}
	for _, tt := range tests {
		if got := txnLogPartition(tt.id, tt.parts); got != tt.want {
			t.Errorf("%q: %d, want %d", tt.id, got, tt.want)
		}
	}
	// A hash that overflows to a negative int32 gives a partition in
	// range, never a negative one.
	for _, id := range []string{"st-c-278685991-0-and-a-much-longer-transactional-id", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"} {
		if got := txnLogPartition(id, 7); got < 0 || got >= 7 {
			t.Errorf("%q: %d", id, got)
		}
	}
}

// TestReadTxnLog writes coordinator-log records, as Kafka encodes them,
// to a __transaction_state topic on the embedded broker and reads back
// the states of two IDs: the others' records are skipped, a tombstone
// forgets the states before it, and decideMarkers turns them into a
// commit marker, an abort marker and one left alone.
func TestReadTxnLog(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, txnStateTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	prod, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	put := func(id string, r *txnLogRecord) {
		t.Helper()
		k := kmsg.NewTxnMetadataKey()
		k.TransactionalID = id
		msg := &sarama.ProducerMessage{Topic: txnStateTopic, Partition: txnLogPartition(id, 3), Key: sarama.ByteEncoder(k.AppendTo(nil))}
		if r != nil {
			v := kmsg.NewTxnMetadataValue()
			v.Version = 1
			v.ProducerID, v.ProducerEpoch, v.State, v.Topics = r.producerID, r.epoch, r.state, r.topics
			v.TimeoutMillis = 60000
			msg.Value = sarama.ByteEncoder(v.AppendTo(nil))
		}
		if _, _, err := prod.SendMessage(msg); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(r txnLogRecord) *txnLogRecord { return &r }
	// g-0 committed its transaction on t/0; g-1 aborted one on t/1 after
	// an expired earlier life (the tombstone); g-2's log ends ongoing.
	put("g-1", rec(txnState(1, 0, kmsg.TransactionStateOngoing, "t 1")))
	put("g-1", nil)
	put("g-0", rec(txnState(4, 0, kmsg.TransactionStateOngoing, "t 0")))
	put("other", rec(txnState(9, 0, kmsg.TransactionStateOngoing, "t 0")))
	put("g-0", rec(txnState(4, 0, kmsg.TransactionStatePrepareCommit, "t 0")))
	put("g-1", rec(txnState(5, 0, kmsg.TransactionStateOngoing, "t 1")))
	put("g-1", rec(txnState(5, 1, kmsg.TransactionStatePrepareAbort, "t 1")))
	put("g-0", rec(txnState(4, 1, kmsg.TransactionStateEmpty)))
	put("g-2", rec(txnState(6, 0, kmsg.TransactionStateOngoing, "t 2")))

	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs, err := readTxnLog(ctx, client, []string{"g-0", "g-1", "g-2", "g-3"})
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range map[string]int{"g-0": 3, "g-1": 2, "g-2": 1, "g-3": 0, "other": 0} {
		if len(logs[id]) != n {
			t.Errorf("%s: %d states %+v, want %d", id, len(logs[id]), logs[id], n)
		}
	}
	if len(logs["g-1"]) > 0 && logs["g-1"][0].producerID != 5 {
		t.Errorf("g-1 kept the states before its tombstone: %+v", logs["g-1"])
	}

	coord := map[int64]coordinatedProducer{4: {id: "g-0"}, 5: {id: "g-1"}, 6: {id: "g-2"}}
	markers := map[string][]kafka.TxnMarker{"b1": {
		{ProducerID: 4, ProducerEpoch: 0, Topic: "t", Partitions: []int32{0}},
		{ProducerID: 5, ProducerEpoch: 0, Topic: "t", Partitions: []int32{1}},
		{ProducerID: 6, ProducerEpoch: 0, Topic: "t", Partitions: []int32{2}},
	}}
	decided, left := decideMarkers(markers, coord, logs)
	if ms := decided["b1"]; len(ms) != 2 || !ms[0].Committed || ms[0].ProducerID != 4 || ms[1].Committed || ms[1].ProducerID != 5 {
		t.Errorf("decided %+v, want g-0 committed, g-1 aborted", decided)
	}
	if len(left) != 1 || left[0].ProducerID != 6 {
		t.Errorf("left alone %+v, want g-2's", left)
	}
}
