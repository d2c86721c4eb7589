package goka_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
)

// failingGroup is a sarama.ConsumerGroup fake whose sessions all fail
// before setup, as when every request to reachable brokers fails (Goka's
// TestProcessorShutdown_KafkaDisconnect cuts the connections so).
type failingGroup struct {
	sarama.ConsumerGroup // nil: calling anything not below panics
	errs                 chan error
	consumes             atomic.Int64
}

var errAllRequestsFail = errors.New("kafka: client has run out of available brokers to talk to")

func (g *failingGroup) Consume(context.Context, []string, sarama.ConsumerGroupHandler) error {
	g.consumes.Add(1)
	return errAllRequestsFail
}
func (g *failingGroup) Errors() <-chan error      { return g.errs }
func (g *failingGroup) Close() error              { close(g.errs); return nil }
func (g *failingGroup) Pause(map[string][]int32)  {}
func (g *failingGroup) Resume(map[string][]int32) {}
func (g *failingGroup) PauseAll()                 {}
func (g *failingGroup) ResumeAll()                {}

// Sessions that keep failing without one being set up end Run after the
// broker-outage timeout, with the session's error (Goka's Run ends at the
// first); with the timeout 0 the processor keeps retrying.
func TestConsumeFailingSessionsEndRun(t *testing.T) {
	brokers := cluster(t, map[string]int{"cf-in": 2})
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		wantEnd bool
	}{
		{name: "outage timeout ends Run", timeout: 300 * time.Millisecond, wantEnd: true},
		{name: "timeout 0 retries", timeout: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &failingGroup{errs: make(chan error)}
			proc, err := goka.NewProcessor(brokers,
				goka.DefineGroup(goka.Group("cf-"+map[bool]string{true: "end", false: "retry"}[tc.wantEnd]),
					goka.Input("cf-in", new(codec.String), func(goka.Context, interface{}) {}),
				),
				procOpts(t, "",
					goka.WithConsumerGroupBuilder(func([]string, string, string) (sarama.ConsumerGroup, error) { return g, nil }),
					goka.WithBackoffBuilder(func() (goka.Backoff, error) {
						return goka.NewSimpleBackoff(50*time.Millisecond, 50*time.Millisecond), nil
					}),
					goka.WithBrokerOutageTimeout(tc.timeout),
				)...)
			require.NoError(t, err)
			r := run(t, proc.Run)
			if tc.wantEnd {
				err := r.wait(t, time.Minute)
				require.ErrorIs(t, err, errAllRequestsFail)
				require.ErrorContains(t, err, "consumer group sessions failed for")
				require.GreaterOrEqual(t, g.consumes.Load(), int64(2))
				return
			}
			eventually(t, time.Minute, func() bool { return g.consumes.Load() >= 10 }, "sessions retried")
			require.NoError(t, r.stop(t))
		})
	}
}
