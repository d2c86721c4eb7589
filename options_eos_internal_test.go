package goka

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// The client configs exactly-once derives: the fetch wait is capped at a
// fifth of the commit interval, a lower one is kept, and at-least-once
// keeps Goka's builders.
func TestExactlyOnceClientConfig(t *testing.T) {
	withWait := func(d time.Duration) *sarama.Config {
		cfg := DefaultConfig()
		cfg.Consumer.MaxWaitTime = d
		return cfg
	}
	for _, tc := range []struct {
		name      string
		opts      []ProcessorOption
		wantWait  time.Duration // 0: finishClients keeps Goka's builders
		wantFlush time.Duration
	}{
		{name: "at-least-once", opts: nil},
		{
			name:      "exactly-once, default interval",
			opts:      []ProcessorOption{WithProcessingGuarantee(ExactlyOnce), WithSaramaConfig(withWait(500 * time.Millisecond))},
			wantWait:  20 * time.Millisecond,
			wantFlush: 5 * time.Millisecond,
		},
		{
			name:      "exactly-once, 1 s interval",
			opts:      []ProcessorOption{WithProcessingGuarantee(ExactlyOnce), WithCommitInterval(time.Second), WithSaramaConfig(withWait(500 * time.Millisecond))},
			wantWait:  200 * time.Millisecond,
			wantFlush: 50 * time.Millisecond,
		},
		{
			name:      "exactly-once keeps a shorter wait",
			opts:      []ProcessorOption{WithProcessingGuarantee(ExactlyOnce), WithSaramaConfig(withWait(5 * time.Millisecond))},
			wantWait:  5 * time.Millisecond,
			wantFlush: 5 * time.Millisecond,
		},
		{
			name:     "at-least-once with a commit interval keeps the wait",
			opts:     []ProcessorOption{WithCommitInterval(time.Second), WithSaramaConfig(withWait(500 * time.Millisecond))},
			wantWait: 500 * time.Millisecond,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := DefineGroup("g", Input("in", bytesCodec{}, func(Context, interface{}) {}))
			o := new(poptions)
			o.applyDefaults(g)
			for _, opt := range tc.opts {
				opt(o, g)
			}
			o.finishClients()
			if tc.wantWait == 0 {
				if o.clientConfig != nil {
					t.Fatalf("clients configured (%+v), want Goka's builders", o.clientConfig.Consumer)
				}
				return
			}
			if got := o.clientConfig.Consumer.MaxWaitTime; got != tc.wantWait {
				t.Errorf("Consumer.MaxWaitTime = %v, want %v", got, tc.wantWait)
			}
			if tc.wantFlush == 0 {
				if o.txnConfig != nil {
					t.Errorf("transactional config set under at-least-once")
				}
				return
			}
			if got := o.txnConfig.Producer.Flush.Frequency; got != tc.wantFlush {
				t.Errorf("transactional Producer.Flush.Frequency = %v, want %v", got, tc.wantFlush)
			}
			if got := o.txnConfig.Consumer.MaxWaitTime; got != tc.wantWait {
				t.Errorf("transactional config's Consumer.MaxWaitTime = %v, want %v", got, tc.wantWait)
			}
		})
	}
}

type bytesCodec struct{}

func (bytesCodec) Encode(v interface{}) ([]byte, error)    { return v.([]byte), nil }
func (bytesCodec) Decode(data []byte) (interface{}, error) { return data, nil }
