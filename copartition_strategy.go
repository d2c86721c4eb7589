package goka

import (
	"fmt"
	"math"
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
	var (
		partitions []int32
		firstTopic string
	)
	for topic, parts := range topics {
		sorted := append([]int32(nil), parts...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		if partitions == nil {
			partitions, firstTopic = sorted, topic
			continue
		}
		if !equalPartitions(partitions, sorted) {
			return nil, fmt.Errorf("copartition strategy: topics %q and %q have different partitions (%v vs %v): %w",
				firstTopic, topic, partitions, sorted, ErrNotCopartitioned)
		}
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
		} else if !equalSets(subscribed, set) {
			return nil, fmt.Errorf("copartition strategy: members subscribe to different topics (%v vs %v)", meta.Topics, keys(subscribed))
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

func equalPartitions(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
