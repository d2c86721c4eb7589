package tester

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/IBM/sarama"
)

// consumerGroup is the sarama.ConsumerGroup of one processor. Every
// processor has its own, so two processors of one group both get every
// message, as in Goka's tester. Consumption starts at offset 0 whatever
// Consumer.Offsets.Initial says, and continues from the committed offsets
// in later sessions. Its fields are guarded by Tester.mu.
type consumerGroup struct {
	tt     *Tester
	client *client

	committed  map[string]int64
	session    *session
	generation int32
	closed     bool
	errs       chan error
}

var _ sarama.ConsumerGroup = (*consumerGroup)(nil)

// Consume runs one session over topics: Setup, one ConsumeClaim per topic
// fed from the topic's queue, Cleanup once the session's context ends.
// Like sarama's, the session ends when any ConsumeClaim returns.
func (cg *consumerGroup) Consume(ctx context.Context, topics []string, handler sarama.ConsumerGroupHandler) error {
	if len(topics) == 0 {
		return errors.New("tester: consumer group: no topics to consume")
	}
	tt := cg.tt
	tt.mu.Lock()
	if cg.closed {
		tt.mu.Unlock()
		return sarama.ErrClosedConsumerGroup
	}
	if cg.session != nil {
		tt.mu.Unlock()
		return errors.New("tester: consumer group: Consume called while a session runs")
	}
	s := &session{cg: cg, generation: cg.generation, marked: make(map[string]int64)}
	s.ctx, s.cancel = context.WithCancel(ctx)
	cg.generation++
	for _, topic := range topics {
		tt.queueLocked(topic)
		s.marked[topic] = cg.committed[topic]
		s.claims = append(s.claims, &claim{tt: tt, topic: topic, initial: cg.committed[topic], msgs: make(chan *sarama.ConsumerMessage)})
	}
	cg.session = s
	tt.changedLocked()
	tt.mu.Unlock()

	defer func() {
		s.cancel()
		tt.mu.Lock()
		cg.session = nil
		tt.changedLocked()
		tt.mu.Unlock()
	}()

	if err := handler.Setup(s); err != nil {
		// sarama does not call Cleanup after a failed Setup either.
		return fmt.Errorf("tester: consumer group setup: %w", err)
	}
	var wg sync.WaitGroup
	for _, c := range s.claims {
		wg.Add(2)
		go func(c *claim) {
			defer wg.Done()
			s.deliver(c)
		}(c)
		go func(c *claim) {
			defer wg.Done()
			err := handler.ConsumeClaim(s, c)
			s.cancel()
			if err != nil {
				cg.sendError(fmt.Errorf("tester: consuming %s/0: %w", c.topic, err))
			}
		}(c)
	}
	tt.mu.Lock()
	s.consuming = true
	tt.changedLocked()
	tt.mu.Unlock()

	<-s.ctx.Done()
	wg.Wait()
	return handler.Cleanup(s)
}

func (cg *consumerGroup) sendError(err error) {
	cg.tt.mu.Lock()
	defer cg.tt.mu.Unlock()
	if cg.closed {
		return
	}
	select {
	case cg.errs <- err:
	default: // nobody reads: drop, as sarama does with Return.Errors off
	}
}

func (cg *consumerGroup) Errors() <-chan error { return cg.errs }

// Close marks the processor stopped: the tester no longer waits for it.
func (cg *consumerGroup) Close() error {
	cg.tt.mu.Lock()
	defer cg.tt.mu.Unlock()
	if cg.closed {
		return nil
	}
	cg.closed = true
	cg.client.stopped = true
	close(cg.errs)
	cg.tt.changedLocked()
	return nil
}

func (cg *consumerGroup) Pause(map[string][]int32)  {}
func (cg *consumerGroup) Resume(map[string][]int32) {}
func (cg *consumerGroup) PauseAll()                 {}
func (cg *consumerGroup) ResumeAll()                {}

// session is a sarama.ConsumerGroupSession claiming partition 0 of every
// topic. Its fields are guarded by Tester.mu.
type session struct {
	cg         *consumerGroup
	ctx        context.Context
	cancel     context.CancelFunc
	generation int32
	claims     []*claim
	// marked is the next offset to commit per topic: every message below
	// it is processed.
	marked    map[string]int64
	consuming bool
}

var _ sarama.ConsumerGroupSession = (*session)(nil)

func (s *session) Claims() map[string][]int32 {
	out := make(map[string][]int32, len(s.claims))
	for _, c := range s.claims {
		out[c.topic] = []int32{0}
	}
	return out
}

func (s *session) MemberID() string         { return s.cg.client.id }
func (s *session) GenerationID() int32      { return s.generation }
func (s *session) Context() context.Context { return s.ctx }

// Commit does nothing: marked offsets count as committed at once.
func (s *session) Commit() {}

// MarkOffset records that every message of topic below offset is
// processed.
func (s *session) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	tt := s.cg.tt
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if offset > s.marked[topic] {
		s.marked[topic] = offset
	}
	if offset > s.cg.committed[topic] {
		s.cg.committed[topic] = offset
	}
	tt.changedLocked()
}

func (s *session) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, metadata)
}

// ResetOffset sets the committed offset of topic, for the next session.
func (s *session) ResetOffset(topic string, partition int32, offset int64, metadata string) {
	tt := s.cg.tt
	tt.mu.Lock()
	defer tt.mu.Unlock()
	s.cg.committed[topic] = offset
	tt.changedLocked()
}

// deliver feeds c with the messages of its topic until the session ends.
func (s *session) deliver(c *claim) {
	defer close(c.msgs)
	for next := c.initial; ; next++ {
		msg := s.cg.tt.waitMessage(c.topic, next, s.ctx.Done())
		if msg == nil {
			return
		}
		select {
		case c.msgs <- msg:
		case <-s.ctx.Done():
			return
		}
	}
}

// busyLocked describes the messages not yet processed; nothing once the
// session is over, since then nobody will process them.
func (s *session) busyLocked() []string {
	if s.ctx.Err() != nil {
		return nil
	}
	var busy []string
	for _, c := range s.claims {
		if hwm := s.cg.tt.queueLocked(c.topic).hwm(); s.marked[c.topic] < hwm {
			busy = append(busy, fmt.Sprintf("%s has committed %d of %d messages of topic %q (a DeferCommit function not called?)",
				s.cg.client, s.marked[c.topic], hwm, c.topic))
		}
	}
	sort.Strings(busy)
	return busy
}

// claim is the sarama.ConsumerGroupClaim of partition 0 of a topic.
type claim struct {
	tt    *Tester
	topic string
	// initial is the offset the session started at.
	initial int64
	msgs    chan *sarama.ConsumerMessage
}

var _ sarama.ConsumerGroupClaim = (*claim)(nil)

func (c *claim) Topic() string                            { return c.topic }
func (c *claim) Partition() int32                         { return 0 }
func (c *claim) InitialOffset() int64                     { return c.initial }
func (c *claim) HighWaterMarkOffset() int64               { return c.tt.hwm(c.topic) }
func (c *claim) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }
