package goka

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// stuckAsyncProducer is a sarama.AsyncProducer fake whose AsyncClose
// answers the messages sent so far when answer is true and closes its
// channels only when shutdown is true, standing in for a sarama whose
// shutdown never ends.
type stuckAsyncProducer struct {
	sarama.AsyncProducer // nil: calling anything not below panics
	input                chan *sarama.ProducerMessage
	successes            chan *sarama.ProducerMessage
	errs                 chan *sarama.ProducerError
	answer               bool // AsyncClose answers the messages received
	shutdown             bool // AsyncClose closes Successes and Errors
}

func newStuckAsyncProducer(answer, shutdown bool) *stuckAsyncProducer {
	f := &stuckAsyncProducer{
		input:     make(chan *sarama.ProducerMessage, 10),
		successes: make(chan *sarama.ProducerMessage),
		errs:      make(chan *sarama.ProducerError),
		answer:    answer,
		shutdown:  shutdown,
	}
	return f
}

func (f *stuckAsyncProducer) Input() chan<- *sarama.ProducerMessage     { return f.input }
func (f *stuckAsyncProducer) Successes() <-chan *sarama.ProducerMessage { return f.successes }
func (f *stuckAsyncProducer) Errors() <-chan *sarama.ProducerError      { return f.errs }

// AsyncClose answers before it returns, as the handlers receive each answer
// before the next is sent: Close's timer starts after the answers are in.
func (f *stuckAsyncProducer) AsyncClose() {
	close(f.input)
	for msg := range f.input {
		if f.answer {
			f.successes <- msg
		}
	}
	if f.shutdown {
		f.release()
	}
}

// release ends the fake's shutdown, and with it the producer's goroutines.
func (f *stuckAsyncProducer) release() {
	close(f.successes)
	close(f.errs)
}

func TestProducerCloseBounded(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answer   bool
		shutdown bool
		wantErr  string // "" for nil
	}{
		{name: "sarama shuts down", answer: true, shutdown: true},
		{name: "shutdown hangs with every message answered", answer: true},
		{name: "shutdown hangs with a message unanswered", wantErr: "closing producer: 1 messages unanswered after 50ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newStuckAsyncProducer(tc.answer, tc.shutdown)
			p := wrapProducer(fake)
			p.closeTimeout = 50 * time.Millisecond
			promise := p.Emit("topic", "key", []byte("value"))

			err := p.Close()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Close: %v, want nil", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Close: %v, want %q", err, tc.wantErr)
			}

			var (
				finished bool
				perr     = errors.New("not finished")
			)
			promise.Then(func(err error) { finished, perr = true, err })
			if tc.answer && (!finished || perr != nil) {
				t.Fatalf("promise: finished %v with %v, want finished with nil", finished, perr)
			}
			if !tc.answer && finished {
				t.Fatalf("promise of an unanswered message finished with %v", perr)
			}

			if !tc.shutdown {
				fake.release() // lets the producer's goroutines end for goleak
			}
			<-p.successesDone
			<-p.errorsDone
		})
	}
}
