package goka

import (
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// Producer produces messages to Kafka asynchronously; every message's result
// arrives through its Promise.
type Producer interface {
	// Emit produces value under key to topic.
	Emit(topic string, key string, value []byte) *Promise
	// EmitWithHeaders produces value under key to topic with headers.
	EmitWithHeaders(topic string, key string, value []byte, headers Headers) *Promise
	// Close waits for the messages in flight and closes the producer. Every
	// promise it returned must be finished when Close returns, with the
	// message's result or an error: Emitter.Finish and the processors wait
	// for them.
	Close() error
}

type producer struct {
	producer sarama.AsyncProducer
	wg       sync.WaitGroup
}

// NewProducer returns a Producer on a sarama AsyncProducer. It needs
// config.Producer.Return.Successes and Return.Errors, and turns them on in
// its own copy of config when they are off, since promises depend on them.
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
	p := &producer{producer: ap}
	p.wg.Add(2)
	go p.handleSuccesses()
	go p.handleErrors()
	return p, nil
}

func (p *producer) handleSuccesses() {
	defer p.wg.Done()
	for msg := range p.producer.Successes() {
		if promise, ok := msg.Metadata.(*Promise); ok {
			promise.finish(msg, nil)
		}
	}
}

func (p *producer) handleErrors() {
	defer p.wg.Done()
	for perr := range p.producer.Errors() {
		if promise, ok := perr.Msg.Metadata.(*Promise); ok {
			promise.finish(perr.Msg, perr.Err)
		}
	}
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
	p.producer.Input() <- msg
	return promise
}

// Close flushes the messages in flight, finishes their promises and stops
// the producer's goroutines before it returns.
func (p *producer) Close() error {
	p.producer.AsyncClose()
	p.wg.Wait()
	return nil
}
