package goka

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/IBM/sarama"
)

// CopartitioningStrategy is the consumer-group balance strategy of
// processors: every member gets the same partition numbers of every topic,
// so that a partition's inputs, loop and table meet in one goroutine. The
// topics must have identical partition sets.
var CopartitioningStrategy sarama.BalanceStrategy = &copartitioningStrategy{}

// StrictCopartitioningStrategy is CopartitioningStrategy that also fails
// when the members subscribe to different sets of topics.
var StrictCopartitioningStrategy sarama.BalanceStrategy = &copartitioningStrategy{strict: true}

type copartitioningStrategy struct{ strict bool }

func (s *copartitioningStrategy) Name() string { return "copartition" }

func (s *copartitioningStrategy) Plan(members map[string]sarama.ConsumerGroupMemberMetadata, topics map[string][]int32) (sarama.BalanceStrategyPlan, error) {
	partitions, mismatch := copartitioned(topics)
	if mismatch != nil {
		return nil, fmt.Errorf("copartition strategy: topics %q and %q have different partitions (%v vs %v): %w",
			mismatch.first, mismatch.other, mismatch.firstParts, mismatch.otherParts, ErrNotCopartitioned)
	}

	memberIDs := make([]string, 0, len(members))
	var subscribed map[string]bool
	for id, meta := range members {
		memberIDs = append(memberIDs, id)
		if !s.strict {
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

func (s *copartitioningStrategy) AssignmentData(memberID string, topics map[string][]int32, generationID int32) ([]byte, error) {
	return nil, nil
}

// partitionMismatch names two topics whose partitions differ.
type partitionMismatch struct {
	first, other           string
	firstParts, otherParts []int32
}

// copartitioned returns the sorted partitions shared by every topic of
// topics, or the first two topics found to differ.
func copartitioned(topics map[string][]int32) ([]int32, *partitionMismatch) {
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
			return nil, &partitionMismatch{first: first, other: topic, firstParts: parts, otherParts: sorted}
		}
	}
	return parts, nil
}
