package goka

import (
	"testing"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/kafka"
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
