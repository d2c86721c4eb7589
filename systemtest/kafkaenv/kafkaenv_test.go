package kafkaenv_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/systemtest/kafkaenv"
)

const numMessages = 1000

// versions are the protocol versions the round trip is tried with: the oldest
// Goka-era version we promise, and newer ones.
var versions = []sarama.KafkaVersion{sarama.V2_0_0_0, sarama.V3_6_0_0, sarama.V4_0_0_0}

func newConfig(v sarama.KafkaVersion) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = v
	cfg.ClientID = "kafkaenv-test"
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Net.ReadTimeout = 10 * time.Second
	cfg.Net.WriteTimeout = 10 * time.Second
	cfg.Admin.Timeout = 10 * time.Second
	cfg.Metadata.Retry.Max = 10
	cfg.Metadata.Retry.Backoff = 250 * time.Millisecond
	cfg.Producer.Compression = sarama.CompressionSnappy
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.Retry.Max = 40
	cfg.Producer.Retry.Backoff = 250 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	return cfg
}

// TestCompactedTopicRoundTrip creates a compacted topic with ClusterAdmin,
// produces 1,000 snappy-compressed messages, reads them all back and checks
// the topic's cleanup.policy, once per protocol version.
func TestCompactedTopicRoundTrip(t *testing.T) {
	kafkaenv.SkipUnlessEnabled(t)
	brokers := kafkaenv.MustBrokers(t)
	t.Logf("brokers: %v", brokers)
	for _, v := range versions {
		t.Run("V"+strings.ReplaceAll(v.String(), ".", "_"), func(t *testing.T) {
			cfg := newConfig(v)
			admin, err := sarama.NewClusterAdmin(brokers, cfg)
			if err != nil {
				t.Fatalf("NewClusterAdmin(%v) with version %s: %v", brokers, v, err)
			}
			t.Cleanup(func() { _ = admin.Close() })
			nodes, _, err := admin.DescribeCluster()
			if err != nil {
				t.Fatalf("DescribeCluster: %v", err)
			}
			rf := int16(min(len(nodes), 3))

			topic := uniqueTopic("compact-" + strings.ReplaceAll(v.String(), ".", "_"))
			createTopic(t, admin, topic, 4, rf, map[string]*string{"cleanup.policy": ptr("compact")})

			client, err := sarama.NewClient(brokers, cfg)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			defer func() { _ = client.Close() }()
			waitForTopic(t, client, topic, 4)

			want := produce(t, client, topic, 0, numMessages)
			got := consumeAll(t, client, topic)
			checkMessages(t, want, got)

			results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{
				Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"cleanup.policy"},
			}}, sarama.DescribeConfigsOptions{})
			if err != nil {
				t.Fatalf("DescribeConfigs(%s): %v", topic, err)
			}
			var policy string
			var entries []sarama.ConfigEntry
			for _, r := range results {
				if r.ErrorCode != sarama.ErrNoError {
					t.Fatalf("DescribeConfigs(%s): %v %s", topic, r.ErrorCode, r.ErrorMsg)
				}
				entries = append(entries, r.Configs...)
			}
			for _, e := range entries {
				if e.Name == "cleanup.policy" {
					policy = e.Value
				}
			}
			if policy != "compact" {
				t.Fatalf("topic %s: cleanup.policy = %q, want compact (entries %+v)", topic, policy, entries)
			}
		})
	}
}

// TestCompactionRuns checks that the broker's log cleaner really compacts: it
// writes 5 rounds of the same 100 keys into separate segments and waits until
// the superseded values are gone.
func TestCompactionRuns(t *testing.T) {
	kafkaenv.SkipUnlessEnabled(t)
	brokers := kafkaenv.MustBrokers(t)
	cfg := newConfig(sarama.V3_6_0_0)
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		t.Fatalf("NewClusterAdmin(%v): %v", brokers, err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	nodes, _, err := admin.DescribeCluster()
	if err != nil {
		t.Fatalf("DescribeCluster: %v", err)
	}
	topic := uniqueTopic("compaction")
	createTopic(t, admin, topic, 1, int16(min(len(nodes), 3)), map[string]*string{
		"cleanup.policy":            ptr("compact"),
		"segment.ms":                ptr("100"),
		"min.cleanable.dirty.ratio": ptr("0.01"),
	})
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer func() { _ = client.Close() }()
	waitForTopic(t, client, topic, 1)
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatalf("NewSyncProducer: %v", err)
	}
	defer func() { _ = producer.Close() }()
	const keys, rounds = 100, 5
	for r := 0; r < rounds; r++ {
		msgs := make([]*sarama.ProducerMessage, 0, keys)
		for k := 0; k < keys; k++ {
			msgs = append(msgs, &sarama.ProducerMessage{
				Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("key-%03d", k)),
				Value: sarama.StringEncoder(fmt.Sprintf("round-%d", r)),
			})
		}
		if err := producer.SendMessages(msgs); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		time.Sleep(300 * time.Millisecond) // the next round rolls a new segment
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		n, latest := countRecords(t, client, topic)
		if n < keys*rounds {
			t.Logf("compacted: %d of %d records left", n, keys*rounds)
			for k := 0; k < keys; k++ {
				if v := latest[fmt.Sprintf("key-%03d", k)]; v != fmt.Sprintf("round-%d", rounds-1) {
					t.Fatalf("key-%03d: latest value %q after compaction, want round-%d", k, v, rounds-1)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s not compacted after 45s: still %d records (is log.cleaner.enable on?)", topic, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// countRecords reads partition 0 of topic up to its high-water mark and
// returns the number of records and each key's latest value.
func countRecords(t *testing.T, client sarama.Client, topic string) (int, map[string]string) {
	t.Helper()
	hwm, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatalf("GetOffset(%s-0): %v", topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	defer func() { _ = consumer.Close() }()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("ConsumePartition(%s-0): %v", topic, err)
	}
	defer func() { _ = pc.Close() }()
	latest := make(map[string]string)
	n := 0
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m := <-pc.Messages():
			n++
			latest[string(m.Key)] = string(m.Value)
			if m.Offset >= hwm-1 {
				return n, latest
			}
		case cerr := <-pc.Errors():
			t.Fatalf("consuming %s-0: %v", topic, cerr)
		case <-timeout:
			t.Fatalf("consuming %s-0: offset %d not reached after 30s", topic, hwm-1)
		}
	}
}

// TestSingleBrokerRestart restarts scripts/kafka.sh's single broker cleanly,
// then kills it with SIGKILL and starts it again, and checks that every
// acknowledged message survives both.
func TestSingleBrokerRestart(t *testing.T) {
	kafkaenv.SkipUnlessEnabled(t)
	if !kafkaenv.Running(kafkaenv.Single) {
		t.Skip("the single broker of scripts/kafka.sh is not running (this test restarts it): run `scripts/kafka.sh up`")
	}
	brokers := kafkaenv.MustBrokers(t)
	if v := os.Getenv(kafkaenv.EnvBrokers); v != "" {
		out, err := exec.Command("bash", mustScript(t), "brokers").Output()
		if err != nil || strings.TrimSpace(string(out)) != v {
			t.Skipf("%s=%s is not the single broker of scripts/kafka.sh (%s)", kafkaenv.EnvBrokers, v, strings.TrimSpace(string(out)))
		}
	}
	cfg := newConfig(sarama.V3_6_0_0)
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		t.Fatalf("NewClusterAdmin(%v): %v", brokers, err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	topic := uniqueTopic("restart")
	createTopic(t, admin, topic, 2, 1, nil)

	want := make(map[string]string)
	roundTrip := func(step string, from int, fault func() error) {
		client, err := sarama.NewClient(brokers, cfg)
		if err != nil {
			t.Fatalf("%s: NewClient: %v", step, err)
		}
		waitForTopic(t, client, topic, 2)
		for k, v := range produce(t, client, topic, from, 200) {
			want[k] = v
		}
		_ = client.Close()
		start := time.Now()
		if err := fault(); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		t.Logf("%s took %v", step, time.Since(start).Round(time.Millisecond))
		client, err = sarama.NewClient(brokers, cfg)
		if err != nil {
			t.Fatalf("%s: NewClient: %v", step, err)
		}
		defer func() { _ = client.Close() }()
		waitForTopic(t, client, topic, 2)
		checkMessages(t, want, consumeAll(t, client, topic))
	}
	roundTrip("restart", 0, kafkaenv.Restart)
	roundTrip("kill -9 and start", 200, func() error {
		if err := kafkaenv.Kill(kafkaenv.Single); err != nil {
			return err
		}
		return kafkaenv.Start(kafkaenv.Single)
	})
}

func mustScript(t *testing.T) string {
	t.Helper()
	s, err := kafkaenv.Script()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestClusterKillNode kills -9 the leader of a replicated topic's partition 0
// in scripts/kafka.sh's 3-node cluster, checks that produce with acks=all
// still works against the remaining two nodes (min.insync.replicas=2), starts
// the node again and reads everything back.
func TestClusterKillNode(t *testing.T) {
	kafkaenv.SkipUnlessEnabled(t)
	if os.Getenv(kafkaenv.EnvClusterBrokers) == "" && !kafkaenv.ClusterRunning() {
		t.Skip("no 3-node cluster: run `scripts/kafka.sh up-cluster` (this test kills and restarts a node)")
	}
	if !kafkaenv.ClusterRunning() {
		t.Skip(kafkaenv.EnvClusterBrokers + " names a cluster that scripts/kafka.sh does not run, so no node can be killed")
	}
	brokers := kafkaenv.MustClusterBrokers(t)
	cfg := newConfig(sarama.V3_6_0_0)
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		t.Fatalf("NewClusterAdmin(%v): %v", brokers, err)
	}
	t.Cleanup(func() { _ = admin.Close() })

	topic := uniqueTopic("kill")
	createTopic(t, admin, topic, 3, 3, nil)
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer func() { _ = client.Close() }()
	waitForTopic(t, client, topic, 3)

	want := produce(t, client, topic, 0, 100)

	leader, err := client.Leader(topic, 0)
	if err != nil {
		t.Fatalf("Leader(%s, 0): %v", topic, err)
	}
	node := int(leader.ID())
	t.Logf("killing node %d (leader of %s-0)", node, topic)
	start := time.Now()
	if err := kafkaenv.Kill(node); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := kafkaenv.Start(node); err != nil {
				t.Errorf("starting node %d again: %v", node, err)
			}
		}
	})

	// acks=all with min.insync.replicas=2 succeeds once the controller has
	// fenced the dead node and shrunk the ISRs.
	for k, v := range produce(t, client, topic, 100, numMessages) {
		want[k] = v
	}
	t.Logf("produced %d messages with acks=all on 2 of 3 nodes, %v after the kill", numMessages, time.Since(start).Round(time.Millisecond))
	meta, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		t.Fatalf("DescribeTopics: %v", err)
	}
	for _, p := range meta[0].Partitions {
		for _, id := range p.Isr {
			if int(id) == node {
				t.Errorf("%s-%d: killed node %d still in ISR %v", topic, p.ID, node, p.Isr)
			}
		}
		if p.Leader == int32(node) {
			t.Errorf("%s-%d: killed node %d is still leader", topic, p.ID, node)
		}
	}

	start = time.Now()
	if err := kafkaenv.Start(node); err != nil {
		t.Fatal(err)
	}
	restarted = true
	t.Logf("node %d back with full ISRs after %v", node, time.Since(start).Round(time.Millisecond))
	meta, err = admin.DescribeTopics([]string{topic})
	if err != nil {
		t.Fatalf("DescribeTopics: %v", err)
	}
	for _, p := range meta[0].Partitions {
		if len(p.Isr) != 3 {
			t.Errorf("%s-%d: ISR %v after restart, want 3 replicas", topic, p.ID, p.Isr)
		}
	}
	checkMessages(t, want, consumeAll(t, client, topic))
}

func ptr(s string) *string { return &s }

func uniqueTopic(what string) string {
	return fmt.Sprintf("kafkaenv-%s-%d", what, time.Now().UnixNano())
}

func createTopic(t *testing.T, admin sarama.ClusterAdmin, topic string, partitions int32, rf int16, cfg map[string]*string) {
	t.Helper()
	err := admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions: partitions, ReplicationFactor: rf, ConfigEntries: cfg,
	}, false)
	if err != nil {
		t.Fatalf("CreateTopic(%s, %d partitions, rf %d): %v", topic, partitions, rf, err)
	}
	t.Cleanup(func() {
		if err := admin.DeleteTopic(topic); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			t.Logf("DeleteTopic(%s): %v", topic, err)
		}
	})
}

// waitForTopic waits until the client's metadata has every partition of the
// topic with a leader.
func waitForTopic(t *testing.T, client sarama.Client, topic string, partitions int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := client.RefreshMetadata(topic)
		if err == nil {
			ps, perr := client.Partitions(topic)
			if perr == nil && len(ps) == partitions {
				ok := true
				for _, p := range ps {
					if _, lerr := client.Leader(topic, p); lerr != nil {
						ok = false
					}
				}
				if ok {
					return
				}
			}
			err = perr
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s has no leaders for its %d partitions after 30s: %v", topic, partitions, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// produce sends n messages with keys key-<from>..key-<from+n-1> and waits for
// every acknowledgement. It returns key -> value.
func produce(t *testing.T, client sarama.Client, topic string, from, n int) map[string]string {
	t.Helper()
	producer, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		t.Fatalf("NewAsyncProducer: %v", err)
	}
	defer func() { _ = producer.Close() }()
	want := make(map[string]string, n)
	msgs := make([]*sarama.ProducerMessage, 0, n)
	for i := from; i < from+n; i++ {
		k, v := fmt.Sprintf("key-%05d", i), fmt.Sprintf("value-%05d-%s", i, strings.Repeat("x", 100))
		want[k] = v
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(k), Value: sarama.StringEncoder(v)})
	}
	done := make(chan struct{})
	defer close(done) // runs before producer.Close: stops the feeder first
	go func() {
		for _, m := range msgs {
			select {
			case producer.Input() <- m:
			case <-done:
				return
			}
		}
	}()
	timeout := time.After(60 * time.Second)
	for acked := 0; acked < n; {
		select {
		case <-producer.Successes():
			acked++
		case perr := <-producer.Errors():
			t.Fatalf("producing to %s: %v", topic, perr.Err)
		case <-timeout:
			t.Fatalf("producing to %s: %d of %d messages acknowledged after 60s", topic, acked, n)
		}
	}
	return want
}

// consumeAll reads every partition of topic from the oldest offset up to its
// high-water mark.
func consumeAll(t *testing.T, client sarama.Client, topic string) map[string]string {
	t.Helper()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	defer func() { _ = consumer.Close() }()
	partitions, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("Partitions(%s): %v", topic, err)
	}
	got := make(map[string]string)
	// Open every partition first so that their fetches overlap, and close
	// them all at once at the end (a close waits for the fetch in flight).
	var pcs []sarama.PartitionConsumer
	defer func() {
		for _, pc := range pcs {
			pc.AsyncClose()
		}
		for _, pc := range pcs {
			for range pc.Messages() {
			}
			for range pc.Errors() {
			}
		}
	}()
	hwms := make([]int64, len(partitions))
	for i, p := range partitions {
		hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("GetOffset(%s-%d): %v", topic, p, err)
		}
		hwms[i] = hwm
		if hwm == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("ConsumePartition(%s-%d): %v", topic, p, err)
		}
		pcs = append(pcs, pc)
	}
	timeout := time.After(30 * time.Second)
	j := 0
	for i, p := range partitions {
		if hwms[i] == 0 {
			continue
		}
		pc := pcs[j]
		j++
	read:
		for {
			select {
			case m := <-pc.Messages():
				got[string(m.Key)] = string(m.Value)
				if m.Offset >= hwms[i]-1 {
					break read
				}
			case cerr := <-pc.Errors():
				t.Fatalf("consuming %s-%d: %v", topic, p, cerr)
			case <-timeout:
				t.Fatalf("consuming %s-%d: offset %d not reached after 30s", topic, p, hwms[i]-1)
			}
		}
	}
	return got
}

func checkMessages(t *testing.T, want, got map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("read %d distinct keys, want %d", len(got), len(want))
	}
	bad := 0
	for k, v := range want {
		if got[k] != v {
			bad++
			if bad <= 5 {
				t.Errorf("key %s: got %.20q, want %.20q", k, got[k], v)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d messages missing or wrong", bad, len(want))
	}
}
