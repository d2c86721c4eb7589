package pebble_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	"github.com/e3793d55/goka/storage/pebble"
)

type quiet struct{}

func (quiet) Print(...any)          {}
func (quiet) Println(...any)        {}
func (quiet) Printf(string, ...any) {}

// TestProcessor runs a counting processor whose table lives in Pebble, stops
// it, emits more and starts it again on the same directory: the counts are
// the model's (every message counted once), so Pebble storage, its offset and
// goka's recovery from it work together.
func TestProcessor(t *testing.T) {
	const (
		input = "pebble-input"
		keys  = 5
	)
	c, err := kafkatest.New(kafkatest.Partitions(3), kafkatest.Topic(input, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication, tmc.Logger = 1, 1, quiet{}

	em, err := goka.NewEmitter(c.Brokers(), input, new(codec.String),
		goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = em.Finish() }()
	want := map[string]int64{}
	emit := func(n int) {
		for i := range n {
			k := fmt.Sprintf("k%d", i%keys)
			if err := em.EmitSync(k, "x"); err != nil {
				t.Fatal(err)
			}
			want[k]++
		}
	}
	dir := t.TempDir()
	graph := goka.DefineGroup("pebble-count",
		goka.Input(input, new(codec.String), func(ctx goka.Context, _ any) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	run := func() {
		t.Helper()
		p, err := goka.NewProcessor(c.Brokers(), graph,
			goka.WithStorageBuilder(pebble.Builder(dir)),
			goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(cfg)),
			goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg)),
			goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(cfg)),
			goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg, tmc)),
			goka.WithLogger(quiet{}))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		for {
			ok := true
			for k, n := range want {
				v, err := p.Get(k)
				if err != nil || v == nil || v.(int64) != n {
					ok = false
				}
			}
			if ok {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("processor stopped: %v", err)
			case <-ctx.Done():
				t.Fatal("counts never reached the model")
			case <-time.After(20 * time.Millisecond):
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	emit(30)
	run()
	emit(20)
	run() // recovers from Pebble, then counts the new messages once
}
