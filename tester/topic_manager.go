package tester

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
)

// MockTopicManager is the tester's goka.TopicManager: every topic exists
// with one partition.
type MockTopicManager struct {
	tt *Tester
}

var (
	_ goka.TopicManager = (*MockTopicManager)(nil)
	// The context-aware methods goka's engine looks for (its unexported
	// topicManagerContext interface): the tester's topic manager answers at
	// once, so it ignores ctx.
	_ interface {
		PartitionsContext(ctx context.Context, topic string) ([]int32, error)
		GetOffsetContext(ctx context.Context, topic string, partition int32, at int64) (int64, error)
		EnsureTableExistsContext(ctx context.Context, topic string, npar int) error
		EnsureStreamExistsContext(ctx context.Context, topic string, npar int) error
	} = (*MockTopicManager)(nil)
)

// NewMockTopicManager returns the topic manager of tt. The partition and
// replication arguments are ignored, as in Goka: topics have one
// partition.
func NewMockTopicManager(tt *Tester, defaultNumPartitions int, defaultReplFactor int) *MockTopicManager {
	return &MockTopicManager{tt: tt}
}

// EnsureTableExists creates the table topic; it accepts only one partition.
func (tm *MockTopicManager) EnsureTableExists(topic string, npar int) error {
	if npar != 1 {
		return fmt.Errorf("tester: table %q with %d partitions: the tester supports 1 partition only", topic, npar)
	}
	tm.ensure(topic)
	return nil
}

// EnsureStreamExists creates the topic.
func (tm *MockTopicManager) EnsureStreamExists(topic string, npar int) error {
	tm.ensure(topic)
	return nil
}

// EnsureTopicExists creates the topic.
func (tm *MockTopicManager) EnsureTopicExists(topic string, npar, rfactor int, config map[string]string) error {
	tm.ensure(topic)
	return nil
}

func (tm *MockTopicManager) ensure(topic string) {
	tm.tt.mu.Lock()
	defer tm.tt.mu.Unlock()
	tm.tt.queueLocked(topic)
}

// Partitions returns partition 0 for every topic.
func (tm *MockTopicManager) Partitions(topic string) ([]int32, error) {
	return []int32{0}, nil
}

// GetOffset returns 0 for sarama.OffsetOldest and for timestamps, and the
// high-water mark for sarama.OffsetNewest.
func (tm *MockTopicManager) GetOffset(topic string, partitionID int32, time int64) (int64, error) {
	if time != sarama.OffsetNewest {
		return 0, nil
	}
	return tm.tt.hwm(topic), nil
}

// PartitionsContext is Partitions; it never waits.
func (tm *MockTopicManager) PartitionsContext(ctx context.Context, topic string) ([]int32, error) {
	return tm.Partitions(topic)
}

// GetOffsetContext is GetOffset; it never waits.
func (tm *MockTopicManager) GetOffsetContext(ctx context.Context, topic string, partition int32, at int64) (int64, error) {
	return tm.GetOffset(topic, partition, at)
}

// EnsureTableExistsContext is EnsureTableExists; it never waits.
func (tm *MockTopicManager) EnsureTableExistsContext(ctx context.Context, topic string, npar int) error {
	return tm.EnsureTableExists(topic, npar)
}

// EnsureStreamExistsContext is EnsureStreamExists; it never waits.
func (tm *MockTopicManager) EnsureStreamExistsContext(ctx context.Context, topic string, npar int) error {
	return tm.EnsureStreamExists(topic, npar)
}

// Close does nothing.
func (tm *MockTopicManager) Close() error { return nil }
