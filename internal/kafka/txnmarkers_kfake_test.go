package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// TestWriteTxnMarkers leaves a transaction open on a partition and ends
// it with WriteTxnMarkers, aborted as an operator's kafka-transactions.sh
// abort would, or committed: the partition's last stable offset reaches
// its high-water mark either way. A leader that does not verify
// transactional writes (older than Kafka 3.6, or with verification off)
// gets no commit marker, and the transaction stays open.
func TestWriteTxnMarkers(t *testing.T) {
	tests := []struct {
		name       string
		opts       []kfake.Opt
		committed  bool
		unverified bool // want ErrUnverifiedTxnWrites
	}{
		{name: "abort", committed: false},
		{name: "commit", committed: true},
		{name: "commit, verification on", committed: true,
			opts: []kfake.Opt{kfake.BrokerConfigs(map[string]string{verificationConfig: "true"})}},
		{name: "commit, Kafka 3.5", committed: true, unverified: true,
			opts: []kfake.Opt{kfake.MaxVersions(kversion.V3_5_0())}},
		{name: "commit, verification off", committed: true, unverified: true,
			opts: []kfake.Opt{kfake.BrokerConfigs(map[string]string{verificationConfig: "false"})}},
		{name: "abort, Kafka 3.5", committed: false,
			opts: []kfake.Opt{kfake.MaxVersions(kversion.V3_5_0())}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testWriteTxnMarkers(t, tt.opts, tt.committed, tt.unverified) })
	}
}

func testWriteTxnMarkers(t *testing.T, opts []kfake.Opt, committed, unverified bool) {
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, "out")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_0_0_0
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Transaction.ID = "open"
	prod, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if err := prod.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "out", Partition: 0, Value: sarama.StringEncoder("v")}); err != nil {
		t.Fatal(err)
	}

	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	leader, err := client.Leader("out", 0)
	if err != nil {
		t.Fatal(err)
	}
	open := func() []sarama.ProducerState {
		t.Helper()
		resp, err := leader.DescribeProducers(&sarama.DescribeProducersRequest{Topics: []sarama.DescribeProducersRequestTopic{{Name: "out", PartitionIndexes: []int32{0}}}})
		if err != nil {
			t.Fatal(err)
		}
		var out []sarama.ProducerState
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				for _, ap := range p.ActiveProducers {
					if ap.CurrentTxnStartOffset >= 0 {
						out = append(out, ap)
					}
				}
			}
		}
		return out
	}
	producers := open()
	if len(producers) != 1 {
		t.Fatalf("open transactions: %d, want 1", len(producers))
	}
	ap := producers[0]
	if lso, hwm := readCommittedEnd(t, brokers, "out"), mustOffset(t, client, "out"); lso >= hwm {
		t.Fatalf("before the abort: last stable offset %d, high-water mark %d", lso, hwm)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = WriteTxnMarkers(ctx, leader, cfg, []TxnMarker{{
		Committed:  committed,
		ProducerID: ap.ProducerID, ProducerEpoch: int16(ap.ProducerEpoch), CoordinatorEpoch: ap.CoordinatorEpoch,
		Topic: "out", Partitions: []int32{0},
	}})
	if unverified {
		if !errors.Is(err, ErrUnverifiedTxnWrites) {
			t.Fatalf("commit markers to a leader that does not verify: %v, want ErrUnverifiedTxnWrites", err)
		}
		if lso, hwm := readCommittedEnd(t, brokers, "out"), mustOffset(t, client, "out"); lso >= hwm {
			t.Errorf("after a refused commit: last stable offset %d, high-water mark %d; the transaction was ended", lso, hwm)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	// kfake's WriteTxnMarkers writes the marker and moves the last stable
	// offset but leaves the producer state to its coordinator, so that
	// DescribeProducers still lists the transaction: check the offset.
	if lso, hwm := readCommittedEnd(t, brokers, "out"), mustOffset(t, client, "out"); lso != hwm {
		t.Errorf("last stable offset %d, high-water mark %d", lso, hwm)
	}
	// A read_committed consumer reads the transaction's record if it was
	// committed and skips it if it was aborted: after a plain record
	// produced behind the marker, the first record it reads tells which.
	plain := sarama.NewConfig()
	plain.Producer.Return.Successes = true
	after, err := sarama.NewSyncProducer(brokers, plain)
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	if _, _, err := after.SendMessage(&sarama.ProducerMessage{Topic: "out", Partition: 0, Value: sarama.StringEncoder("after")}); err != nil {
		t.Fatal(err)
	}
	rc := sarama.NewConfig()
	rc.Version = sarama.V3_0_0_0
	rc.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer(brokers, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition("out", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	want := "after"
	if committed {
		want = "v"
	}
	select {
	case msg := <-pc.Messages():
		if string(msg.Value) != want {
			t.Errorf("first record read committed: %q, want %q", msg.Value, want)
		}
	case <-ctx.Done():
		t.Fatal("no record read committed")
	}

	sasl := *cfg
	sasl.Net.SASL.Enable = true
	sasl.Net.SASL.Mechanism = sarama.SASLTypeGSSAPI
	if err := WriteTxnMarkers(ctx, leader, &sasl, nil); !errors.Is(err, ErrSASLUnsupported) {
		t.Errorf("with GSSAPI: %v, want ErrSASLUnsupported", err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if err := WriteTxnMarkers(cctx, leader, cfg, nil); err == nil {
		t.Error("a cancelled context did not fail")
	}
}

// readCommittedEnd returns the last stable offset of topic's partition 0,
// asked with ListOffsets read_committed on a raw connection.
func readCommittedEnd(t *testing.T, brokers []string, topic string) int64 {
	t.Helper()
	ctx := context.Background()
	c, err := dialRaw(ctx, brokers[0], sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 4
	req.ReplicaID = -1
	req.IsolationLevel = 1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	kresp, err := c.request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	p := kresp.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		t.Fatal(err)
	}
	return p.Offset
}

func mustOffset(t *testing.T, client sarama.Client, topic string) int64 {
	t.Helper()
	off, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	return off
}
