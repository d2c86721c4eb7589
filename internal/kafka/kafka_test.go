package kafka

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/fnv"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/e3793d55/goka/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// hangGuard bounds the waits of the cancellation tests. It is no speed
// assertion: it only tells "returned on cancel" from "waited for its own
// retry deadline or timeout", which is longer in every test below.
const hangGuard = 5 * time.Second

func TestTransientError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{context.Canceled, false},
		{sarama.ErrOffsetOutOfRange, false},
		{sarama.ErrTopicAuthorizationFailed, false},
		{sarama.ErrMessageSizeTooLarge, false},
		{sarama.ErrNotLeaderForPartition, true},
		{sarama.ErrLeaderNotAvailable, true},
		{sarama.ErrUnknownTopicOrPartition, true},
		{sarama.ErrRequestTimedOut, true},
		{sarama.ErrOutOfBrokers, true},
		{sarama.ErrNotEnoughReplicas, true},
		{sarama.ErrKafkaStorageError, true},
		{sarama.ErrFencedLeaderEpoch, true},
		{sarama.ErrUnknownLeaderEpoch, true},
		{sarama.ErrOffsetNotAvailable, true},
		{sarama.ErrBrokerNotAvailable, true},
		{sarama.ErrReplicaNotAvailable, true},
		{sarama.ErrNotConnected, true},
		{fmt.Errorf("offset of t/4 at -1: %w", io.EOF), true},
		{sarama.ErrClosedClient, false},
		{fmt.Errorf("offset of t/0: %w", sarama.ErrNotLeaderForPartition), true},
		{errors.Join(errors.New("x"), sarama.ErrOutOfBrokers), true},
		{fmt.Errorf("wrapped: %w", errors.New("boom")), false},
	} {
		if got := TransientError(tc.err); got != tc.want {
			t.Errorf("TransientError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// PartitionOf must choose the partition sarama's producer chooses with the
// same hasher: a table written by the producer is read by key with
// PartitionOf.
func TestPartitionOfMatchesSaramaPartitioner(t *testing.T) {
	hashers := map[string]func() hash.Hash32{
		"fnv32a": fnv.New32a,
		"fnv32":  fnv.New32,
		"crc32":  crc32.NewIEEE,
	}
	keys := []string{"", "a", "key-0001", "key-0002", "user-42", "ünïcödé", "a much longer key with spaces and numbers 1234567890"}
	for i := range 50 {
		keys = append(keys, fmt.Sprintf("k%d", i*7919))
	}
	for name, hasher := range hashers {
		partitioner := sarama.NewCustomHashPartitioner(hasher)("topic")
		for _, n := range []int{1, 2, 3, 7, 10, 12, 64, 100, 1000} {
			for _, key := range keys {
				want, err := partitioner.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, int32(n))
				if err != nil {
					t.Fatal(err)
				}
				if got := PartitionOf(hasher, key, n); got != want {
					t.Errorf("%s: PartitionOf(%q, %d) = %d, sarama chose %d", name, key, n, got, want)
				}
			}
		}
	}
}

func members(topics ...[]string) map[string]sarama.ConsumerGroupMemberMetadata {
	m := make(map[string]sarama.ConsumerGroupMemberMetadata)
	for i, ts := range topics {
		m[fmt.Sprintf("member-%d", i)] = sarama.ConsumerGroupMemberMetadata{Topics: ts}
	}
	return m
}

func TestCopartitionStrategyPlan(t *testing.T) {
	six := []int32{5, 3, 1, 0, 2, 4} // unsorted on purpose
	t.Run("spread", func(t *testing.T) {
		s := &CopartitionStrategy{}
		if s.Name() != "copartition" {
			t.Fatalf("Name() = %q", s.Name())
		}
		plan, err := s.Plan(members([]string{"in", "loop"}, []string{"in", "loop"}, []string{"in", "loop"}),
			map[string][]int32{"in": six, "loop": {0, 1, 2, 3, 4, 5}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]int32{"member-0": {0, 1}, "member-1": {2, 3}, "member-2": {4, 5}}
		for id, parts := range want {
			for _, topic := range []string{"in", "loop"} {
				if got := plan[id][topic]; !slices.Equal(got, parts) {
					t.Errorf("%s/%s got %v, want %v", id, topic, got, parts)
				}
			}
		}
	})
	t.Run("more members than partitions", func(t *testing.T) {
		plan, err := (&CopartitionStrategy{}).Plan(members([]string{"in"}, []string{"in"}, []string{"in"}),
			map[string][]int32{"in": {0, 1}})
		if err != nil {
			t.Fatal(err)
		}
		var all []int32
		for _, m := range plan {
			all = append(all, m["in"]...)
		}
		if slices.Sort(all); !slices.Equal(all, []int32{0, 1}) {
			t.Fatalf("partitions assigned: %v", all)
		}
	})
	t.Run("not copartitioned", func(t *testing.T) {
		_, err := (&CopartitionStrategy{}).Plan(members([]string{"a", "b"}), map[string][]int32{"a": six, "b": {0, 1, 2, 3}})
		if !errors.Is(err, ErrNotCopartitioned) {
			t.Fatalf("Plan error %v, want ErrNotCopartitioned", err)
		}
	})
	t.Run("strict", func(t *testing.T) {
		m := members([]string{"in"}, []string{"in", "loop"})
		topics := map[string][]int32{"in": six, "loop": six}
		if _, err := (&CopartitionStrategy{}).Plan(m, topics); err != nil {
			t.Fatalf("lenient Plan: %v", err)
		}
		if _, err := (&CopartitionStrategy{Strict: true}).Plan(m, topics); err == nil {
			t.Fatal("strict Plan accepted members subscribing to different topics")
		}
		if _, err := (&CopartitionStrategy{Strict: true}).Plan(members([]string{"in", "loop"}, []string{"loop", "in"}), topics); err != nil {
			t.Fatalf("strict Plan with equal subscriptions: %v", err)
		}
	})
}

func TestCopartitioned(t *testing.T) {
	parts, m := Copartitioned(map[string][]int32{"a": {2, 0, 1}, "b": {1, 2, 0}})
	if m != nil || !slices.Equal(parts, []int32{0, 1, 2}) {
		t.Fatalf("got %v, %+v", parts, m)
	}
	_, m = Copartitioned(map[string][]int32{"a": {0, 1}, "b": {0, 1, 2}})
	if m == nil || len(m.FirstParts) == len(m.OtherParts) || m.First == m.Other {
		t.Fatalf("mismatch not reported: %+v", m)
	}
}

// metaClient is a sarama.Client whose metadata refresh works but whose
// topic list fails, as sarama's does once the client is closed.
type metaClient struct {
	sarama.Client
	err error
}

func (c *metaClient) RefreshMetadata(...string) error { return nil }
func (c *metaClient) Topics() ([]string, error)       { return nil, c.err }

// createAdmin records CreateTopic calls.
type createAdmin struct {
	sarama.ClusterAdmin
	creates int
}

func (a *createAdmin) CreateTopic(string, *sarama.TopicDetail, bool) error {
	a.creates++
	return nil
}

// The old topicExists returned false when the topic list failed, so
// Partitions reported ErrTopicNotFound (a view then waited for the topic to
// be created) and EnsureTopicExists tried to create the topic. Fails on the
// old code.
func TestTopicListErrorIsNotTopicNotFound(t *testing.T) {
	admin := &createAdmin{}
	tm := &TopicManager{saramaCfg: sarama.NewConfig(), cfg: DefaultConfig(), client: &metaClient{err: sarama.ErrClosedClient}, admin: admin}
	tm.cfg.Logger = discard{}

	if _, err := tm.topicExists("t"); !errors.Is(err, sarama.ErrClosedClient) {
		t.Fatalf("topicExists error %v, want the client's", err)
	}
	_, err := tm.Partitions("t")
	if err == nil || errors.Is(err, ErrTopicNotFound) || !errors.Is(err, sarama.ErrClosedClient) {
		t.Fatalf("Partitions error %v, want the client's error and not ErrTopicNotFound", err)
	}
	err = tm.EnsureTableExists("t", 1)
	if err == nil || errors.Is(err, ErrTopicNotFound) || !errors.Is(err, sarama.ErrClosedClient) {
		t.Fatalf("EnsureTableExists error %v, want the client's error", err)
	}
	if admin.creates != 0 {
		t.Fatalf("EnsureTableExists tried %d creates on an unanswered topic list", admin.creates)
	}
}

// newCluster starts a kfake broker with topic "t" (2 partitions).
func newCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testSaramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Metadata.Retry.Max = 1
	cfg.Metadata.Retry.Backoff = 10 * time.Millisecond
	cfg.Net.DialTimeout = time.Second
	cfg.Net.ReadTimeout = 10 * time.Second
	return cfg
}

func newTM(t *testing.T, c *kfake.Cluster, sc *sarama.Config, cfg Config) *TopicManager {
	t.Helper()
	tm, err := New(c.ListenAddrs(), sc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tm.Close() })
	return tm
}

// A failing metadata request is a broker error, not "topic not found".
func TestPartitionsBrokerErrorIsNotTopicNotFound(t *testing.T) {
	c := newCluster(t)
	tm := newTM(t, c, testSaramaConfig(), DefaultConfig())

	parts, err := tm.Partitions("t")
	if err != nil || len(parts) != 2 {
		t.Fatalf("Partitions(t) = %v, %v", parts, err)
	}
	if _, err := tm.Partitions("missing"); !errors.Is(err, ErrTopicNotFound) {
		t.Fatalf("Partitions(missing) error %v, want ErrTopicNotFound", err)
	}

	c.ControlKey(int16(kmsg.Metadata), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, errors.New("injected metadata failure"), true
	})
	for _, topic := range []string{"t", "missing"} {
		_, err := tm.Partitions(topic)
		if err == nil || errors.Is(err, ErrTopicNotFound) {
			t.Fatalf("Partitions(%s) with failing metadata: %v, want a broker error", topic, err)
		}
		t.Logf("Partitions(%s) with failing metadata: %v", topic, err)
		err = tm.EnsureStreamExists(topic, 2)
		if err == nil || errors.Is(err, ErrTopicNotFound) {
			t.Fatalf("EnsureStreamExists(%s) with failing metadata: %v, want a broker error", topic, err)
		}
	}
}

func TestPartitionsClusterClosed(t *testing.T) {
	c := newCluster(t)
	tm := newTM(t, c, testSaramaConfig(), DefaultConfig())
	c.Close()
	_, err := tm.Partitions("t")
	if err == nil || errors.Is(err, ErrTopicNotFound) {
		t.Fatalf("Partitions on a closed cluster: %v, want a broker error", err)
	}
}

// cancelAfter cancels a context after d and returns it with the time of
// the cancel.
func cancelAfter(t *testing.T, d time.Duration) (context.Context, func() time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var at time.Time
	done := make(chan struct{})
	go func() {
		time.Sleep(d)
		at = time.Now()
		cancel()
		close(done)
	}()
	return ctx, func() time.Time { <-done; return at }
}

// measure runs f and fails if it takes longer than hangGuard after the
// cancel.
func measure(t *testing.T, what string, cancelled func() time.Time, f func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- f() }()
	select {
	case err := <-errc:
		t.Logf("%s returned %v after the cancel", what, time.Since(cancelled()))
		return err
	case <-time.After(hangGuard + time.Second):
		t.Fatalf("%s still running %v after the cancel", what, time.Since(cancelled()))
		return nil
	}
}

// The old GetOffset slept Metadata.Retry.Backoff between attempts for up to
// 10 s without looking at any context; GetOffsetContext ends with ctx. With
// a 3 s backoff the old loop could not return within the hang guard after
// the first sleep began.
func TestGetOffsetContextCancelledWhileRetrying(t *testing.T) {
	c := newCluster(t)
	sc := testSaramaConfig()
	sc.Metadata.Retry.Backoff = 3 * time.Second
	sc.Metadata.Retry.Max = 0
	tm := newTM(t, c, sc, DefaultConfig())

	var calls int
	c.ControlKey(int16(kmsg.ListOffsets), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		calls++
		req := kreq.(*kmsg.ListOffsetsRequest)
		resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewListOffsetsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewListOffsetsResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})

	ctx, cancelled := cancelAfter(t, 300*time.Millisecond)
	err := measure(t, "GetOffsetContext", cancelled, func() error {
		_, err := tm.GetOffsetContext(ctx, "t", 0, sarama.OffsetNewest)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("GetOffsetContext error %v, want context.Canceled", err)
	}
	if calls == 0 {
		t.Fatal("ListOffsets never reached the broker: the retry path was not exercised")
	}
}

// The old waitForTopic polled for up to CreateTopicTimeout with
// time.Sleep; here the broker acknowledges the create but the topic never
// appears, and the wait must end with ctx, not after the 60 s timeout.
func TestWaitForTopicCancelled(t *testing.T) {
	c := newCluster(t)
	cfg := DefaultConfig()
	cfg.CreateTopicTimeout = 60 * time.Second
	tm := newTM(t, c, testSaramaConfig(), cfg)

	c.ControlKey(int16(kmsg.CreateTopics), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.CreateTopicsRequest)
		resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewCreateTopicsResponseTopic()
			st.Topic = rt.Topic
			st.NumPartitions = rt.NumPartitions
			st.ReplicationFactor = rt.ReplicationFactor
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})

	ctx, cancelled := cancelAfter(t, 300*time.Millisecond)
	err := measure(t, "EnsureTopicExistsContext", cancelled, func() error {
		return tm.EnsureTopicExistsContext(ctx, "never-appears", 1, 1, nil)
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("EnsureTopicExistsContext error %v, want context.Canceled", err)
	}
}

// A fetch the broker never answers: NoDataBetween returns on cancel, and
// Close ends the abandoned fetch (it closes the connection) and waits for
// it, so no goroutine outlives the topic manager (leaktest checks).
func TestNoDataBetweenCancelled(t *testing.T) {
	c := newCluster(t)
	tm := newTM(t, c, testSaramaConfig(), DefaultConfig())
	if _, err := tm.Partitions("t"); err != nil { // leader known before the control
		t.Fatal(err)
	}
	c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // no answer: the client waits for Net.ReadTimeout
	})
	ctx, cancelled := cancelAfter(t, 300*time.Millisecond)
	err := measure(t, "NoDataBetween", cancelled, func() error {
		_, err := tm.NoDataBetween(ctx, "t", 0, 0, 1)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("NoDataBetween error %v, want context.Canceled", err)
	}
	began := time.Now()
	if err := tm.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > hangGuard {
		t.Fatalf("Close took %v", d)
	} else {
		t.Logf("Close with an abandoned fetch took %v", d)
	}
}

// New copies the sarama config: sarama keeps the pointer it is given.
func TestNewDoesNotKeepCallersConfig(t *testing.T) {
	c := newCluster(t)
	sc := testSaramaConfig()
	tm := newTM(t, c, sc, DefaultConfig())
	if tm.saramaCfg == sc {
		t.Fatal("New kept the caller's *sarama.Config")
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New([]string{"x:1"}, nil, DefaultConfig()); !errors.Is(err, ErrNilConfig) {
		t.Errorf("nil config: %v", err)
	}
	if _, err := New(nil, sarama.NewConfig(), DefaultConfig()); !errors.Is(err, ErrNoBrokers) {
		t.Errorf("no brokers: %v", err)
	}
	bad := DefaultConfig()
	bad.Table.Replication = 0
	if _, err := New([]string{"x:1"}, testSaramaConfig(), bad); err == nil {
		t.Error("Table.Replication 0 accepted")
	}
}

// WhileNotFound asks again while the topic is not found, and returns other
// errors and successes at once.
func TestWhileNotFound(t *testing.T) {
	calls := 0
	parts, err := WhileNotFound(context.Background(), func() ([]int32, error) {
		calls++
		if calls < 3 {
			return nil, fmt.Errorf("topic %q: %w", "t", ErrTopicNotFound)
		}
		return []int32{0, 1}, nil
	})
	if err != nil || len(parts) != 2 || calls != 3 {
		t.Fatalf("got %v, %v after %d calls; want 2 partitions after 3", parts, err, calls)
	}
	other := errors.New("broker down")
	calls = 0
	if _, err := WhileNotFound(context.Background(), func() ([]int32, error) { calls++; return nil, other }); !errors.Is(err, other) || calls != 1 {
		t.Fatalf("other error: %v after %d calls; want it at once", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WhileNotFound(ctx, func() ([]int32, error) { return nil, ErrTopicNotFound }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
