package goka

import (
	"errors"
	"fmt"
	"testing"

	"github.com/IBM/sarama"
)

func TestDropCommitted(t *testing.T) {
	msg := func(topic string, offset int64) *sarama.ConsumerMessage {
		return &sarama.ConsumerMessage{Topic: topic, Offset: offset}
	}
	tests := []struct {
		name      string
		msgs      []*sarama.ConsumerMessage
		committed map[string]int64
		want      []string
	}{
		{"nothing committed", []*sarama.ConsumerMessage{msg("a", 5), msg("b", 1), msg("a", 6)}, map[string]int64{"a": -1, "b": -1}, []string{"a/5", "b/1", "a/6"}},
		{"no answer for a topic", []*sarama.ConsumerMessage{msg("a", 5), msg("b", 1)}, map[string]int64{"a": 5}, []string{"a/5", "b/1"}},
		{"committed before the replay", []*sarama.ConsumerMessage{msg("a", 5), msg("a", 6)}, map[string]int64{"a": 5}, []string{"a/5", "a/6"}},
		{"a lost commit answer: part committed", []*sarama.ConsumerMessage{msg("a", 5), msg("b", 1), msg("a", 6), msg("b", 2), msg("a", 7)}, map[string]int64{"a": 7, "b": 2}, []string{"b/2", "a/7"}},
		{"all committed", []*sarama.ConsumerMessage{msg("a", 5), msg("a", 6)}, map[string]int64{"a": 7}, nil},
		{"empty", nil, map[string]int64{"a": 7}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range dropCommitted(tt.msgs, tt.committed) {
				got = append(got, fmt.Sprintf("%s/%d", m.Topic, m.Offset))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTxnRestartable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{errors.New("committing: broken pipe"), true},
		{fmt.Errorf("committing: %w", sarama.ErrInvalidTxnState), true},
		{fmt.Errorf("adding offsets: %w", sarama.ErrRequestTimedOut), true},
		{&txnError{partition: 1, cause: fmt.Errorf("committing: %w", sarama.ErrProducerFenced)}, false},
		{fmt.Errorf("committing: %w", sarama.ErrInvalidProducerEpoch), false},
		{sarama.Wrap(sarama.ErrTxnOffsetCommit, sarama.ErrIllegalGeneration), false},
		{fmt.Errorf("adding offsets: %w", sarama.ErrUnknownMemberId), false},
		{fmt.Errorf("adding offsets: %w", sarama.ErrFencedInstancedId), false},
		{fmt.Errorf("adding offsets: %w", sarama.ErrRebalanceInProgress), false},
	}
	for _, tt := range tests {
		if got := txnRestartable(tt.err); got != tt.want {
			t.Errorf("txnRestartable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
