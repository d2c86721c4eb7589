package kafka

import (
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// offsetClient fails GetOffset with err the first fails times.
type offsetClient struct {
	sarama.Client
	err   error
	fails int
	calls int
}

func (c *offsetClient) GetOffset(topic string, partitionID int32, time int64) (int64, error) {
	c.calls++
	if c.calls <= c.fails {
		return -1, c.err
	}
	return 42, nil
}

func (c *offsetClient) RefreshMetadata(topics ...string) error { return nil }

// On a real broker a just-created topic answers ListOffsets with
// NotLeaderForPartition for a moment; that must not reach the partition
// setup (found by the system tests on Kafka 4.4).
func TestTopicManagerGetOffsetRetriesTransientErrors(t *testing.T) {
	cfg := sarama.NewConfig()
	cfg.Metadata.Retry.Backoff = time.Millisecond
	c := &offsetClient{err: sarama.ErrNotLeaderForPartition, fails: 3}
	tm := &TopicManager{saramaCfg: cfg, cfg: DefaultConfig(), client: c}
	off, err := tm.GetOffset("t", 0, sarama.OffsetNewest)
	if err != nil || off != 42 {
		t.Fatalf("GetOffset = %d, %v; want 42, nil", off, err)
	}
	if c.calls != 4 {
		t.Fatalf("%d calls, want 4", c.calls)
	}

	fatal := errors.New("boom")
	c = &offsetClient{err: fatal, fails: 1}
	tm.client = c
	if _, err := tm.GetOffset("t", 0, sarama.OffsetNewest); !errors.Is(err, fatal) || c.calls != 1 {
		t.Fatalf("GetOffset = %v after %d calls; want the error at once", err, c.calls)
	}
}
