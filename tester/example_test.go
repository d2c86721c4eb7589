package tester_test

import (
	"context"
	"fmt"
	"log"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/tester"
)

// logT stands in for the *testing.T a test passes to tester.New.
type logT struct{}

func (logT) Errorf(format string, args ...interface{}) { log.Printf(format, args...) }
func (logT) Fatalf(format string, args ...interface{}) { log.Fatalf(format, args...) }
func (logT) Fatal(args ...interface{})                 { log.Fatal(args...) }

// A click counter tested without Kafka: Consume returns once the processor
// has processed the message, so the table and the output can be checked
// right away.
func Example() {
	gkt := tester.New(logT{})
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("counter",
		goka.Input("clicks", new(codec.String), func(ctx goka.Context, msg interface{}) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
			ctx.Emit("click-counts", ctx.Key(), n+1)
		}),
		goka.Persist(new(codec.Int64)),
		goka.Output("click-counts", new(codec.Int64)),
	), goka.WithTester(gkt))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- proc.Run(ctx) }()

	counts := gkt.NewQueueTracker("click-counts")
	gkt.Consume("clicks", "alice", "/home")
	gkt.Consume("clicks", "alice", "/about")
	gkt.Consume("clicks", "bob", "/home")

	fmt.Println("alice clicked", gkt.TableValue("counter-table", "alice"), "times")
	for {
		key, n, ok := counts.Next()
		if !ok {
			break
		}
		fmt.Println(key, n)
	}

	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// alice clicked 2 times
	// alice 1
	// alice 2
	// bob 1
}
