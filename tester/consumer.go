package tester

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/IBM/sarama"
)

// consumer is the sarama.Consumer of a processor (joins, table recovery),
// of a processor's lookup view or of a view. Its fields are guarded by
// Tester.mu.
type consumer struct {
	tt      *Tester
	client  *client
	primary bool // built with the client's own ID, not a lookup's
	pcs     []*partitionConsumer
	closed  bool
}

var _ sarama.Consumer = (*consumer)(nil)

func (c *consumer) Topics() ([]string, error) {
	c.tt.mu.Lock()
	defer c.tt.mu.Unlock()
	topics := make([]string, 0, len(c.tt.queues))
	for topic := range c.tt.queues {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	return topics, nil
}

func (c *consumer) Partitions(topic string) ([]int32, error) {
	return []int32{0}, nil
}

// ConsumePartition starts delivering the records of topic from offset
// (sarama.OffsetOldest or OffsetNewest allowed) in a goroutine that ends
// when the partition consumer is closed.
func (c *consumer) ConsumePartition(topic string, partition int32, offset int64) (sarama.PartitionConsumer, error) {
	if partition != 0 {
		return nil, fmt.Errorf("tester: consuming %s/%d: topics have only partition 0: %w", topic, partition, sarama.ErrUnknownTopicOrPartition)
	}
	c.tt.mu.Lock()
	defer c.tt.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("tester: consuming %s/%d: %w", topic, partition, sarama.ErrClosedClient)
	}
	hwm := c.tt.queueLocked(topic).hwm()
	switch {
	case offset == sarama.OffsetOldest:
		offset = 0
	case offset == sarama.OffsetNewest:
		offset = hwm
	case offset < 0 || offset > hwm:
		return nil, fmt.Errorf("tester: consuming %s/%d from offset %d (high-water mark %d): %w", topic, partition, offset, hwm, sarama.ErrOffsetOutOfRange)
	}
	pc := &partitionConsumer{
		tt:       c.tt,
		consumer: c,
		topic:    topic,
		applied:  offset,
		start:    offset,
		messages: make(chan *sarama.ConsumerMessage),
		errors:   make(chan *sarama.ConsumerError),
		done:     make(chan struct{}),
	}
	c.pcs = append(c.pcs, pc)
	c.tt.changedLocked()
	pc.wg.Add(1)
	go pc.run()
	return pc, nil
}

func (c *consumer) HighWaterMarks() map[string]map[int32]int64 {
	c.tt.mu.Lock()
	defer c.tt.mu.Unlock()
	out := make(map[string]map[int32]int64)
	for _, pc := range c.pcs {
		out[pc.topic] = map[int32]int64{0: c.tt.queueLocked(pc.topic).hwm()}
	}
	return out
}

// Close closes the partition consumers still open and, for the client's
// own consumer, marks the component stopped.
func (c *consumer) Close() error {
	c.tt.mu.Lock()
	c.closed = true
	pcs := append([]*partitionConsumer(nil), c.pcs...)
	if c.primary {
		c.client.stopped = true
	}
	c.tt.changedLocked()
	c.tt.mu.Unlock()
	var errs []error
	for _, pc := range pcs {
		errs = append(errs, pc.Close())
	}
	return errors.Join(errs...)
}

func (c *consumer) Pause(map[string][]int32)  {}
func (c *consumer) Resume(map[string][]int32) {}
func (c *consumer) PauseAll()                 {}
func (c *consumer) ResumeAll()                {}

func (c *consumer) remove(pc *partitionConsumer) {
	c.tt.mu.Lock()
	defer c.tt.mu.Unlock()
	for i, p := range c.pcs {
		if p == pc {
			c.pcs = append(c.pcs[:i], c.pcs[i+1:]...)
			break
		}
	}
	c.tt.changedLocked()
}

// partitionConsumer delivers the records of one topic to a partition
// table. The table tells it, through RecordApplied, when each record is
// applied, so that the tester knows when the table caught up.
type partitionConsumer struct {
	tt       *Tester
	consumer *consumer
	topic    string
	// applied is the offset up to which records are applied: the offset
	// of the last applied record plus one. Guarded by Tester.mu.
	applied int64
	// start is the offset run delivers first.
	start int64

	messages chan *sarama.ConsumerMessage
	errors   chan *sarama.ConsumerError
	done     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
}

var _ sarama.PartitionConsumer = (*partitionConsumer)(nil)

func (pc *partitionConsumer) run() {
	defer pc.wg.Done()
	for next := pc.start; ; next++ {
		msg := pc.tt.waitMessage(pc.topic, next, pc.done)
		if msg == nil {
			return
		}
		select {
		case pc.messages <- msg:
		case <-pc.done:
			return
		}
	}
}

// RecordApplied is called by the goka table that consumes pc after it
// applied the record at offset (the table looks for this method on its
// partition consumers). Consume waits for it.
func (pc *partitionConsumer) RecordApplied(offset int64) {
	pc.tt.mu.Lock()
	defer pc.tt.mu.Unlock()
	if offset >= pc.applied {
		pc.applied = offset + 1
		pc.tt.changedLocked()
	}
}

// Close stops the delivery and closes the channels. Safe to call more than
// once.
func (pc *partitionConsumer) Close() error {
	pc.once.Do(func() {
		close(pc.done)
		pc.wg.Wait()
		close(pc.messages)
		close(pc.errors)
		pc.consumer.remove(pc)
	})
	return nil
}

// AsyncClose is Close: closing never blocks for long.
func (pc *partitionConsumer) AsyncClose() { _ = pc.Close() }

func (pc *partitionConsumer) Messages() <-chan *sarama.ConsumerMessage { return pc.messages }
func (pc *partitionConsumer) Errors() <-chan *sarama.ConsumerError     { return pc.errors }

func (pc *partitionConsumer) HighWaterMarkOffset() int64 { return pc.tt.hwm(pc.topic) }

func (pc *partitionConsumer) Pause()         {}
func (pc *partitionConsumer) Resume()        {}
func (pc *partitionConsumer) IsPaused() bool { return false }
