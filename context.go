package goka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/commit"
)

// Context is handed to every callback. It gives access to the message, the
// group table, joined and looked-up tables, and lets the callback emit
// messages. A Context is valid only during its callback, except for the
// function returned by DeferCommit.
//
// Misusing the Context (emitting to an undeclared topic, reading the value
// of a stateless processor, …) panics with an error; the processor recovers
// it and stops with that error, as Goka does.
type Context interface {
	// Topic returns the topic of the input message; for loop messages the
	// loop topic, for visits the visitor name.
	Topic() Stream
	// Key returns the key of the input message.
	Key() string
	// Partition returns the partition of the input message.
	Partition() int32
	// Offset returns the offset of the input message (0 for visits).
	Offset() int64
	// Group returns the group of the processor.
	Group() Group
	// Value returns the table value of Key, or nil if it has none.
	Value() interface{}
	// Headers returns the headers of the input message; never nil.
	Headers() Headers
	// SetValue sets the table value of Key: locally at once and in the
	// group table topic.
	SetValue(value interface{}, options ...ContextOption)
	// Delete deletes the table value of Key, locally and in Kafka.
	Delete(options ...ContextOption)
	// Timestamp returns the timestamp of the input message.
	Timestamp() time.Time
	// Join returns the value of Key in the joined table topic.
	Join(topic Table) interface{}
	// Lookup returns the value of key in the looked-up table topic.
	Lookup(topic Table, key string) interface{}
	// Emit sends a message to an output topic.
	Emit(topic Stream, key string, value interface{}, options ...ContextOption)
	// Loopback sends a message to the group's loop topic.
	Loopback(key string, value interface{}, options ...ContextOption)
	// Fail stops the processor with err. It does not return, unless the
	// processor is already stopping: then it records err and returns.
	Fail(err error)
	// Context returns the context of the consumer-group session; it is
	// cancelled on rebalance and when the processor stops.
	Context() context.Context
	// DeferCommit delays the commit of the input message until the
	// returned function is called. A non-nil error stops the processor.
	// Calling the function more than once is harmless.
	DeferCommit() func(error)
}

// ContextOption configures Context.SetValue, Delete, Emit and Loopback.
type ContextOption func(*ctxOptions)

type ctxOptions struct {
	emitHeaders Headers
}

// WithCtxEmitHeaders adds headers to the emitted message; later options
// win.
func WithCtxEmitHeaders(headers Headers) ContextOption {
	return func(o *ctxOptions) {
		o.emitHeaders = o.emitHeaders.Merged(headers)
	}
}

func applyCtxOptions(opts []ContextOption) ctxOptions {
	if len(opts) == 0 {
		return ctxOptions{} // the usual case, without the allocation below
	}
	var o ctxOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// failError is the panic value of Context.Fail and of Context misuse.
type failError struct{ err error }

// cbContext is the Context of one message or visit.
type cbContext struct {
	pp  *partitionProcessor
	ctx context.Context

	topic     Stream
	key       string
	partition int32
	// pending counts what the callback started and must wait for (emits
	// and table writes until acknowledged, DeferCommit until called, the
	// callbacks of timers it fired); guarded by mu. An int32 beside
	// partition keeps cbContext within 256 bytes.
	pending    int32
	offset     int64
	timestamp  time.Time
	rawHeaders []*sarama.RecordHeader
	headers    Headers

	mu           sync.Mutex
	callbackDone bool
	fired        bool
	err          error
	// done runs once the callback returned and every completion it
	// started (emits, DeferCommit) finished. For input messages tracker is
	// set instead, which saves a closure per message: the message is then
	// marked done in tracker.
	done    func(err error)
	tracker *commit.Tracker
	// firstWrite is the first table write of the callback, kept here to save
	// an allocation per message; further writes allocate their own.
	firstWrite tableWrite
	// win is the window a WindowCallback addresses (window_runtime.go).
	win *windowCall
}

var _ Context = (*cbContext)(nil)

func (c *cbContext) Topic() Stream            { return c.topic }
func (c *cbContext) Key() string              { return c.key }
func (c *cbContext) Partition() int32         { return c.partition }
func (c *cbContext) Offset() int64            { return c.offset }
func (c *cbContext) Group() Group             { return c.pp.graph.Group() }
func (c *cbContext) Timestamp() time.Time     { return c.timestamp }
func (c *cbContext) Context() context.Context { return c.ctx }

func (c *cbContext) Headers() Headers {
	if c.headers == nil {
		c.headers = HeadersFromSarama(c.rawHeaders)
	}
	return c.headers
}

// misuse stops the callback with an error describing the misuse.
func (c *cbContext) misuse(format string, args ...interface{}) {
	panic(&failError{err: fmt.Errorf(format, args...)})
}

func (c *cbContext) Fail(err error) {
	if err == nil {
		err = errors.New("Fail called with nil error")
	}
	if c.ctx.Err() != nil {
		// The processor is stopping: record the error, let the callback
		// return, as Goka does.
		c.finishOne(err, false)
		return
	}
	panic(&failError{err: err})
}

func (c *cbContext) Value() interface{} {
	if c.win != nil {
		return c.windowValue()
	}
	table := c.pp.graph.GroupTable()
	if table == nil {
		c.misuse("cannot access the table value of key %q: processor has no group table (add Persist)", c.key)
	}
	data, del, pending := c.pp.wcache.get(c.key)
	if !pending {
		data, del, pending = c.pp.unacked.Get(c.key)
	}
	if !pending {
		var err error
		data, err = c.pp.table.Storage().Get(c.key)
		if err != nil {
			c.misuse("reading table value of key %q: %w", c.key, err)
		}
	}
	if del || data == nil {
		return nil
	}
	v, err := table.Codec().Decode(data)
	if err != nil {
		c.misuse("decoding table value of key %q: %w", c.key, err)
	}
	return v
}

func (c *cbContext) SetValue(value interface{}, options ...ContextOption) {
	if value == nil {
		c.misuse("cannot set nil as table value of key %q: use Delete", c.key)
	}
	c.setValue(value, false, options)
}

func (c *cbContext) Delete(options ...ContextOption) {
	c.setValue(nil, true, options)
}

func (c *cbContext) setValue(value interface{}, del bool, options []ContextOption) {
	if c.win != nil {
		c.setWindowValue(value, del, options)
		return
	}
	table := c.pp.graph.GroupTable()
	if table == nil {
		c.misuse("cannot set the table value of key %q: processor has no group table (add Persist)", c.key)
	}
	var data []byte
	if !del {
		var err error
		data, err = table.Codec().Encode(value)
		if err != nil {
			c.misuse("encoding table value of key %q: %w", c.key, err)
		}
	}
	opts := applyCtxOptions(options)
	if c.pp.wcache.put(c, data, del, opts.emitHeaders) {
		return
	}
	// Local storage gets the write once Kafka acknowledged it (see
	// unackedWrites); this callback and the next ones see it at once.
	w := &c.firstWrite
	if w.c != nil { // a second write of this callback
		w = new(tableWrite)
	}
	*w = tableWrite{c: c, key: c.key, seq: c.pp.unacked.Add(c.key, data, del), value: data, del: del}
	c.emitRaw(table.Topic(), c.key, data, opts.emitHeaders, w)
}

func (c *cbContext) Join(topic Table) interface{} {
	jt, ok := c.pp.joins[string(topic)]
	if !ok {
		c.misuse("table %q is not joined by group %q (add Join to the group graph)", topic, c.pp.graph.Group())
	}
	data, err := jt.Storage().Get(c.key)
	if err != nil {
		c.misuse("reading key %q of joined table %q: %w", c.key, topic, err)
	}
	if data == nil {
		return nil
	}
	v, err := c.pp.graph.codec(string(topic)).Decode(data)
	if err != nil {
		c.misuse("decoding key %q of joined table %q: %w", c.key, topic, err)
	}
	return v
}

func (c *cbContext) Lookup(topic Table, key string) interface{} {
	v, ok := c.pp.lookups[string(topic)]
	if !ok {
		c.misuse("table %q is not looked up by group %q (add Lookup to the group graph)", topic, c.pp.graph.Group())
	}
	val, err := v.Get(key)
	if err != nil {
		c.misuse("looking up key %q in table %q: %w", key, topic, err)
	}
	return val
}

func (c *cbContext) Emit(topic Stream, key string, value interface{}, options ...ContextOption) {
	switch {
	case topic == "":
		c.misuse("cannot emit to an empty topic")
	case c.pp.graph.LoopStream() != nil && string(topic) == c.pp.graph.LoopStream().Topic():
		c.misuse("cannot emit to the loop topic %q: use Loopback", topic)
	case c.pp.graph.GroupTable() != nil && string(topic) == c.pp.graph.GroupTable().Topic():
		c.misuse("cannot emit to the group table %q: use SetValue", topic)
	}
	codec, ok := c.pp.outputs[string(topic)]
	if !ok {
		c.misuse("cannot emit to topic %q: not declared as Output of group %q", topic, c.pp.graph.Group())
	}
	var data []byte
	if value != nil {
		var err error
		data, err = codec.Encode(value)
		if err != nil {
			c.misuse("encoding value for topic %q key %q: %w", topic, key, err)
		}
	}
	opts := applyCtxOptions(options)
	c.emitRaw(string(topic), key, data, c.pp.opts.producerDefaultHeaders.Merged(opts.emitHeaders), nil)
}

func (c *cbContext) Loopback(key string, value interface{}, options ...ContextOption) {
	loop := c.pp.graph.LoopStream()
	if loop == nil {
		c.misuse("cannot loop back: group %q has no Loop", c.pp.graph.Group())
	}
	data, err := loop.Codec().Encode(value)
	if err != nil {
		c.misuse("encoding loop value of key %q: %w", key, err)
	}
	opts := applyCtxOptions(options)
	c.emitRaw(loop.Topic(), key, data, c.pp.opts.producerDefaultHeaders.Merged(opts.emitHeaders), nil)
}

// emitRaw produces a message and counts it as pending until acknowledged.
// A table write tw, if set, completes once the partition's goroutine
// applied it to local storage (see unackedWrites).
func (c *cbContext) emitRaw(topic, key string, data []byte, headers Headers, tw *tableWrite) {
	c.mu.Lock()
	c.pending++
	c.mu.Unlock()
	c.pp.stats.countOutput(topic, len(data))
	headers, span := c.pp.opts.obs.beginEmit(c, topic, key, headers, tw != nil)
	var h produceHandler = c
	if tw != nil {
		h = tw
	}
	if p, ok := c.pp.producer.(*producer); ok && span.empty() {
		// The library's own producer, and no observer to tell: the message
		// carries its handler, without a promise and a closure.
		p.emitHandled(topic, key, data, headers, h)
		return
	}
	c.pp.producer.EmitWithHeaders(topic, key, data, headers).ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
		span.end(msg, err)
		h.acked(msg, produceError(topic, key, err))
	})
}

// acked completes an emit of the callback once Kafka answered (a
// produceHandler; a table write has its own, tableWrite.acked).
func (c *cbContext) acked(_ *sarama.ProducerMessage, err error) {
	c.finishOne(c.pp.produceFailed(err), true)
}

// produceError names the message a produce error is about; nil stays nil.
func produceError(topic, key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("producing to topic %q key %q: %w", topic, key, err)
}

// messageKey is the key of a message the processor produced.
func messageKey(msg *sarama.ProducerMessage) string {
	if k, ok := msg.Key.(sarama.StringEncoder); ok {
		return string(k)
	}
	return ""
}

func (c *cbContext) DeferCommit() func(error) {
	c.mu.Lock()
	c.pending++
	c.mu.Unlock()
	if t := c.pp.txn; t != nil {
		// Exactly-once: the transaction commits once this is called.
		t.deferred.Add()
	}
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			if t := c.pp.txn; t != nil {
				defer t.deferred.Done()
			}
			if err != nil {
				err = fmt.Errorf("deferred commit: %w", err)
			}
			c.finishOne(err, true)
		})
	}
}

// finishOne records err and, when pending counts one completion, one less
// pending completion. It calls done once the callback returned and nothing
// is pending.
func (c *cbContext) finishOne(err error, pending bool) {
	c.mu.Lock()
	if pending {
		c.pending--
	}
	if err != nil && c.err == nil {
		c.err = err
	}
	fire := c.callbackDone && c.pending == 0 && !c.fired
	if fire {
		c.fired = true
	}
	finalErr := c.err
	c.mu.Unlock()
	switch {
	case !fire:
	case c.tracker != nil:
		c.pp.messageDone(c, finalErr)
	case c.done != nil:
		c.done(finalErr)
	}
}

// callbackReturned marks the callback as returned; err is its panic, if
// any.
func (c *cbContext) callbackReturned(err error) {
	c.mu.Lock()
	c.callbackDone = true
	c.mu.Unlock()
	c.finishOne(err, false)
}
