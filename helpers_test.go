package goka_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/kafkatest"
	"github.com/e3793d55/goka/storage"
)

func TestMain(m *testing.M) {
	// Tests read topics from the start and rebalance fast.
	goka.ReplaceGlobalConfig(testConfig())
	leaktest.VerifyTestMain(m)
}

func testConfig() *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = 6 * time.Second
	cfg.Consumer.Group.Rebalance.Timeout = 5 * time.Second
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.Retry.Backoff = 50 * time.Millisecond
	cfg.Net.DialTimeout = 2 * time.Second
	return cfg
}

// cluster starts an embedded broker with the given topics (name →
// partitions) for one test.
func cluster(t *testing.T, topics map[string]int) []string {
	t.Helper()
	opts := []kafkatest.Option{kafkatest.Partitions(10)}
	for name, n := range topics {
		opts = append(opts, kafkatest.Topic(name, n))
	}
	c, err := kafkatest.New(opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c.Brokers()
}

// tmBuilder creates topics with replication 1, as one broker needs.
func tmBuilder() goka.TopicManagerBuilder {
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	tmc.Logger = testLogger{}
	return goka.TopicManagerBuilderWithTopicManagerConfig(tmc)
}

type testLogger struct{}

func (testLogger) Print(...interface{})          {}
func (testLogger) Println(...interface{})        {}
func (testLogger) Printf(string, ...interface{}) {}

// procOpts are the options every test processor gets: its own storage
// directory, replication 1, quiet logs.
func procOpts(t *testing.T, dir string, extra ...goka.ProcessorOption) []goka.ProcessorOption {
	if dir == "" {
		dir = t.TempDir()
	}
	return append([]goka.ProcessorOption{
		goka.WithStorageBuilder(storage.DefaultBuilder(dir)),
		goka.WithTopicManagerBuilder(tmBuilder()),
		goka.WithLogger(testLogger{}),
	}, extra...)
}

func viewOpts(t *testing.T, dir string, extra ...goka.ViewOption) []goka.ViewOption {
	if dir == "" {
		dir = t.TempDir()
	}
	return append([]goka.ViewOption{
		goka.WithViewStorageBuilder(storage.DefaultBuilder(dir)),
		goka.WithViewTopicManagerBuilder(tmBuilder()),
		goka.WithViewLogger(testLogger{}),
	}, extra...)
}

// runner runs a component's Run in a goroutine and collects its result.
type runner struct {
	cancel context.CancelFunc
	errc   chan error
}

func run(t *testing.T, f func(context.Context) error) *runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, errc: make(chan error, 1)}
	go func() { r.errc <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.errc:
		case <-time.After(60 * time.Second):
			t.Errorf("Run did not return 60 s after cancel")
		}
	})
	return r
}

// stop cancels Run and returns its error.
func (r *runner) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.errc:
		r.errc <- err // for the cleanup
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("Run did not return 60 s after cancel")
		return nil
	}
}

// wait waits for Run to return on its own.
func (r *runner) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-r.errc:
		r.errc <- err
		return err
	case <-time.After(timeout):
		t.Fatalf("Run did not return within %v", timeout)
		return nil
	}
}

func emitter(t *testing.T, brokers []string, topic string, c goka.Codec) *goka.Emitter {
	t.Helper()
	e, err := goka.NewEmitter(brokers, goka.Stream(topic), c, goka.WithEmitterLogger(testLogger{}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Finish() })
	return e
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, format string, args ...interface{}) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: "+format, append([]interface{}{timeout}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readTopic reads every record of every partition of topic up to the
// high-water marks and returns the last value of every key (nil for
// tombstones) and the record count.
func readTopic(t *testing.T, brokers []string, topic string) (map[string][]byte, int) {
	t.Helper()
	client, err := sarama.NewClient(brokers, testConfig())
	require.NoError(t, err)
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	defer consumer.Close()
	parts, err := client.Partitions(topic)
	require.NoError(t, err)
	last := map[string][]byte{}
	count := 0
	for _, p := range parts {
		hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		require.NoError(t, err)
		if hwm == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		require.NoError(t, err)
		for {
			select {
			case msg := <-pc.Messages():
				last[string(msg.Key)] = msg.Value
				count++
				if msg.Offset >= hwm-1 {
					goto next
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("reading %s/%d timed out", topic, p)
			}
		}
	next:
		require.NoError(t, pc.Close())
	}
	return last, count
}

// committed returns the committed offsets of group for topic.
func committed(t *testing.T, brokers []string, group, topic string) map[int32]int64 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, testConfig())
	require.NoError(t, err)
	defer admin.Close()
	resp, err := admin.ListConsumerGroupOffsets(group, nil)
	out := map[int32]int64{}
	if errors.Is(err, sarama.ErrGroupIDNotFound) {
		return out // nothing committed yet
	}
	require.NoError(t, err)
	for p, b := range resp.Blocks[topic] {
		if b.Offset >= 0 {
			out[p] = b.Offset
		}
	}
	return out
}

func key(i int) string { return fmt.Sprintf("key-%04d", i) }

var _ = os.Getenv

// readHeaders returns the headers of the last record of partition 0 of
// topic, or nil if it has none.
func readHeaders(t *testing.T, brokers []string, topic string) goka.Headers {
	t.Helper()
	client, err := sarama.NewClient(brokers, testConfig())
	require.NoError(t, err)
	defer client.Close()
	hwm, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	require.NoError(t, err)
	if hwm == 0 {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, hwm-1)
	require.NoError(t, err)
	defer pc.Close()
	select {
	case msg := <-pc.Messages():
		return goka.HeadersFromSarama(msg.Headers)
	case <-time.After(10 * time.Second):
		t.Fatalf("no record at %s/0 offset %d", topic, hwm-1)
		return nil
	}
}

// partitionsOf returns the partition of every key in topic.
func partitionsOf(t *testing.T, brokers []string, topic string) map[string]int32 {
	t.Helper()
	client, err := sarama.NewClient(brokers, testConfig())
	require.NoError(t, err)
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	defer consumer.Close()
	parts, err := client.Partitions(topic)
	require.NoError(t, err)
	out := map[string]int32{}
	for _, p := range parts {
		hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		require.NoError(t, err)
		if hwm == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		require.NoError(t, err)
		for off := int64(0); off < hwm; off++ {
			msg := <-pc.Messages()
			out[string(msg.Key)] = msg.Partition
		}
		require.NoError(t, pc.Close())
	}
	return out
}
