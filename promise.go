package goka

import (
	"sync"

	"github.com/IBM/sarama"
)

// Promise is the future result of an asynchronous emit. Callbacks registered
// with Then run exactly once, in registration order, on the goroutine that
// finishes the promise; a callback registered after the promise finished runs
// immediately on the caller's goroutine.
//
// Promise embeds sync.Mutex for compatibility with Goka, whose Promise exposes
// Lock and Unlock; callers should not use them.
type Promise struct {
	sync.Mutex
	err      error
	msg      *sarama.ProducerMessage
	finished bool

	// callbacks starts on inline, so that the usual one or two callbacks of
	// a message cost no allocation of their own.
	callbacks []promiseCallback
	inline    [2]promiseCallback
}

// promiseCallback is one of the two callback kinds; storing them apart
// avoids wrapping every Then callback in a closure.
type promiseCallback struct {
	plain   func(err error)
	withMsg func(msg *sarama.ProducerMessage, err error)
}

func (c promiseCallback) call(msg *sarama.ProducerMessage, err error) {
	if c.plain != nil {
		c.plain(err)
		return
	}
	c.withMsg(msg, err)
}

// PromiseFinisher finishes a promise with the message and its error.
type PromiseFinisher func(msg *sarama.ProducerMessage, err error) *Promise

// NewPromise returns an unfinished promise.
func NewPromise() *Promise { return new(Promise) }

// NewPromiseWithFinisher returns a promise and the function that finishes it.
func NewPromiseWithFinisher() (*Promise, PromiseFinisher) {
	p := NewPromise()
	return p, p.finish
}

// Then registers callback to run with the error of the promise.
func (p *Promise) Then(callback func(err error)) *Promise {
	return p.then(promiseCallback{plain: callback})
}

// ThenWithMessage registers callback to run with the produced message and
// the error of the promise.
func (p *Promise) ThenWithMessage(callback func(msg *sarama.ProducerMessage, err error)) *Promise {
	return p.then(promiseCallback{withMsg: callback})
}

func (p *Promise) then(cb promiseCallback) *Promise {
	p.Lock()
	if p.finished {
		msg, err := p.msg, p.err
		p.Unlock()
		cb.call(msg, err)
		return p
	}
	if p.callbacks == nil {
		p.callbacks = p.inline[:0]
	}
	p.callbacks = append(p.callbacks, cb)
	p.Unlock()
	return p
}

// finish completes the promise and runs the callbacks. Finishing twice is a
// no-op, so a producer that reports both an error and a late success cannot
// run callbacks twice.
func (p *Promise) finish(msg *sarama.ProducerMessage, err error) *Promise {
	p.Lock()
	if p.finished {
		p.Unlock()
		return p
	}
	p.finished = true
	p.msg, p.err = msg, err
	cbs := p.callbacks
	p.callbacks = nil
	p.Unlock()
	for _, cb := range cbs {
		cb.call(msg, err)
	}
	return p
}
