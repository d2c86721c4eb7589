package goka_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	"github.com/e3793d55/goka/storage"
)

// A group graph names the group's topics: its table is "<group>-table".
func ExampleDefineGroup() {
	g := goka.DefineGroup("counter",
		goka.Input("clicks", new(codec.String), func(ctx goka.Context, msg interface{}) {}),
		goka.Persist(new(codec.Int64)),
	)
	if err := g.Validate(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Group(), g.GroupTable().Topic(), g.InputStreams().Topics())
	// Output: counter counter-table [clicks]
}

// An emitter, a counting processor and a view of its table, on the
// embedded broker of package kafkatest.
func ExampleProcessor() {
	cluster, err := kafkatest.New(kafkatest.Partitions(4), kafkatest.Topic("clicks", 4))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.Brokers()
	dir, err := os.MkdirTemp("", "goka-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// What goka needs on a test broker: a new group reads from the oldest
	// offset (Goka's default is the newest), topics get replication 1.
	opts := cluster.GokaOptions()

	em, err := goka.NewEmitter(brokers, "clicks", new(codec.String), opts.Emitter...)
	if err != nil {
		log.Fatal(err)
	}
	for _, user := range []string{"alice", "bob", "alice"} {
		if err := em.EmitSync(user, "click"); err != nil {
			log.Fatal(err)
		}
	}
	if err := em.Finish(); err != nil {
		log.Fatal(err)
	}

	g := goka.DefineGroup("counter",
		goka.Input("clicks", new(codec.String), func(ctx goka.Context, msg interface{}) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(brokers, g, append(opts.Processor,
		goka.WithStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, "processor"))))...)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	// Run creates the table topic; the view needs it.
	if err := proc.WaitForReady(); err != nil {
		log.Fatal(err)
	}

	view, err := goka.NewView(brokers, goka.GroupTable("counter"), new(codec.Int64), append(opts.View,
		goka.WithViewStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, "view"))))...)
	if err != nil {
		log.Fatal(err)
	}
	viewDone := make(chan error, 1)
	go func() { viewDone <- view.Run(ctx) }()

	// Wait until the view has seen every click: alice's and bob's counts
	// are on different partitions, which the view follows independently.
	deadline := time.Now().Add(30 * time.Second)
	for {
		alice, _ := view.Get("alice")
		bob, _ := view.Get("bob")
		if alice != nil && alice.(int64) == 2 && bob != nil {
			break
		}
		select {
		case err := <-viewDone:
			log.Fatalf("view stopped: %v", err)
		case err := <-done:
			log.Fatalf("processor stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			log.Fatal("no count of 2 for alice and none for bob after 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	bob, _ := view.Get("bob")
	fmt.Println("alice 2, bob", bob)

	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	if err := <-viewDone; err != nil {
		log.Fatal(err)
	}
	// Output: alice 2, bob 1
}

// With the cooperative strategy every instance knows the group's whole
// placement: KeyOwner names the instance (by its query address) that
// processes a key. Here a single instance owns every key.
func ExampleProcessor_KeyOwner() {
	cluster, err := kafkatest.New(kafkatest.Partitions(4), kafkatest.Topic("visits", 4))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	dir, err := os.MkdirTemp("", "goka-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	g := goka.DefineGroup("visit-counter",
		goka.Input("visits", new(codec.String), func(ctx goka.Context, msg interface{}) {}),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(cluster.Brokers(), g, append(cluster.GokaOptions().Processor,
		goka.WithStorageBuilder(storage.DefaultBuilder(dir)),
		goka.WithCooperativeRebalance(),
		goka.WithQueryAddress("10.0.0.7:8080"),
	)...)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	if err := proc.WaitForReady(); err != nil {
		log.Fatal(err)
	}
	owner, err := proc.KeyOwner("alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(owner.Active.QueryAddress, owner.Active.Self, len(owner.Standbys))
	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// 10.0.0.7:8080 true 0
}
