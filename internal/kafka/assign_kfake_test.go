package kafka

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

// claimLog records the ConsumeClaim calls of one member.
type claimLog struct {
	mu      sync.Mutex
	started map[int32]int // partition -> ConsumeClaim calls
	running map[int32]bool
}

func (l *claimLog) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (l *claimLog) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (l *claimLog) ConsumeClaim(_ sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	l.mu.Lock()
	l.started[c.Partition()]++
	l.running[c.Partition()] = true
	l.mu.Unlock()
	for range c.Messages() {
	}
	l.mu.Lock()
	l.running[c.Partition()] = false
	l.mu.Unlock()
	return nil
}

func (l *claimLog) snapshot() (started map[int32]int, running []int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	started = map[int32]int{}
	for p, n := range l.started {
		started[p] = n
	}
	for p := range int32(4) {
		if l.running[p] {
			running = append(running, p)
		}
	}
	return started, running
}

// waitFor polls cond every 10 ms and fails t after 20 s without it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kfakeGroupConfig is the config of a cooperative consumer group member
// named name on the embedded broker, with state as its member state.
func kfakeGroupConfig(t *testing.T, name string, state func() MemberState) *sarama.Config {
	t.Helper()
	s, err := NewCooperativeStrategy(CooperativeConfig{State: state})
	if err != nil {
		t.Fatal(err)
	}
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_2_0_0
	cfg.ClientID = name
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{s}
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cfg.Producer.Return.Successes = true
	return cfg
}

// TestCooperativeStrategyWithSarama runs the strategy in sarama's
// cooperative protocol on the embedded broker: when a second member joins,
// the first keeps the partitions it does not give up running (their
// ConsumeClaim is never restarted), revokes the others, and the newcomer
// gets them in the follow-up rebalance.
func TestCooperativeStrategyWithSarama(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "in"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caughtUp := func() MemberState {
		st := MemberState{Cooperative: true, Generation: -1}
		for p := range int32(4) {
			st.Copies = append(st.Copies, PartitionLag{p, 0})
		}
		return st
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	member := func(name string) (*claimLog, sarama.ConsumerGroup) {
		cg, err := sarama.NewConsumerGroup(c.ListenAddrs(), "g", kfakeGroupConfig(t, name, caughtUp))
		if err != nil {
			t.Fatal(err)
		}
		l := &claimLog{started: map[int32]int{}, running: map[int32]bool{}}
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, []string{"in"}, l); err != nil && ctx.Err() == nil {
					t.Logf("%s: %v", name, err)
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
		return l, cg
	}
	a, cgA := member("a")
	waitFor(t, "a to run 4 partitions", func() bool { _, r := a.snapshot(); return len(r) == 4 })
	b, cgB := member("b")
	waitFor(t, "2 and 2", func() bool {
		_, ra := a.snapshot()
		_, rb := b.snapshot()
		return len(ra) == 2 && len(rb) == 2
	})
	startedA, runningA := a.snapshot()
	for _, p := range runningA {
		if startedA[p] != 1 {
			t.Errorf("partition %d kept by a was restarted (%d ConsumeClaim calls)", p, startedA[p])
		}
	}
	startedB, runningB := b.snapshot()
	for _, p := range runningB {
		if startedB[p] != 1 || startedA[p] != 1 {
			t.Errorf("partition %d moved to b: started %d times at b, %d at a", p, startedB[p], startedA[p])
		}
	}
	t.Logf("a runs %v, b runs %v", runningA, runningB)
	cancel()
	wg.Wait()
	_ = cgA.Close()
	_ = cgB.Close()
}
