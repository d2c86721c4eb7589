// Command 10-visit counts messages per key in a processor and then resets
// every count with a visitor: Processor.VisitAllWithStats runs the
// visitor's callback for every key of the table, in the partition's
// goroutine like a message, so it may call ctx.SetValue. The program prints
// the counts before and after and exits:
//
//	go run ./examples/10-visit
//
// -keep-running keeps the processor running until SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/examples/internal/exampleenv"
	"github.com/e3793d55/goka/storage"
)

var (
	topic goka.Stream = "visit-input"
	group goka.Group  = "visit-group"
)

const keys = 5

func main() {
	keep := flag.Bool("keep-running", false, "keep the processor running until SIGINT/SIGTERM")
	messages := flag.Int("messages", 50, "number of messages to emit")
	flag.Parse()
	if err := run(*messages, *keep); err != nil {
		log.Fatal(err)
	}
}

func run(messages int, keepRunning bool) error {
	ctx, stop := exampleenv.SignalContext()
	defer stop()
	brokers, closeBroker, err := exampleenv.Brokers(5)
	if err != nil {
		return err
	}
	defer closeBroker()
	tmc := exampleenv.Configure()
	if err := exampleenv.EnsureStreams(brokers, tmc, 5, topic); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "goka-10-visit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	p, err := goka.NewProcessor(brokers,
		goka.DefineGroup(group,
			goka.Input(topic, new(codec.String), func(ctx goka.Context, _ interface{}) {
				n, _ := ctx.Value().(int64)
				ctx.SetValue(n + 1)
			}),
			// The visitor named "reset" sets every value to the meta
			// argument of VisitAll.
			goka.Visitor("reset", func(ctx goka.Context, meta interface{}) {
				ctx.SetValue(meta)
			}),
			goka.Persist(new(codec.Int64)),
		),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithStorageBuilder(storage.DefaultBuilder(dir)),
	)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		err := p.Run(runCtx)
		cancel() // a failed processor ends the waiting below
		done <- err
	}()
	stopProcessor := func(err error) error {
		cancel()
		if runErr := <-done; runErr != nil {
			return runErr
		}
		return err
	}

	// Against a broker of an earlier run the table has values already:
	// wait until the processor has recovered them and count on.
	if err := p.WaitForReadyContext(runCtx); err != nil {
		return stopProcessor(nil)
	}
	before := total(p)
	e, err := goka.NewEmitter(brokers, topic, new(codec.String))
	if err != nil {
		return stopProcessor(err)
	}
	for i := range messages {
		if _, err := e.Emit(fmt.Sprintf("key-%d", i%keys), "message"); err != nil {
			_ = e.Finish()
			return stopProcessor(err)
		}
	}
	if err := e.Finish(); err != nil {
		return stopProcessor(err)
	}
	if err := exampleenv.WaitFor(runCtx, "the counts", func() bool { return total(p) == before+int64(messages) }); err != nil {
		return stopProcessor(err)
	}
	fmt.Println("before:", values(p))

	visited, err := p.VisitAllWithStats(runCtx, "reset", int64(0))
	if err != nil {
		return stopProcessor(fmt.Errorf("visiting: %w", err))
	}
	fmt.Printf("visited %d keys\n", visited)
	fmt.Println("after:", values(p))

	if keepRunning {
		fmt.Println("running; press Ctrl-C to stop")
		<-runCtx.Done()
	}
	return stopProcessor(nil)
}

func total(p *goka.Processor) int64 {
	var n int64
	for k := range keys {
		v, _ := p.Get(fmt.Sprintf("key-%d", k))
		c, _ := v.(int64)
		n += c
	}
	return n
}

func values(p *goka.Processor) string {
	s := ""
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		v, _ := p.Get(key)
		s += fmt.Sprintf(" %s=%v", key, v)
	}
	return s[1:]
}
