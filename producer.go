package goka

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// producerCloseTimeout bounds how long a producer's Close waits for sarama
// to shut down, as Goka's does (60 s). Sarama's shutdown waits for its
// internal retry and leader-election messages too and has no bound of its
// own: an unbounded wait could hang Emitter.Finish and a processor's
// shutdown on a network fault.
const producerCloseTimeout = 60 * time.Second

// Producer produces messages to Kafka asynchronously; every message's result
// arrives through its Promise.
type Producer interface {
	// Emit produces value under key to topic.
	Emit(topic string, key string, value []byte) *Promise
	// EmitWithHeaders produces value under key to topic with headers.
	EmitWithHeaders(topic string, key string, value []byte, headers Headers) *Promise
	// Close waits for the messages in flight and closes the producer. Every
	// promise it returned must be finished when Close returns, with the
	// message's result or an error, or Close must return an error saying
	// that some are not: Emitter.Finish and the processors wait for them.
	Close() error
}

type producer struct {
	producer sarama.AsyncProducer
	// pending counts the promises handed out and not finished yet.
	pending atomic.Int64
	// successesDone and errorsDone are closed when sarama has closed the
	// channel of the same name and every promise on it is finished.
	successesDone, errorsDone chan struct{}
	// closeTimeout is producerCloseTimeout; tests shorten it.
	closeTimeout time.Duration
}

// NewProducer returns a Producer on a sarama AsyncProducer. It needs
// config.Producer.Return.Successes and Return.Errors, and turns them on in
// its own copy of config when they are off, since promises depend on them.
// Its Close waits at most 60 s for sarama to shut down, as Goka's does; it
// returns an error if messages are still unanswered then.
func NewProducer(brokers []string, config *sarama.Config) (Producer, error) {
	if config == nil {
		return nil, fmt.Errorf("creating producer: %w", ErrNilConfig)
	}
	if !config.Producer.Return.Successes || !config.Producer.Return.Errors {
		c := *config
		c.Producer.Return.Successes = true
		c.Producer.Return.Errors = true
		config = &c
	}
	return newProducer(brokers, config)
}

// newProducer returns a producer on a sarama AsyncProducer built from
// config, which must return successes and errors.
func newProducer(brokers []string, config *sarama.Config) (*producer, error) {
	ap, err := sarama.NewAsyncProducer(brokers, config)
	if err != nil {
		return nil, fmt.Errorf("creating producer on %v: %w", brokers, err)
	}
	return wrapProducer(ap), nil
}

// wrapProducer starts the goroutines that finish the promises of ap's
// messages; they end when sarama closes ap's Successes and Errors.
func wrapProducer(ap sarama.AsyncProducer) *producer {
	p := &producer{
		producer:      ap,
		successesDone: make(chan struct{}),
		errorsDone:    make(chan struct{}),
		closeTimeout:  producerCloseTimeout,
	}
	go p.handleSuccesses()
	go p.handleErrors()
	return p
}

func (p *producer) handleSuccesses() {
	defer close(p.successesDone)
	for msg := range p.producer.Successes() {
		p.finish(msg, nil)
	}
}

func (p *producer) handleErrors() {
	defer close(p.errorsDone)
	for perr := range p.producer.Errors() {
		p.finish(perr.Msg, perr.Err)
	}
}

// finish finishes the promise or handler of msg, if it carries one: sarama
// also reports messages of its own (a transaction's markers), which carry
// none.
func (p *producer) finish(msg *sarama.ProducerMessage, err error) {
	switch m := msg.Metadata.(type) {
	case *Promise:
		p.pending.Add(-1)
		m.finish(msg, err)
	case *handledRecord:
		if m.finished.CompareAndSwap(false, true) {
			p.pending.Add(-1)
			m.h.acked(msg, produceError(msg.Topic, messageKey(msg), err))
		}
	}
}

// produceHandler gets the result of a message the processor produces for
// a callback (its emits and table writes). It takes the place of a Promise
// and the closure registered on it: the message and its handler are then
// one allocation of 192 bytes, where the message with its promise and the
// closure took two, of 256 and 112 bytes.
// Its error, if any, names the message's topic and key (produceError).
type produceHandler interface {
	acked(msg *sarama.ProducerMessage, err error)
}

// handledRecord is a message produced for a produceHandler. finished makes
// a second report of the message a no-op, as it is for a Promise.
type handledRecord struct {
	msg      sarama.ProducerMessage
	h        produceHandler
	finished atomic.Bool
}

// emitHandled produces a message whose result goes to h.
func (p *producer) emitHandled(topic, key string, value []byte, headers Headers, h produceHandler) {
	rec := &handledRecord{msg: sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key)}, h: h}
	rec.msg.Metadata = rec
	if value != nil {
		rec.msg.Value = sarama.ByteEncoder(value)
	}
	if len(headers) > 0 {
		rec.msg.Headers = headers.ToSarama()
	}
	p.pending.Add(1)
	p.producer.Input() <- &rec.msg
}

func (p *producer) Emit(topic string, key string, value []byte) *Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

// record holds a produced message and its promise in one allocation.
type record struct {
	msg     sarama.ProducerMessage
	promise Promise
}

func (p *producer) EmitWithHeaders(topic string, key string, value []byte, headers Headers) *Promise {
	rec := &record{msg: sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key)}}
	promise, msg := &rec.promise, &rec.msg
	msg.Metadata = promise
	if value != nil {
		msg.Value = sarama.ByteEncoder(value)
	}
	if len(headers) > 0 {
		msg.Headers = headers.ToSarama()
	}
	p.pending.Add(1)
	p.producer.Input() <- msg
	return promise
}

// Close flushes the messages in flight, finishes their promises and stops
// the producer's goroutines before it returns, unless sarama takes longer
// than closeTimeout to shut down. Then Close returns without waiting
// further (sarama's goroutines and the two here end whenever sarama does):
// with nil if every promise is finished, as Goka's Close, and with an error
// naming the unanswered messages otherwise.
func (p *producer) Close() error {
	p.producer.AsyncClose()
	timeout := time.NewTimer(p.closeTimeout)
	defer timeout.Stop()
	for _, done := range []chan struct{}{p.successesDone, p.errorsDone} {
		select {
		case <-done:
		case <-timeout.C:
			if n := p.pending.Load(); n > 0 {
				return fmt.Errorf("closing producer: %d messages unanswered after %v", n, p.closeTimeout)
			}
			return nil
		}
	}
	return nil
}
