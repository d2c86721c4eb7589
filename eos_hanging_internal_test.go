package goka

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/e3793d55/goka/codec"
)

// TestEndHangingDescribes runs the requests endHanging relies on
// against the embedded broker: the coordinator's view of a transactional
// ID and the partition leaders' open transactions, before and after the
// ID is fenced. A hanging transaction itself cannot be made here: kfake,
// like Kafka 4 (KIP-890), refuses transactional batches on partitions
// outside the producer's transaction, which is how they arise. The system
// test c under exactly-once covers that case on real Kafka.
func TestEndHangingDescribes(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "g-table", "__consumer_offsets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	p, err := NewProcessor(brokers, DefineGroup("g",
		Input("in", new(codec.String), func(Context, interface{}) {}),
		Persist(new(codec.String)),
	), WithProcessingGuarantee(ExactlyOnce))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p.writtenTopics(), "g-table") {
		t.Fatalf("written topics %v lack the table", p.writtenTopics())
	}

	txnProducer := func() sarama.SyncProducer {
		t.Helper()
		cfg := *p.opts.txnConfig
		cfg.Producer.Transaction.ID = transactionalID("g", 0)
		cfg.Producer.Return.Successes = true
		cfg.Producer.Return.Errors = true
		prod, err := sarama.NewSyncProducer(brokers, &cfg)
		if err != nil {
			t.Fatal(err)
		}
		return prod
	}
	cfg := *p.opts.txnConfig
	cfg.Version = sarama.V3_0_0_0
	client, err := sarama.NewClient(brokers, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	describe := func() (coordinatedProducer, []sarama.ProducerState) {
		t.Helper()
		coord, err := describeTxns(client, []string{"g-0"})
		if err != nil || len(coord) != 1 {
			t.Fatalf("describing g-0: %v, %v", coord, err)
		}
		parts, err := describeProducers(client, []string{"g-table"})
		if err != nil || len(parts) != 1 || parts[0].topic != "g-table" || parts[0].partition != 0 {
			t.Fatalf("describing the producers of g-table: %+v, %v", parts, err)
		}
		if m := hangingMarkers(coord, parts, time.Now().Add(time.Hour), time.Minute); len(m) != 0 {
			t.Errorf("hanging markers %v", m)
		}
		for _, cp := range coord {
			return cp, parts[0].producers
		}
		return coordinatedProducer{}, nil
	}

	first := txnProducer()
	defer first.Close()
	if err := first.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := first.SendMessage(&sarama.ProducerMessage{Topic: "g-table", Partition: 0, Value: sarama.StringEncoder("v")}); err != nil {
		t.Fatal(err)
	}
	coord, producers := describe()
	if coord.id != "g-0" || coord.state != "Ongoing" {
		t.Errorf("coordinator: %+v, want g-0 Ongoing", coord)
	}
	if len(producers) != 1 || producers[0].CurrentTxnStartOffset != 0 || int16(producers[0].ProducerEpoch) != coord.epoch {
		t.Errorf("open transactions %+v, want one at offset 0, epoch %d", producers, coord.epoch)
	}

	// A second producer of the ID fences the first: its coordinator ends
	// the transaction and knows the newer epoch.
	second := txnProducer()
	defer second.Close()
	fenced, producers := describe()
	if fenced.epoch <= coord.epoch || !slices.Contains(idleTxnStates, fenced.state) {
		t.Errorf("after fencing: %+v, want an idle state at an epoch above %d", fenced, coord.epoch)
	}
	for _, ps := range producers {
		if ps.CurrentTxnStartOffset >= 0 {
			t.Errorf("a transaction is still open after fencing: %+v", ps)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.endHanging(ctx, *p.opts.txnConfig, []string{"g-0"}); err != nil {
		t.Errorf("endHanging: %v", err)
	}
}

func TestHangingMarkers(t *testing.T) {
	coord := map[int64]coordinatedProducer{
		7: {id: "g-0", epoch: 3, state: "Empty"},
		8: {id: "g-1", epoch: 2, state: "Ongoing"},
		9: {id: "g-2", epoch: 5, state: "PrepareAbort"},
		6: {id: "g-3", epoch: 4, state: "CompleteCommit"},
	}
	now := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
	old := now.Add(-61 * time.Second).UnixMilli()
	openAt := func(pid int64, epoch int32, start, last int64) sarama.ProducerState {
		return sarama.ProducerState{ProducerID: pid, ProducerEpoch: epoch, CoordinatorEpoch: 12, CurrentTxnStartOffset: start, LastTimestamp: last}
	}
	open := func(pid int64, epoch int32, start int64) sarama.ProducerState { return openAt(pid, epoch, start, old) }
	tests := []struct {
		name  string
		parts []partitionProducers
		want  []string // leader topic/partition pid@epoch
	}{
		{"an older epoch of an idle producer hangs", []partitionProducers{{"t", 5, "b1", []sarama.ProducerState{open(7, 1, 1844)}}}, []string{"b1 t/5 7@1"}},
		{"the coordinator's epoch does not", []partitionProducers{{"t", 5, "b1", []sarama.ProducerState{open(7, 3, 1844)}}}, nil},
		{"a recent write does not", []partitionProducers{{"t", 5, "b1", []sarama.ProducerState{openAt(7, 1, 1844, now.Add(-time.Minute).UnixMilli())}}}, nil},
		{"nor an unknown time", []partitionProducers{{"t", 5, "b1", []sarama.ProducerState{openAt(7, 1, 1844, -1)}}}, nil},
		{"no open transaction", []partitionProducers{{"t", 5, "b1", []sarama.ProducerState{open(7, 1, -1)}}}, nil},
		{"a transaction in flight", []partitionProducers{{"t", 5, "b1", []sarama.ProducerState{open(8, 1, 10), open(9, 4, 10)}}}, nil},
		{"another producer", []partitionProducers{{"t", 5, "b1", []sarama.ProducerState{open(42, 0, 10)}}}, nil},
		{"per leader", []partitionProducers{
			{"t", 0, "b1", []sarama.ProducerState{open(7, 2, 3), open(42, 0, 1)}},
			{"__consumer_offsets", 9, "b2", []sarama.ProducerState{open(6, 3, 100)}},
			{"t", 1, "b2", []sarama.ProducerState{open(6, 4, 1)}},
		}, []string{"b1 t/0 7@2", "b2 __consumer_offsets/9 6@3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for leader, ms := range hangingMarkers(coord, tt.parts, now, time.Minute) {
				for _, m := range ms {
					if m.Committed || m.CoordinatorEpoch != 12 || len(m.Partitions) != 1 {
						t.Errorf("marker %+v", m)
					}
					got = append(got, fmt.Sprintf("%s %s/%d %d@%d", leader, m.Topic, m.Partitions[0], m.ProducerID, m.ProducerEpoch))
				}
			}
			slices.Sort(got)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
