package kafka

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/IBM/sarama"
)

// CopartitionStrategy is the consumer-group balance strategy of processors:
// every member gets the same partition numbers of every topic, so that a
// partition's inputs, loop and table meet in one goroutine. The topics must
// have identical partition sets. With Strict, the members must also
// subscribe to the same topics.
type CopartitionStrategy struct{ Strict bool }

// Name is "copartition", Goka's name: members of one group must agree on it.
func (s *CopartitionStrategy) Name() string { return "copartition" }

// Plan gives every member a contiguous share of the common partitions, in
// every topic it subscribes to. Members are taken in sorted order, so every
// leader computes the same plan.
func (s *CopartitionStrategy) Plan(members map[string]sarama.ConsumerGroupMemberMetadata, topics map[string][]int32) (sarama.BalanceStrategyPlan, error) {
	partitions, mismatch := Copartitioned(topics)
	if mismatch != nil {
		return nil, fmt.Errorf("copartition strategy: topics %q and %q have different partitions (%v vs %v): %w",
			mismatch.First, mismatch.Other, mismatch.FirstParts, mismatch.OtherParts, ErrNotCopartitioned)
	}

	memberIDs := make([]string, 0, len(members))
	var subscribed map[string]bool
	for id, meta := range members {
		memberIDs = append(memberIDs, id)
		if !s.Strict {
			continue
		}
		set := make(map[string]bool, len(meta.Topics))
		for _, t := range meta.Topics {
			set[t] = true
		}
		if subscribed == nil {
			subscribed = set
		} else if !maps.Equal(subscribed, set) {
			return nil, fmt.Errorf("copartition strategy: members subscribe to different topics (%v vs %v)", meta.Topics, slices.Sorted(maps.Keys(subscribed)))
		}
	}
	sort.Strings(memberIDs)

	plan := make(sarama.BalanceStrategyPlan, len(members))
	step := float64(len(partitions)) / float64(len(memberIDs))
	for i, id := range memberIDs {
		lo := int(math.Floor(float64(i)*step + 0.5))
		hi := int(math.Floor(float64(i+1)*step + 0.5))
		for _, topic := range members[id].Topics {
			if _, ok := topics[topic]; !ok {
				continue
			}
			plan.Add(id, topic, partitions[lo:hi]...)
		}
	}
	return plan, nil
}

// AssignmentData returns no user data.
func (s *CopartitionStrategy) AssignmentData(memberID string, topics map[string][]int32, generationID int32) ([]byte, error) {
	return nil, nil
}

// Mismatch names two topics whose partitions differ.
type Mismatch struct {
	First, Other           string
	FirstParts, OtherParts []int32
}

// Copartitioned returns the sorted partitions shared by every topic of
// topics, or the first two topics found to differ.
func Copartitioned(topics map[string][]int32) ([]int32, *Mismatch) {
	var (
		parts []int32
		first string
	)
	for topic, ps := range topics {
		sorted := slices.Sorted(slices.Values(ps))
		if parts == nil {
			parts, first = sorted, topic
			continue
		}
		if !slices.Equal(parts, sorted) {
			return nil, &Mismatch{First: first, Other: topic, FirstParts: parts, OtherParts: sorted}
		}
	}
	return parts, nil
}

// CheckPartitionIDs requires partitions 0..n-1 without gaps.
func CheckPartitionIDs(topic string, parts []int32) error {
	sorted := slices.Sorted(slices.Values(parts))
	for i, id := range sorted {
		if id != int32(i) {
			return fmt.Errorf("topic %q has partitions %v: expected 0..%d without gaps", topic, sorted, len(sorted)-1)
		}
	}
	return nil
}
