package goka

import (
	"errors"
	"fmt"
	"hash"
)

// EmitterOption configures an emitter.
type EmitterOption func(*eoptions, Stream, Codec)

type eoptions struct {
	log            Logger
	clientID       string
	hasher         func() hash.Hash32
	defaultHeaders Headers
	builders       builders
	obs            *observers // WithEmitterObserver; nil: none
}

func (o *eoptions) applyDefaults(topic Stream) {
	o.log = DefaultLogger()
	o.clientID = "goka-emitter-" + string(topic)
	o.hasher = DefaultHasher()
	o.builders = builders{
		producer: DefaultProducerBuilder,
		topicmgr: DefaultTopicManagerBuilder,
	}
}

func (o *eoptions) validate() error {
	var errs []error
	check := func(bad bool, field, option string) {
		if bad {
			errs = append(errs, fmt.Errorf("%s not set (%s)", field, option))
		}
	}
	check(o.builders.producer == nil, "ProducerBuilder", "WithEmitterProducerBuilder")
	check(o.log == nil, "Logger", "WithEmitterLogger")
	check(o.hasher == nil, "Hasher", "WithEmitterHasher")
	if len(errs) > 0 {
		return fmt.Errorf("invalid emitter options: %w", errors.Join(errs...))
	}
	return nil
}

// WithEmitterLogger sets the logger. Default: DefaultLogger().
func WithEmitterLogger(l Logger) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.log = l }
}

// WithEmitterClientID sets the Kafka client ID. Default:
// "goka-emitter-<topic>".
func WithEmitterClientID(clientID string) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.clientID = clientID }
}

// WithEmitterTopicManagerBuilder exists for Goka compatibility; emitters do
// not use a topic manager.
func WithEmitterTopicManagerBuilder(tmb TopicManagerBuilder) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.builders.topicmgr = tmb }
}

// WithEmitterProducerBuilder sets the producer builder. Default:
// DefaultProducerBuilder.
func WithEmitterProducerBuilder(pb ProducerBuilder) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.builders.producer = pb }
}

// WithEmitterHasher sets the partitioning hash. Default: DefaultHasher().
func WithEmitterHasher(hasher func() hash.Hash32) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.hasher = hasher }
}

// WithEmitterTester replaces Kafka with the tester.
func WithEmitterTester(t Tester) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) {
		o.builders.producer = t.EmitterProducerBuilder()
		t.RegisterEmitter(topic, codec)
	}
}

// WithEmitterDefaultHeaders sets headers added to every emitted message;
// headers given to EmitWithHeaders win. Default: none.
func WithEmitterDefaultHeaders(headers Headers) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) { o.defaultHeaders = headers }
}
