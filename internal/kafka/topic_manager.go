package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// TopicManager checks and creates topics and reads offsets. It implements
// goka's TopicManager interface and the context-aware methods the engine
// finds by type assertion.
type TopicManager struct {
	saramaCfg *sarama.Config
	cfg       Config
	client    sarama.Client
	// admin is built from client; closing it closes client. Nil only in
	// tests that fake the client.
	admin sarama.ClusterAdmin

	// mu guards closed and the Add of calls: no call starts after Close
	// began waiting.
	mu     sync.Mutex
	closed bool
	calls  sync.WaitGroup
}

// New connects to brokers and returns a topic manager. It copies both
// configs: sarama keeps the *Config it is given, so a caller's later write
// would otherwise change a running client. saramaCfg.Version must be at
// least 0.10; New fails when no broker answers.
func New(brokers []string, saramaCfg *sarama.Config, cfg Config) (*TopicManager, error) {
	if saramaCfg == nil {
		return nil, fmt.Errorf("creating topic manager: %w", ErrNilConfig)
	}
	if len(brokers) == 0 {
		return nil, fmt.Errorf("creating topic manager: %w", ErrNoBrokers)
	}
	if !saramaCfg.Version.IsAtLeast(sarama.V0_10_0_0) {
		return nil, fmt.Errorf("creating topic manager: sarama config Version must be >= 0.10.0, got %s", saramaCfg.Version)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = discard{}
	}
	sc := *saramaCfg
	client, err := sarama.NewClient(brokers, &sc)
	if err != nil {
		return nil, fmt.Errorf("creating topic manager: connecting to %v: %w", brokers, errors.Join(ErrBrokerUnreachable, err))
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("creating topic manager: cluster admin on %v: %w", brokers, err)
	}
	return &TopicManager{saramaCfg: &sc, cfg: cfg, client: client, admin: admin}, nil
}

// Close closes the connections and waits for the sarama calls abandoned by
// cancelled contexts; closing the connections ends them.
func (tm *TopicManager) Close() error {
	tm.mu.Lock()
	if tm.closed {
		tm.mu.Unlock()
		return nil
	}
	tm.closed = true
	tm.mu.Unlock()
	var err error
	if tm.admin != nil {
		// Closing the admin closes the client it was built from.
		err = tm.admin.Close()
	} else {
		err = tm.client.Close()
	}
	tm.calls.Wait()
	return err
}

// await runs f and returns its result, or ctx.Err() as soon as ctx ends.
// sarama takes no context, so f then goes on in a goroutine that Close
// waits for; the sarama config's timeouts bound it. With a ctx that cannot
// end, f runs on the caller's goroutine.
func await[T any](ctx context.Context, tm *TopicManager, f func() (T, error)) (T, error) {
	var zero T
	if ctx.Done() == nil {
		return f()
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	tm.mu.Lock()
	if tm.closed {
		tm.mu.Unlock()
		return zero, sarama.ErrClosedClient
	}
	tm.calls.Go(func() {
		v, err := f()
		ch <- result{v, err}
	})
	tm.mu.Unlock()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (tm *TopicManager) refreshMetadata(ctx context.Context, topics ...string) error {
	_, err := await(ctx, tm, func() (struct{}, error) {
		return struct{}{}, tm.client.RefreshMetadata(topics...)
	})
	return err
}

// Partitions returns the partitions of topic, or an error wrapping
// ErrTopicNotFound.
func (tm *TopicManager) Partitions(topic string) ([]int32, error) {
	return tm.PartitionsContext(context.Background(), topic)
}

// PartitionsContext is Partitions ending when ctx does. A failing metadata
// request is returned as such, not as ErrTopicNotFound.
func (tm *TopicManager) PartitionsContext(ctx context.Context, topic string) ([]int32, error) {
	if err := tm.refreshMetadata(ctx); err != nil {
		return nil, fmt.Errorf("refreshing metadata: %w", err)
	}
	ok, err := tm.topicExists(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of topic %q: %w", topic, err)
	}
	if !ok {
		return nil, fmt.Errorf("topic %q: %w", topic, ErrTopicNotFound)
	}
	parts, err := tm.client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of topic %q: %w", topic, err)
	}
	return parts, nil
}

// topicExists looks topic up in the client's cached metadata, refreshed by
// the caller. An error means the question has no answer (the client is
// closed), which callers must not take for "not found".
func (tm *TopicManager) topicExists(topic string) (bool, error) {
	topics, err := tm.client.Topics()
	if err != nil {
		return false, fmt.Errorf("listing topics: %w", err)
	}
	return slices.Contains(topics, topic), nil
}

// getOffsetRetryFor bounds how long GetOffset retries transient errors.
const getOffsetRetryFor = 10 * time.Second

// GetOffset returns the offset of partition at time at: sarama.OffsetOldest,
// sarama.OffsetNewest (the high-water mark) or a timestamp in ms.
func (tm *TopicManager) GetOffset(topic string, partition int32, at int64) (int64, error) {
	return tm.GetOffsetContext(context.Background(), topic, partition, at)
}

// GetOffsetContext is GetOffset ending when ctx does. It retries transient
// errors (TransientError) for up to getOffsetRetryFor, Metadata.Retry.Backoff
// apart: on a real broker a freshly created topic is in the metadata before
// its leader serves it (NotLeaderForPartition), and after a broker restart
// or a leader change the metadata is stale for a moment. sarama's
// client.GetOffset refreshes the metadata only once, so without the retry a
// processor whose partition is set up at such a moment stops with "error
// setting up".
func (tm *TopicManager) GetOffsetContext(ctx context.Context, topic string, partition int32, at int64) (int64, error) {
	deadline := time.Now().Add(getOffsetRetryFor)
	for {
		off, err := await(ctx, tm, func() (int64, error) {
			return tm.client.GetOffset(topic, partition, at)
		})
		if err == nil {
			return off, nil
		}
		if ctx.Err() != nil || !TransientError(err) || time.Now().After(deadline) {
			return 0, fmt.Errorf("offset of %s/%d at %d: %w", topic, partition, at, err)
		}
		if serr := sleep(ctx, tm.saramaCfg.Metadata.Retry.Backoff); serr != nil {
			return 0, fmt.Errorf("offset of %s/%d at %d: %w (while retrying after: %w)", topic, partition, at, serr, err)
		}
		// The next attempt reports what the refresh could not fix.
		_ = tm.refreshMetadata(ctx, topic)
	}
}

// EnsureTableExists makes sure a compacted table topic with npar partitions
// exists, creating it if it is missing.
func (tm *TopicManager) EnsureTableExists(topic string, npar int) error {
	return tm.EnsureTableExistsContext(context.Background(), topic, npar)
}

// EnsureTableExistsContext is EnsureTableExists ending when ctx does.
func (tm *TopicManager) EnsureTableExistsContext(ctx context.Context, topic string, npar int) error {
	return tm.EnsureTopicExistsContext(ctx, topic, npar, tm.cfg.Table.Replication, map[string]string{
		"cleanup.policy": tm.cfg.Table.CleanupPolicy,
	})
}

// EnsureStreamExists makes sure a stream topic with npar partitions exists,
// creating it with the stream retention if it is missing.
func (tm *TopicManager) EnsureStreamExists(topic string, npar int) error {
	return tm.EnsureStreamExistsContext(context.Background(), topic, npar)
}

// EnsureStreamExistsContext is EnsureStreamExists ending when ctx does.
func (tm *TopicManager) EnsureStreamExistsContext(ctx context.Context, topic string, npar int) error {
	return tm.EnsureTopicExistsContext(ctx, topic, npar, tm.cfg.Stream.Replication, map[string]string{
		"cleanup.policy": tm.cfg.Stream.CleanupPolicy,
		"retention.ms":   strconv.FormatInt(tm.cfg.Stream.Retention.Milliseconds(), 10),
	})
}

// EnsureTopicExists makes sure topic exists with npar partitions,
// replication factor rfactor and config.
func (tm *TopicManager) EnsureTopicExists(topic string, npar, rfactor int, config map[string]string) error {
	return tm.EnsureTopicExistsContext(context.Background(), topic, npar, rfactor, config)
}

// EnsureTopicExistsContext is EnsureTopicExists ending when ctx does.
func (tm *TopicManager) EnsureTopicExistsContext(ctx context.Context, topic string, npar, rfactor int, config map[string]string) error {
	if npar < 1 {
		return fmt.Errorf("ensuring topic %q: partitions must be >= 1, got %d", topic, npar)
	}
	if err := tm.refreshMetadata(ctx); err != nil {
		return fmt.Errorf("ensuring topic %q: refreshing metadata: %w", topic, err)
	}
	exists, err := tm.topicExists(topic)
	if err != nil {
		return fmt.Errorf("ensuring topic %q: %w", topic, err)
	}
	if exists {
		_, err := await(ctx, tm, func() (struct{}, error) {
			return struct{}{}, tm.checkExisting(topic, npar, rfactor, config)
		})
		return err
	}
	if tm.cfg.NoCreate {
		return fmt.Errorf("ensuring topic %q: topic does not exist and NoCreate is set: %w", topic, ErrTopicNotFound)
	}
	entries := make(map[string]*string, len(config))
	for k, v := range config {
		entries[k] = &v
	}
	_, err = await(ctx, tm, func() (struct{}, error) {
		return struct{}{}, tm.admin.CreateTopic(topic, &sarama.TopicDetail{
			NumPartitions:     int32(npar),
			ReplicationFactor: int16(rfactor),
			ConfigEntries:     entries,
		}, false)
	})
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("creating topic %q (partitions=%d, replication=%d): %w", topic, npar, rfactor, err)
	}
	if err == nil {
		tm.cfg.Logger.Printf("goka: created topic %q (partitions=%d, replication=%d, config=%v)", topic, npar, rfactor, config)
	}
	return tm.waitForTopic(ctx, topic, npar)
}

// topicPollInterval is how often waitForTopic asks for a created topic.
const topicPollInterval = 100 * time.Millisecond

// waitForTopic polls the metadata until topic shows up with its partitions,
// for up to CreateTopicTimeout or until ctx ends.
func (tm *TopicManager) waitForTopic(ctx context.Context, topic string, npar int) error {
	if tm.cfg.CreateTopicTimeout == 0 {
		return nil
	}
	deadline := time.Now().Add(tm.cfg.CreateTopicTimeout)
	for {
		parts, err := tm.PartitionsContext(ctx, topic)
		if err == nil && len(parts) == npar {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for topic %q: %w", topic, ctx.Err())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %q not visible with %d partitions after %v (last error: %w)", topic, npar, tm.cfg.CreateTopicTimeout, err)
		}
		if err := sleep(ctx, topicPollInterval); err != nil {
			return fmt.Errorf("waiting for topic %q: %w", topic, err)
		}
	}
}

func (tm *TopicManager) checkExisting(topic string, npar, rfactor int, config map[string]string) error {
	parts, err := tm.client.Partitions(topic)
	if err != nil {
		return fmt.Errorf("partitions of topic %q: %w", topic, err)
	}
	var problems []string
	if len(parts) != npar {
		problems = append(problems, fmt.Sprintf("partition count: want %d, has %d", npar, len(parts)))
	}
	if tm.saramaCfg.Version.IsAtLeast(sarama.V0_11_0_0) && tm.cfg.MismatchBehavior != MismatchIgnore {
		problems = append(problems, tm.configProblems(topic, rfactor, config)...)
	}
	if len(problems) == 0 {
		return nil
	}
	msg := fmt.Sprintf("topic %q differs from the request: %s", topic, strings.Join(problems, "; "))
	switch tm.cfg.MismatchBehavior {
	case MismatchFail:
		return errors.New(msg)
	case MismatchWarn:
		tm.cfg.Logger.Printf("goka: warning: %s", msg)
	}
	return nil
}

func (tm *TopicManager) configProblems(topic string, rfactor int, config map[string]string) []string {
	var problems []string
	results, err := tm.admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic}}, sarama.DescribeConfigsOptions{})
	if err == nil && len(results) == 1 && results[0].ErrorCode != sarama.ErrNoError {
		err = results[0].ErrorCode
	}
	if err != nil {
		return []string{fmt.Sprintf("cannot describe config: %v", err)}
	}
	have := make(map[string]string, len(results[0].Configs))
	for _, e := range results[0].Configs {
		have[e.Name] = e.Value
	}
	for k, want := range config {
		if got := have[k]; got != want {
			problems = append(problems, fmt.Sprintf("config %s: want %q, has %q", k, want, got))
		}
	}
	meta, err := tm.admin.DescribeTopics([]string{topic})
	if err == nil && len(meta) == 1 {
		for _, p := range meta[0].Partitions {
			if len(p.Replicas) < rfactor {
				problems = append(problems, fmt.Sprintf("partition %d has %d replicas, want %d", p.ID, len(p.Replicas), rfactor))
				break
			}
		}
	}
	return problems
}

// VisibleWait is how long WhileNotFound asks again for a topic that the
// metadata does not show. On a cluster, a topic created a moment ago
// through one broker (by another program, or a test that starts a
// processor right after creating its topics) is not yet in every broker's
// metadata; Goka's own system tests start processors that way.
const VisibleWait = 3 * time.Second

// WhileNotFound calls partitions until it returns something other than an
// error wrapping ErrTopicNotFound, for up to VisibleWait, every 250 ms.
func WhileNotFound(ctx context.Context, partitions func() ([]int32, error)) ([]int32, error) {
	deadline := time.Now().Add(VisibleWait)
	for {
		parts, err := partitions()
		if !errors.Is(err, ErrTopicNotFound) || !time.Now().Before(deadline) {
			return parts, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
