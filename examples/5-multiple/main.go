// Command 5-multiple runs several processors in one program: "counter"
// counts the messages of every key on two input topics (goka.Inputs),
// "b-counter" counts only those of the second topic. Each processor keeps
// its table in a LevelDB directory of its own, and multierr.ErrGroup runs
// them side by side. When every message is counted, the program queries
// the processors' tables with Processor.Get, prints the counts and exits:
//
//	go run ./examples/5-multiple
//
// -keep-running keeps the processors running until SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/examples/internal/exampleenv"
	"github.com/e3793d55/goka/multierr"
	"github.com/e3793d55/goka/storage"
)

var (
	inputA goka.Stream = "input-A"
	inputB goka.Stream = "input-B"
)

const keys = 4

func main() {
	keep := flag.Bool("keep-running", false, "keep the processors running until SIGINT/SIGTERM")
	perTopic := flag.Int("messages", 20, "messages to emit to each input topic")
	flag.Parse()
	if err := run(*perTopic, *keep); err != nil {
		log.Fatal(err)
	}
}

// count is the callback of both processors: it counts the messages of the
// key, whichever input topic they come from.
func count(ctx goka.Context, _ interface{}) {
	n, _ := ctx.Value().(int64)
	ctx.SetValue(n + 1)
}

func run(perTopic int, keepRunning bool) error {
	ctx, stop := exampleenv.SignalContext()
	defer stop()
	brokers, closeBroker, err := exampleenv.Brokers(4)
	if err != nil {
		return err
	}
	defer closeBroker()
	tmc := exampleenv.Configure()
	// Processors with several inputs need them copartitioned: same
	// partition count.
	if err := exampleenv.EnsureStreams(brokers, tmc, 4, inputA, inputB); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "goka-5-multiple-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	newProcessor := func(g *goka.GroupGraph) (*goka.Processor, error) {
		return goka.NewProcessor(brokers, g,
			goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
			goka.WithStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, string(g.Group())))))
	}
	counter, err := newProcessor(goka.DefineGroup("counter",
		goka.Inputs(goka.Streams{inputA, inputB}, new(codec.String), count),
		goka.Persist(new(codec.Int64)),
	))
	if err != nil {
		return err
	}
	bCounter, err := newProcessor(goka.DefineGroup("b-counter",
		goka.Input(inputB, new(codec.String), count),
		goka.Persist(new(codec.Int64)),
	))
	if err != nil {
		return err
	}

	grp, gctx := multierr.NewErrGroup(ctx)
	runCtx, cancel := context.WithCancel(gctx)
	defer cancel()
	grp.Go(func() error { return counter.Run(runCtx) })
	grp.Go(func() error { return bCounter.Run(runCtx) })
	grp.Go(func() error {
		if !keepRunning {
			defer cancel()
		}
		// Against a broker of an earlier run, the tables already have
		// counts: wait for the processors to recover them and count on.
		if err := counter.WaitForReadyContext(runCtx); err != nil {
			return nil
		}
		if err := bCounter.WaitForReadyContext(runCtx); err != nil {
			return nil
		}
		before, bBefore := sum(counter), sum(bCounter)
		if err := emit(brokers, perTopic); err != nil {
			return err
		}
		if err := exampleenv.WaitFor(runCtx, "the counts", func() bool {
			return sum(counter) == before+int64(2*perTopic) && sum(bCounter) == bBefore+int64(perTopic)
		}); err != nil {
			if runCtx.Err() != nil {
				return nil
			}
			return err
		}
		for k := range keys {
			key := fmt.Sprintf("key-%d", k)
			all, _ := counter.Get(key)
			b, _ := bCounter.Get(key)
			fmt.Printf("%s: %d messages, %d of them on %s\n", key, all, b, inputB)
		}
		if keepRunning {
			fmt.Println("running; press Ctrl-C to stop")
		}
		return nil
	})
	return grp.Wait().ErrorOrNil()
}

// sum adds up the counts of all keys, read from the processor's table.
func sum(p *goka.Processor) int64 {
	var total int64
	for k := range keys {
		if v, err := p.Get(fmt.Sprintf("key-%d", k)); err == nil && v != nil {
			total += v.(int64)
		}
	}
	return total
}

// emit emits perTopic messages to each input, spread over the keys.
func emit(brokers []string, perTopic int) error {
	for _, topic := range []goka.Stream{inputA, inputB} {
		e, err := goka.NewEmitter(brokers, topic, new(codec.String))
		if err != nil {
			return err
		}
		for i := range perTopic {
			if _, err := e.Emit(fmt.Sprintf("key-%d", i%keys), "message"); err != nil {
				_ = e.Finish()
				return err
			}
		}
		// Finish waits for every message to be acknowledged.
		if err := e.Finish(); err != nil {
			return err
		}
	}
	return nil
}
