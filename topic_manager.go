package goka

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// TopicManager checks and creates topics.
type TopicManager interface {
	// EnsureTableExists makes sure a compacted table topic with npar
	// partitions exists, creating it if it is missing.
	EnsureTableExists(topic string, npar int) error
	// EnsureStreamExists makes sure a stream topic with npar partitions
	// exists, creating it with the stream retention if it is missing.
	EnsureStreamExists(topic string, npar int) error
	// EnsureTopicExists makes sure topic exists with npar partitions,
	// replication factor rfactor and config.
	EnsureTopicExists(topic string, npar, rfactor int, config map[string]string) error
	// Partitions returns the partitions of topic, or an error wrapping
	// ErrTopicNotFound.
	Partitions(topic string) ([]int32, error)
	// GetOffset returns the offset of partitionID at time: sarama.OffsetOldest
	// or sarama.OffsetNewest (the high-water mark) or a timestamp in ms.
	GetOffset(topic string, partitionID int32, time int64) (int64, error)
	// Close releases the connections.
	Close() error
}

// TMConfigMismatchBehavior says what the topic manager does when an
// existing topic differs from what was requested.
type TMConfigMismatchBehavior int

const (
	// TMConfigMismatchBehaviorIgnore accepts the difference silently (Goka's
	// default).
	TMConfigMismatchBehaviorIgnore TMConfigMismatchBehavior = 0
	// TMConfigMismatchBehaviorWarn logs the difference.
	TMConfigMismatchBehaviorWarn TMConfigMismatchBehavior = 1
	// TMConfigMismatchBehaviorFail returns an error.
	TMConfigMismatchBehaviorFail TMConfigMismatchBehavior = 2
)

// TopicManagerConfig configures the topic manager.
type TopicManagerConfig struct {
	// Logger gets the topic manager's log lines. Default: DefaultLogger().
	Logger Logger
	Table  struct {
		// Replication is the replication factor of new table topics.
		// Default: 2 (Goka's; set 1 for a single broker).
		Replication int
		// CleanupPolicy of new table topics. Default: "compact".
		CleanupPolicy string
	}
	Stream struct {
		// Replication is the replication factor of new stream topics.
		// Default: 2.
		Replication int
		// Retention of new stream topics. Default: 1 h.
		Retention time.Duration
		// CleanupPolicy of new stream topics. Default: "delete".
		CleanupPolicy string
	}
	// CreateTopicTimeout bounds the wait for a created topic to show up in
	// the metadata; 0 means no wait. Default: 10 s.
	CreateTopicTimeout time.Duration
	// MismatchBehavior says what to do when an existing topic differs from
	// the request. Default: TMConfigMismatchBehaviorIgnore.
	MismatchBehavior TMConfigMismatchBehavior
	// NoCreate makes Ensure* return an error instead of creating a missing
	// topic. Default: false.
	NoCreate bool
}

// NewTopicManagerConfig returns the default topic manager configuration.
func NewTopicManagerConfig() *TopicManagerConfig {
	cfg := &TopicManagerConfig{Logger: DefaultLogger()}
	cfg.Table.Replication = 2
	cfg.Table.CleanupPolicy = "compact"
	cfg.Stream.Replication = 2
	cfg.Stream.Retention = time.Hour
	cfg.Stream.CleanupPolicy = "delete"
	cfg.CreateTopicTimeout = 10 * time.Second
	return cfg
}

func (c *TopicManagerConfig) validate() error {
	switch {
	case c.Table.Replication < 1:
		return fmt.Errorf("topic manager config: Table.Replication must be >= 1, got %d", c.Table.Replication)
	case c.Stream.Replication < 1:
		return fmt.Errorf("topic manager config: Stream.Replication must be >= 1, got %d", c.Stream.Replication)
	case c.CreateTopicTimeout < 0:
		return fmt.Errorf("topic manager config: CreateTopicTimeout must be >= 0, got %v", c.CreateTopicTimeout)
	case c.MismatchBehavior < TMConfigMismatchBehaviorIgnore || c.MismatchBehavior > TMConfigMismatchBehaviorFail:
		return fmt.Errorf("topic manager config: invalid MismatchBehavior %d", c.MismatchBehavior)
	}
	return nil
}

// Broker is the part of a sarama broker goka uses.
type Broker interface {
	Addr() string
	Connected() (bool, error)
	CreateTopics(request *sarama.CreateTopicsRequest) (*sarama.CreateTopicsResponse, error)
	Open(conf *sarama.Config) error
}

type topicManager struct {
	config   *sarama.Config
	tmConfig *TopicManagerConfig
	client   sarama.Client
	admin    sarama.ClusterAdmin
}

// NewTopicManager connects to brokers and returns a topic manager. It needs
// config.Version >= 0.10 and fails when no broker answers.
func NewTopicManager(brokers []string, saramaConfig *sarama.Config, topicManagerConfig *TopicManagerConfig) (TopicManager, error) {
	if saramaConfig == nil {
		return nil, fmt.Errorf("creating topic manager: %w", ErrNilConfig)
	}
	if len(brokers) == 0 {
		return nil, fmt.Errorf("creating topic manager: %w", ErrNoBrokers)
	}
	if !saramaConfig.Version.IsAtLeast(sarama.V0_10_0_0) {
		return nil, fmt.Errorf("creating topic manager: sarama config Version must be >= 0.10.0, got %s", saramaConfig.Version)
	}
	if topicManagerConfig == nil {
		topicManagerConfig = NewTopicManagerConfig()
	}
	if topicManagerConfig.Logger == nil {
		topicManagerConfig.Logger = DefaultLogger()
	}
	if err := topicManagerConfig.validate(); err != nil {
		return nil, err
	}
	client, err := sarama.NewClient(brokers, saramaConfig)
	if err != nil {
		return nil, fmt.Errorf("creating topic manager: connecting to %v: %w", brokers, errors.Join(ErrBrokerUnreachable, err))
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("creating topic manager: cluster admin on %v: %w", brokers, err)
	}
	return &topicManager{config: saramaConfig, tmConfig: topicManagerConfig, client: client, admin: admin}, nil
}

func (tm *topicManager) Close() error {
	// Closing the admin closes the client it was built from.
	return tm.admin.Close()
}

func (tm *topicManager) Partitions(topic string) ([]int32, error) {
	if err := tm.client.RefreshMetadata(); err != nil {
		return nil, fmt.Errorf("refreshing metadata: %w", err)
	}
	if !tm.topicExists(topic) {
		return nil, fmt.Errorf("topic %q: %w", topic, ErrTopicNotFound)
	}
	parts, err := tm.client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of topic %q: %w", topic, err)
	}
	return parts, nil
}

func (tm *topicManager) topicExists(topic string) bool {
	topics, err := tm.client.Topics()
	if err != nil {
		return false
	}
	for _, t := range topics {
		if t == topic {
			return true
		}
	}
	return false
}

// getOffsetRetryFor bounds how long GetOffset retries transient errors.
const getOffsetRetryFor = 10 * time.Second

// GetOffset retries transient errors for up to getOffsetRetryFor: on a real
// broker a freshly created topic is in the metadata before its leader
// serves it (NotLeaderForPartition), and after a broker restart or a
// leader change the metadata is stale for a moment. sarama's
// client.GetOffset refreshes the metadata only once, so without the retry
// a processor whose partition is set up at such a moment stops with
// "error setting up".
func (tm *topicManager) GetOffset(topic string, partitionID int32, at int64) (int64, error) {
	deadline := time.Now().Add(getOffsetRetryFor)
	for {
		off, err := tm.client.GetOffset(topic, partitionID, at)
		if err == nil {
			return off, nil
		}
		if !transientOffsetError(err) || time.Now().After(deadline) {
			return 0, fmt.Errorf("offset of %s/%d at %d: %w", topic, partitionID, at, err)
		}
		time.Sleep(tm.config.Metadata.Retry.Backoff)
		_ = tm.client.RefreshMetadata(topic)
	}
}

// transientOffsetError reports whether a ListOffsets failure can go away by
// itself: leadership moving or not yet established, brokers unreachable.
func transientOffsetError(err error) bool {
	for _, e := range []error{
		sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable, sarama.ErrUnknownTopicOrPartition,
		sarama.ErrRequestTimedOut, sarama.ErrOutOfBrokers, sarama.ErrNotEnoughReplicas,
		sarama.ErrKafkaStorageError, sarama.ErrFencedLeaderEpoch, sarama.ErrUnknownLeaderEpoch,
		sarama.ErrOffsetNotAvailable, sarama.ErrBrokerNotAvailable, sarama.ErrReplicaNotAvailable,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (tm *topicManager) EnsureTableExists(topic string, npar int) error {
	return tm.EnsureTopicExists(topic, npar, tm.tmConfig.Table.Replication, map[string]string{
		"cleanup.policy": tm.tmConfig.Table.CleanupPolicy,
	})
}

func (tm *topicManager) EnsureStreamExists(topic string, npar int) error {
	return tm.EnsureTopicExists(topic, npar, tm.tmConfig.Stream.Replication, map[string]string{
		"cleanup.policy": tm.tmConfig.Stream.CleanupPolicy,
		"retention.ms":   strconv.FormatInt(tm.tmConfig.Stream.Retention.Milliseconds(), 10),
	})
}

func (tm *topicManager) EnsureTopicExists(topic string, npar, rfactor int, config map[string]string) error {
	if npar < 1 {
		return fmt.Errorf("ensuring topic %q: partitions must be >= 1, got %d", topic, npar)
	}
	if err := tm.client.RefreshMetadata(); err != nil {
		return fmt.Errorf("ensuring topic %q: refreshing metadata: %w", topic, err)
	}
	if tm.topicExists(topic) {
		return tm.checkExisting(topic, npar, rfactor, config)
	}
	if tm.tmConfig.NoCreate {
		return fmt.Errorf("ensuring topic %q: topic does not exist and NoCreate is set: %w", topic, ErrTopicNotFound)
	}
	entries := make(map[string]*string, len(config))
	for k, v := range config {
		v := v
		entries[k] = &v
	}
	err := tm.admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions:     int32(npar),
		ReplicationFactor: int16(rfactor),
		ConfigEntries:     entries,
	}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("creating topic %q (partitions=%d, replication=%d): %w", topic, npar, rfactor, err)
	}
	if err == nil {
		tm.tmConfig.Logger.Printf("goka: created topic %q (partitions=%d, replication=%d, config=%v)", topic, npar, rfactor, config)
	}
	return tm.waitForTopic(topic, npar)
}

// waitForTopic polls the metadata until topic shows up with its partitions.
func (tm *topicManager) waitForTopic(topic string, npar int) error {
	if tm.tmConfig.CreateTopicTimeout == 0 {
		return nil
	}
	deadline := time.Now().Add(tm.tmConfig.CreateTopicTimeout)
	for {
		parts, err := tm.Partitions(topic)
		if err == nil && len(parts) == npar {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %q not visible with %d partitions after %v (last error: %w)", topic, npar, tm.tmConfig.CreateTopicTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (tm *topicManager) checkExisting(topic string, npar, rfactor int, config map[string]string) error {
	parts, err := tm.client.Partitions(topic)
	if err != nil {
		return fmt.Errorf("partitions of topic %q: %w", topic, err)
	}
	var problems []string
	if len(parts) != npar {
		problems = append(problems, fmt.Sprintf("partition count: want %d, has %d", npar, len(parts)))
	}
	if tm.config.Version.IsAtLeast(sarama.V0_11_0_0) && (tm.tmConfig.MismatchBehavior != TMConfigMismatchBehaviorIgnore) {
		problems = append(problems, tm.configProblems(topic, rfactor, config)...)
	}
	if len(problems) == 0 {
		return nil
	}
	msg := fmt.Sprintf("topic %q differs from the request: %s", topic, strings.Join(problems, "; "))
	switch tm.tmConfig.MismatchBehavior {
	case TMConfigMismatchBehaviorFail:
		return errors.New(msg)
	case TMConfigMismatchBehaviorWarn:
		tm.tmConfig.Logger.Printf("goka: warning: %s", msg)
	}
	return nil
}

func (tm *topicManager) configProblems(topic string, rfactor int, config map[string]string) []string {
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
