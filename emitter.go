package goka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/e3793d55/goka/internal/commit"
)

// emitterFinishTimeout bounds how long Finish waits for messages in flight.
const emitterFinishTimeout = 60 * time.Second

// Emitter writes messages to one topic. It is safe for concurrent use.
type Emitter struct {
	topic    string
	codec    Codec
	opts     *eoptions
	producer Producer
	// finishTimeout is emitterFinishTimeout; tests shorten it.
	finishTimeout time.Duration

	mu       sync.RWMutex // held for reading by emits, for writing by Finish
	finished bool

	inflight commit.Counter // emits whose promise has not finished
	sent     func(error)    // inflight.Done, allocated once rather than per emit
}

// NewEmitter returns an emitter writing to topic with codec. It creates the
// producer; with the default builder sarama connects to the brokers here,
// as in Goka. The topic is neither checked nor created.
func NewEmitter(brokers []string, topic Stream, codec Codec, options ...EmitterOption) (*Emitter, error) {
	if topic == "" {
		return nil, errors.New("creating emitter: empty topic")
	}
	if codec == nil {
		return nil, fmt.Errorf("creating emitter for %q: codec is nil", topic)
	}
	opts := new(eoptions)
	opts.applyDefaults(topic)
	for _, o := range options {
		o(opts, topic, codec)
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("creating emitter for %q: %w", topic, err)
	}
	prod, err := opts.builders.producer(brokers, opts.clientID, opts.hasher)
	if err != nil {
		return nil, fmt.Errorf("creating emitter for %q: %w", topic, err)
	}
	e := &Emitter{topic: string(topic), codec: codec, opts: opts, producer: prod, finishTimeout: emitterFinishTimeout}
	e.sent = func(error) { e.inflight.Done() }
	return e, nil
}

// Emit sends msg under key asynchronously. A nil msg is a tombstone. The
// promise reports the result; after Finish it is already finished with
// ErrEmitterAlreadyClosed.
func (e *Emitter) Emit(key string, msg interface{}) (*Promise, error) {
	return e.EmitWithHeaders(key, msg, nil)
}

// EmitWithHeaders is Emit with headers, merged over the emitter's default
// headers.
func (e *Emitter) EmitWithHeaders(key string, msg interface{}, headers Headers) (*Promise, error) {
	return e.EmitWithContext(context.Background(), key, msg, headers)
}

// EmitWithContext is EmitWithHeaders with the caller's context, which is
// handed to the emitter's observers (see WithEmitterObserver): a tracer
// makes the message's span a child of the span in ctx. ctx does not
// cancel the emit. Not in Goka.
func (e *Emitter) EmitWithContext(ctx context.Context, key string, msg interface{}, headers Headers) (*Promise, error) {
	var data []byte
	if msg != nil {
		var err error
		data, err = e.codec.Encode(msg)
		if err != nil {
			return nil, fmt.Errorf("emitter for %q: encoding value of key %q: %w", e.topic, key, err)
		}
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.finished {
		return NewPromise().finish(nil, ErrEmitterAlreadyClosed), nil
	}
	e.inflight.Add()
	headers = e.opts.defaultHeaders.Merged(headers)
	if e.opts.obs != nil {
		return e.emitObserved(ctx, key, data, headers), nil
	}
	return e.producer.EmitWithHeaders(e.topic, key, data, headers).Then(e.sent), nil
}

// EmitSync sends msg under key and waits for the acknowledgement.
func (e *Emitter) EmitSync(key string, msg interface{}) error {
	return e.EmitSyncWithHeaders(key, msg, nil)
}

// EmitSyncWithHeaders is EmitSync with headers.
func (e *Emitter) EmitSyncWithHeaders(key string, msg interface{}, headers Headers) error {
	promise, err := e.EmitWithHeaders(key, msg, headers)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	var perr error
	promise.Then(func(err error) {
		perr = err
		close(done)
	})
	<-done
	if perr != nil {
		return fmt.Errorf("emitter for %q: key %q: %w", e.topic, key, perr)
	}
	return nil
}

// Finish refuses new emits, waits up to 60 s for the messages in flight and
// closes the producer, whose Close waits up to 60 s more for sarama to shut
// down (as Goka's). Unlike Goka's, a second call returns nil instead of
// panicking. It starts no goroutine and never waits longer than three times
// the 60 s: a Producer whose Close leaves promises unfinished without an
// error (breaking its contract) makes Finish return one saying how many.
func (e *Emitter) Finish() error {
	e.mu.Lock()
	if e.finished {
		e.mu.Unlock()
		return nil
	}
	e.finished = true
	e.mu.Unlock()

	timeout := time.NewTimer(e.finishTimeout)
	defer timeout.Stop()
	var err error
	select {
	case <-e.inflight.Idle():
	case <-timeout.C:
		err = fmt.Errorf("emitter for %q: messages still in flight after %v", e.topic, e.finishTimeout)
	}
	// Closing the producer finishes every promise or says it did not (see
	// Producer.Close).
	if cerr := e.producer.Close(); cerr != nil {
		return errors.Join(err, fmt.Errorf("emitter for %q: closing producer: %w", e.topic, cerr))
	}
	timeout.Reset(e.finishTimeout)
	select {
	case <-e.inflight.Idle():
	case <-timeout.C:
		err = errors.Join(err, fmt.Errorf("emitter for %q: producer %T closed with %d promises unfinished", e.topic, e.producer, e.inflight.N()))
	}
	return err
}

// Close is Finish.
func (e *Emitter) Close() error { return e.Finish() }
