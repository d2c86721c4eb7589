package tester

import (
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
)

// producer appends to the tester's queues. Its promises are finished before
// Emit returns, with the offset the message got.
type producer struct {
	tt *Tester
}

var _ goka.Producer = (*producer)(nil)

func (p *producer) Emit(topic string, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *producer) EmitWithHeaders(topic string, key string, value []byte, headers goka.Headers) *goka.Promise {
	offset := p.tt.push(topic, key, value, headers, time.Time{})
	msg := &sarama.ProducerMessage{
		Topic:     topic,
		Key:       sarama.StringEncoder(key),
		Headers:   headers.ToSarama(),
		Partition: 0,
		Offset:    offset,
	}
	if value != nil {
		msg.Value = sarama.ByteEncoder(value)
	}
	promise, finish := goka.NewPromiseWithFinisher()
	finish(msg, nil)
	return promise
}

// Close does nothing: the producer is shared by all components.
func (p *producer) Close() error { return nil }

// flushingProducer is the producer of emitters: after each message it waits
// until the processors and views consumed it, so that an emitter's message
// is processed when Emit returns, as a Consume's is.
type flushingProducer struct {
	tt *Tester
}

var _ goka.Producer = (*flushingProducer)(nil)

func (p *flushingProducer) Emit(topic string, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *flushingProducer) EmitWithHeaders(topic string, key string, value []byte, headers goka.Headers) *goka.Promise {
	// A Consume in progress waits for this message too. Waiting here as
	// well would deadlock when the emitter is used inside a callback. The
	// lock is tried before the push: a callback the message triggers may
	// emit in turn, and must find it held.
	if !p.tt.settleMu.TryLock() {
		return p.tt.producer.EmitWithHeaders(topic, key, value, headers)
	}
	defer p.tt.settleMu.Unlock()
	promise := p.tt.producer.EmitWithHeaders(topic, key, value, headers)
	p.tt.settleLocked()
	return promise
}

// Close does nothing.
func (p *flushingProducer) Close() error { return nil }
