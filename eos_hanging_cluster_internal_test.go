package goka

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/codec"
)

// lineLogger keeps a processor's log lines.
type lineLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLogger) Printf(format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *lineLogger) Print(args ...interface{}) { l.Printf("%s", fmt.Sprint(args...)) }
func (l *lineLogger) Println(args ...interface{}) {
	l.Printf("%s", fmt.Sprintln(args...))
}

func (l *lineLogger) find(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// TestEndHangingOnCluster makes Kafka leave a hanging transaction,
// committed or aborted, and checks that the processor ends it the same
// way, on the 3-node cluster of scripts/kafka.sh up-cluster
// (GOKA_HANGING_CLUSTER is its bootstrap addresses; the test kills and
// starts node 2). The table partition has its only replica on node 2: a
// transaction writes to it, node 2 is killed, and the producer commits or
// aborts while the partition has no leader, so that the coordinator skips
// its marker as "likely deleted" (KAFKA-5202) and completes the
// transaction. With node 2 back, the partition holds it open; after
// fencing, endHanging must read the decision from __transaction_state and
// write that marker: read_committed then reads the record, or skips it.
func TestEndHangingOnCluster(t *testing.T) {
	if os.Getenv("GOKA_HANGING_CLUSTER") == "" {
		t.Skip("GOKA_HANGING_CLUSTER not set")
	}
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) { testEndHangingOnCluster(t, commit) })
	}
}

func testEndHangingOnCluster(t *testing.T, commit bool) {
	kafkaSh := func(args ...string) {
		t.Helper()
		out, err := exec.Command("bash", append([]string{"scripts/kafka.sh"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kafka.sh %v: %v\n%s", args, err, out)
		}
	}
	brokers := strings.Split(os.Getenv("GOKA_HANGING_CLUSTER"), ",")
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Metadata.RefreshFrequency = time.Second
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	// A group whose transactional ID "<group>-0" has its coordinator
	// elsewhere than node 2.
	var group string
	for i := 0; ; i++ {
		group = fmt.Sprintf("hang-%d-%d", time.Now().Unix(), i)
		coord, err := client.TransactionCoordinator(transactionalID(Group(group), 0))
		if err != nil {
			t.Fatal(err)
		}
		if coord.ID() != 2 {
			break
		}
	}
	table := group + "-table"
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateTopic(table, &sarama.TopicDetail{NumPartitions: -1, ReplicationFactor: -1, ReplicaAssignment: map[int32][]int32{0: {2}},
		ConfigEntries: map[string]*string{"min.insync.replicas": ptr("1")}}, false); err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateTopic(group+"-in", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 3}, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.DeleteTopic(table)
		_ = admin.DeleteTopic(group + "-in")
	})

	log := new(lineLogger)
	p, err := NewProcessor(brokers, DefineGroup(Group(group),
		Input(Stream(group+"-in"), new(codec.String), func(Context, interface{}) {}),
		Persist(new(codec.String)),
	), WithProcessingGuarantee(ExactlyOnce), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	txnCfg := *p.opts.txnConfig
	txnCfg.Producer.Transaction.ID = transactionalID(Group(group), 0)
	txnCfg.Producer.Return.Successes = true
	txnCfg.Producer.Partitioner = sarama.NewManualPartitioner
	txnCfg.Producer.Transaction.Retry.Max = 100
	prod, err := sarama.NewSyncProducer(brokers, &txnCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if err := prod.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: table, Partition: 0, Value: sarama.StringEncoder("in-txn")}); err != nil {
		t.Fatal(err)
	}

	kafkaSh("kill", "2")
	started := false
	defer func() {
		if !started {
			kafkaSh("start", "2")
		}
	}()
	for deadline := time.Now().Add(time.Minute); ; {
		_ = client.RefreshMetadata(table)
		if _, err := client.Leader(table, 0); err != nil {
			break // no leader: the controller fenced node 2
		}
		if time.Now().After(deadline) {
			t.Fatal("the table partition kept its leader")
		}
		time.Sleep(200 * time.Millisecond)
	}
	end, ended := prod.AbortTxn, "aborted"
	if commit {
		end, ended = prod.CommitTxn, "committed"
	}
	if err := end(); err != nil {
		t.Fatalf("ending the transaction: %v", err)
	}
	kafkaSh("start", "2")
	started = true

	// Fence the ID, as fenceStale does; then the transaction is older than
	// the age rule of the config endHanging gets.
	fence, err := newProducer(brokers, &txnCfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = fence.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	endCfg := *p.opts.txnConfig
	endCfg.Producer.Transaction.Timeout = time.Second
	time.Sleep(2 * time.Second)
	_ = client.RefreshMetadata(table)
	leader, err := client.Leader(table, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := openTxns(t, leader, table)
	if before == 0 {
		t.Fatal("Kafka wrote the abort marker: no hanging transaction to end (the coordinator did not skip it)")
	}
	if err := p.endHanging(ctx, endCfg, []string{transactionalID(Group(group), 0)}); err != nil {
		t.Fatal(err)
	}
	if line := log.find(ended + " the hanging transaction"); line == "" {
		logs, err := readTxnLog(ctx, client, []string{transactionalID(Group(group), 0)})
		t.Logf("the coordinator's log (%v):", err)
		for _, r := range logs[transactionalID(Group(group), 0)] {
			t.Logf("  producer %d epoch %d %v %+v", r.producerID, r.epoch, r.state, r.topics)
		}
		t.Fatalf("nothing %s logged; log: %v", ended, log.lines)
	} else {
		t.Log(line)
	}
	t.Logf("RESULT hanging transaction left by Kafka (%s, marker skipped on a partition without a leader; %d open): the processor %s it", ended, before, ended)

	// A read_committed reader reads the committed record and skips the
	// aborted one: the first record it reads is the transaction's or one
	// produced after the marker.
	plain := sarama.NewConfig()
	plain.Producer.Return.Successes = true
	plain.Producer.Partitioner = sarama.NewManualPartitioner
	after, err := sarama.NewSyncProducer(brokers, plain)
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	if _, _, err := after.SendMessage(&sarama.ProducerMessage{Topic: table, Partition: 0, Value: sarama.StringEncoder("after")}); err != nil {
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
	pc, err := consumer.ConsumePartition(table, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	select {
	case msg := <-pc.Messages():
		want := "after"
		if commit {
			want = "in-txn"
		}
		if string(msg.Value) != want {
			t.Errorf("first record read committed: %q, want %q", msg.Value, want)
		}
	case <-ctx.Done():
		t.Fatal("read_committed read nothing")
	}
}

func ptr(s string) *string { return &s }

// openTxns counts the open transactions on partition 0 of topic.
func openTxns(t *testing.T, leader *sarama.Broker, topic string) int {
	t.Helper()
	resp, err := leader.DescribeProducers(&sarama.DescribeProducersRequest{Topics: []sarama.DescribeProducersRequestTopic{{Name: topic, PartitionIndexes: []int32{0}}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			for _, ap := range p.ActiveProducers {
				if ap.CurrentTxnStartOffset >= 0 {
					n++
				}
			}
		}
	}
	return n
}
