package kafkatest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	"github.com/e3793d55/goka/storage"
)

// Start a broker with a topic of 4 partitions for a test or an example and
// hand its addresses to goka.NewProcessor, NewView or NewEmitter.
func Example() {
	cluster, err := kafkatest.New(kafkatest.Partitions(4), kafkatest.Topic("clicks", 4))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	brokers := cluster.Brokers()
	fmt.Println(len(brokers), "broker")
	// Output: 1 broker
}

// One call gives the options goka's components need on the embedded broker:
// here a processor counts clicks emitted before it started.
func ExampleCluster_GokaOptions() {
	cluster, err := kafkatest.New(kafkatest.Topic("example-clicks", 1))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	opts := cluster.GokaOptions()

	em, err := goka.NewEmitter(cluster.Brokers(), "example-clicks", new(codec.String), opts.Emitter...)
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		if err := em.EmitSync("alice", "click"); err != nil {
			log.Fatal(err)
		}
	}
	if err := em.Finish(); err != nil {
		log.Fatal(err)
	}

	g := goka.DefineGroup("example-counter",
		goka.Input("example-clicks", new(codec.String), func(ctx goka.Context, _ any) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(cluster.Brokers(), g, append(opts.Processor, goka.WithStorageBuilder(storage.MemoryBuilder()))...)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n, _ := proc.Get("alice"); n == int64(3) {
			break
		}
	}
	n, _ := proc.Get("alice")
	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice clicked", n, "times")
	// Output: alice clicked 3 times
}
