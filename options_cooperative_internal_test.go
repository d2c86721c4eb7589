package goka

import (
	"math"
	"sync/atomic"
	"testing"
	"time"

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
		{"defaults", stateful(), nil, kafka.CooperativeConfig{AcceptableLag: DefaultAcceptableRecoveryLag, MaxWarmups: DefaultMaxWarmupReplicas, ProbingInterval: 10 * time.Minute}},
		{"set", stateful(), []ProcessorOption{WithStandbyReplicas(2), WithAcceptableRecoveryLag(5), WithMaxWarmupReplicas(3), WithProbingRebalanceInterval(90 * time.Second)},
			kafka.CooperativeConfig{StandbyReplicas: 2, AcceptableLag: 5, MaxWarmups: 3, ProbingInterval: 90 * time.Second}},
		{"stateless", stateless, []ProcessorOption{WithAcceptableRecoveryLag(5)}, kafka.CooperativeConfig{AcceptableLag: math.MaxInt64, MaxWarmups: DefaultMaxWarmupReplicas, ProbingInterval: DefaultProbingRebalanceInterval}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewProcessor([]string{"127.0.0.1:1"}, tt.gg, append([]ProcessorOption{WithCooperativeRebalance(), WithStorageBuilder(storage.MemoryBuilder())}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			got := p.coop.strategy.Config()
			if got.StandbyReplicas != tt.want.StandbyReplicas || got.AcceptableLag != tt.want.AcceptableLag || got.MaxWarmups != tt.want.MaxWarmups || got.ProbingInterval != tt.want.ProbingInterval {
				t.Errorf("strategy config: standbys %d, lag %d, warm-ups %d, probing %v; want %d, %d, %d, %v",
					got.StandbyReplicas, got.AcceptableLag, got.MaxWarmups, got.ProbingInterval, tt.want.StandbyReplicas, tt.want.AcceptableLag, tt.want.MaxWarmups, tt.want.ProbingInterval)
			}
		})
	}
}

// TestProbeDue checks when a member asks for the follow-up rebalance of
// its warm-ups: not before its last probe's and last assignment's
// rebalances settled, not while partitions are on their way to it, and,
// when the leader kept the warm-ups the last probe was for, only after the
// probing interval; any member probes once the interval passed.
func TestProbeDue(t *testing.T) {
	gg := DefineGroup("g", Input("in", new(codec.String), func(Context, interface{}) {}), Persist(new(codec.Int64)))
	p, err := NewProcessor([]string{"127.0.0.1:1"}, gg, WithCooperativeRebalance(), WithStorageBuilder(storage.MemoryBuilder()))
	if err != nil {
		t.Fatal(err)
	}
	const interval = time.Minute
	long := 2 * interval
	assign := func(ago time.Duration, self kafka.MemberAssignment) {
		self.MemberID = "m"
		p.coop.mu.Lock()
		p.coop.assignment = kafka.GroupAssignment{Self: "m", Generation: 3, ProbeAfter: interval, Members: []kafka.MemberAssignment{self}}
		p.coop.assigned, p.coop.assignedAt = true, time.Now().Add(-ago)
		p.coop.mu.Unlock()
	}
	ago := func(d time.Duration) time.Time { return time.Now().Add(-d) }
	for _, tt := range []struct {
		name     string
		assigned time.Duration // ago
		self     kafka.MemberAssignment
		last     probeRecord
		want     bool
	}{
		{"warm-up not started", time.Second, kafka.MemberAssignment{Warmup: []int32{1}}, probeRecord{}, false},
		{"nothing to warm up", time.Second, kafka.MemberAssignment{Active: []int32{0}}, probeRecord{}, false},
		{"assignment not settled", probeSettle / 10, kafka.MemberAssignment{Warmup: []int32{1}}, probeRecord{}, false},
		{"probe not settled", long, kafka.MemberAssignment{Warmup: []int32{1}}, probeRecord{at: ago(probeSettle / 10)}, false},
		{"incoming pending", long, kafka.MemberAssignment{Incoming: []int32{2}, Warmup: []int32{1}}, probeRecord{}, false},
		{"leader kept the warm-ups", time.Second, kafka.MemberAssignment{Warmup: []int32{1}}, probeRecord{at: ago(2 * time.Second), warmups: []int32{1}}, false},
		{"leader kept them for the interval", time.Second, kafka.MemberAssignment{Warmup: []int32{1}}, probeRecord{at: ago(long), warmups: []int32{1}}, true},
		{"interval passed", long, kafka.MemberAssignment{Active: []int32{0}}, probeRecord{}, true},
		{"no assignment since the probe", long, kafka.MemberAssignment{Warmup: []int32{1}}, probeRecord{at: ago(time.Second)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assign(tt.assigned, tt.self)
			if got, _ := p.probeDue(tt.last); got != tt.want {
				t.Errorf("probeDue = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCommitGate: a transactional commit begun before this member's
// JoinGroup holds the JoinGroup back until it ended, and no commit begins
// while the member rebalances (the coordinator would refuse the old
// generation once the group moved on).
func TestCommitGate(t *testing.T) {
	c := newCoop()
	c.gen, c.member = 7, "m"
	c.waitCommits(time.Hour) // nothing in flight: returns at once

	gen, member, ok := c.beginCommit()
	if !ok || gen != 7 || member != "m" {
		t.Fatalf("beginCommit = %d, %q, %v; want 7, m, true", gen, member, ok)
	}
	c.mu.Lock()
	c.rebalancing = true // memberState, at the JoinGroup
	c.mu.Unlock()
	if _, _, ok := c.beginCommit(); ok {
		t.Fatal("a commit began while rebalancing")
	}
	var ended atomic.Bool
	go func() {
		time.Sleep(20 * time.Millisecond)
		ended.Store(true)
		c.endCommit()
	}()
	c.waitCommits(time.Hour)
	if !ended.Load() {
		t.Fatal("waitCommits returned before the commit in flight ended")
	}

	// A commit that never ends holds the JoinGroup only for the bound.
	c.mu.Lock()
	c.rebalancing = false
	c.mu.Unlock()
	if _, _, ok := c.beginCommit(); !ok {
		t.Fatal("beginCommit after the rebalance")
	}
	c.waitCommits(time.Millisecond)
}
