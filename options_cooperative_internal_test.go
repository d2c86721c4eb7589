package goka

import (
	"math"
	"testing"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/internal/kafka"
	"github.com/e3793d55/goka/storage"
)

// TestCooperativeGroupConfig checks the consumer group config each
// rebalance mode gets: the cooperative strategy alone, or first with the
// copartitioning strategy after it during an upgrade, Version at least
// 2.4, and the base config untouched.
func TestCooperativeGroupConfig(t *testing.T) {
	s, err := kafka.NewCooperativeStrategy(kafka.CooperativeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		mode    rebalanceMode
		version sarama.KafkaVersion
		names   []string
		want    sarama.KafkaVersion
	}{
		{rebalanceCooperative, sarama.V2_0_0_0, []string{kafka.CooperativeStrategyName}, sarama.V2_4_0_0},
		{rebalanceUpgrade, sarama.V3_6_0_0, []string{kafka.CooperativeStrategyName, CopartitioningStrategy.Name()}, sarama.V3_6_0_0},
	} {
		base := DefaultConfig()
		base.Version = tt.version
		o := &poptions{rebalance: tt.mode}
		gc := o.cooperativeGroupConfig(base, s)
		var names []string
		for _, st := range gc.Consumer.Group.Rebalance.GroupStrategies {
			names = append(names, st.Name())
		}
		if len(names) != len(tt.names) || names[0] != tt.names[0] || names[len(names)-1] != tt.names[len(tt.names)-1] {
			t.Errorf("mode %d: strategies %v, want %v", tt.mode, names, tt.names)
		}
		if gc.Version != tt.want {
			t.Errorf("mode %d: version %v, want %v", tt.mode, gc.Version, tt.want)
		}
		if base.Consumer.Group.Rebalance.GroupStrategies[0] != CopartitioningStrategy || base.Version != tt.version {
			t.Errorf("mode %d: the base config changed", tt.mode)
		}
		if err := gc.Validate(); err != nil {
			t.Errorf("mode %d: %v", tt.mode, err)
		}
	}
}

// TestCooperativeStrategyOptions checks that the processor's cooperative
// options reach its strategy, defaults included, and that a group with
// nothing to recover moves partitions without warm-ups.
func TestCooperativeStrategyOptions(t *testing.T) {
	stateful := func() *GroupGraph {
		return DefineGroup("g", Input("in", new(codec.String), func(Context, interface{}) {}), Persist(new(codec.Int64)))
	}
	stateless := DefineGroup("g", Input("in", new(codec.String), func(Context, interface{}) {}))
	for _, tt := range []struct {
		name string
		gg   *GroupGraph
		opts []ProcessorOption
		want kafka.CooperativeConfig
	}{
		{"defaults", stateful(), nil, kafka.CooperativeConfig{AcceptableLag: DefaultAcceptableRecoveryLag, MaxWarmups: DefaultMaxWarmupReplicas}},
		{"set", stateful(), []ProcessorOption{WithStandbyReplicas(2), WithAcceptableRecoveryLag(5), WithMaxWarmupReplicas(3)},
			kafka.CooperativeConfig{StandbyReplicas: 2, AcceptableLag: 5, MaxWarmups: 3}},
		{"stateless", stateless, []ProcessorOption{WithAcceptableRecoveryLag(5)}, kafka.CooperativeConfig{AcceptableLag: math.MaxInt64, MaxWarmups: DefaultMaxWarmupReplicas}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewProcessor([]string{"127.0.0.1:1"}, tt.gg, append([]ProcessorOption{WithCooperativeRebalance(), WithStorageBuilder(storage.MemoryBuilder())}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			got := p.coop.strategy.Config()
			if got.StandbyReplicas != tt.want.StandbyReplicas || got.AcceptableLag != tt.want.AcceptableLag || got.MaxWarmups != tt.want.MaxWarmups {
				t.Errorf("strategy config: standbys %d, lag %d, warm-ups %d; want %d, %d, %d",
					got.StandbyReplicas, got.AcceptableLag, got.MaxWarmups, tt.want.StandbyReplicas, tt.want.AcceptableLag, tt.want.MaxWarmups)
			}
		})
	}
}
