package kafka

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// countingHandler counts the messages its claims deliver and records its
// member ID.
type countingHandler struct {
	mu     sync.Mutex
	member string
	got    int
}

func (h *countingHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	h.member = s.MemberID()
	h.mu.Unlock()
	return nil
}
func (h *countingHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *countingHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for range c.Messages() {
		h.mu.Lock()
		h.got++
		h.mu.Unlock()
	}
	return nil
}

func (h *countingHandler) state() (string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.member, h.got
}

// TestConsumerGroupFetchesThroughJoin holds a cooperative member's
// JoinGroup at the broker, as a coordinator does until every member has
// rejoined, and produces meanwhile: the member's claims still receive the
// records, because NewConsumerGroup sends the coordinator requests on a
// connection of their own. On sarama's shared connection the fetches
// would wait behind the JoinGroup until it is answered.
func TestConsumerGroupFetchesThroughJoin(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "in"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	newConfig := func(name string) *sarama.Config {
		return kfakeGroupConfig(t, name, func() MemberState { return MemberState{Cooperative: true, Generation: -1} })
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	consume := func(cg sarama.ConsumerGroup, h sarama.ConsumerGroupHandler) {
		wg.Go(func() {
			for ctx.Err() == nil {
				err := cg.Consume(ctx, []string{"in"}, h)
				if errors.Is(err, sarama.ErrClosedConsumerGroup) {
					return
				}
				if err != nil && ctx.Err() == nil {
					t.Logf("consume: %v", err)
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}

	prod, err := sarama.NewSyncProducer(c.ListenAddrs(), newConfig("producer"))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	produce := func(n int) {
		t.Helper()
		for i := range n {
			if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "in", Partition: int32(i % 2), Value: sarama.StringEncoder("v")}); err != nil {
				t.Fatal(err)
			}
		}
	}

	cgA, err := NewConsumerGroup(c.ListenAddrs(), "g", newConfig("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cgA.Close(); err != nil {
			t.Errorf("closing a: %v", err)
		}
	}()
	a := new(countingHandler)
	consume(cgA, a)
	produce(10)
	waitFor(t, "a to consume the first records", func() bool { _, n := a.state(); return n == 10 })
	memberA, _ := a.state()

	// Hold a's next JoinGroup until released.
	held := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	c.ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if req.(*kmsg.JoinGroupRequest).MemberID == memberA {
			once.Do(func() {
				close(held)
				c.SleepControl(func() { <-release })
			})
		}
		return nil, nil, false
	})
	defer once.Do(func() {}) // a control not yet run must not sleep later
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()

	cgB, err := sarama.NewConsumerGroup(c.ListenAddrs(), "g", newConfig("b"))
	if err != nil {
		t.Fatal(err)
	}
	defer cgB.Close()
	consume(cgB, new(countingHandler)) // its join makes a rejoin
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("a did not rejoin")
	}
	produce(10)
	waitFor(t, "a to consume while its JoinGroup is held", func() bool { _, n := a.state(); return n == 20 })
	releaseOnce()
}
