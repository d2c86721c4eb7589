// Command 9-defer-commit forwards messages with an emitter of its own
// instead of ctx.Emit, and still keeps at-least-once delivery: the callback
// takes ctx.DeferCommit() and calls the returned function when the
// emitter's promise is done, so the input offset is committed only once
// Kafka has acknowledged the forwarded message (an error there stops the
// processor instead of committing).
//
// A second processor counts the forwarded messages. When all arrived and
// the forwarder's input offsets are committed, the program prints both and
// exits:
//
//	go run ./examples/9-defer-commit
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

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/examples/internal/exampleenv"
	"github.com/e3793d55/goka/multierr"
	"github.com/e3793d55/goka/storage"
)

var (
	input     goka.Stream = "defer-input"
	forwarded goka.Stream = "defer-forwarded"
	forwarder goka.Group  = "defer-forwarder"
	counter   goka.Group  = "defer-counter"
)

const partitions = 4

func main() {
	keep := flag.Bool("keep-running", false, "keep the processors running until SIGINT/SIGTERM")
	messages := flag.Int("messages", 40, "number of messages to emit")
	flag.Parse()
	if err := run(*messages, *keep); err != nil {
		log.Fatal(err)
	}
}

func run(messages int, keepRunning bool) error {
	ctx, stop := exampleenv.SignalContext()
	defer stop()
	brokers, closeBroker, err := exampleenv.Brokers(partitions)
	if err != nil {
		return err
	}
	defer closeBroker()
	tmc := exampleenv.Configure()
	if err := exampleenv.EnsureStreams(brokers, tmc, partitions, input, forwarded); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "goka-9-defer-commit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opts := func(name string) []goka.ProcessorOption {
		return []goka.ProcessorOption{
			goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
			goka.WithStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, name))),
		}
	}

	// The emitter the forwarder uses instead of ctx.Emit, e.g. because the
	// target is another cluster.
	out, err := goka.NewEmitter(brokers, forwarded, new(codec.String))
	if err != nil {
		return err
	}
	defer out.Finish() //nolint:errcheck // its errors reach the promises
	fwd, err := goka.NewProcessor(brokers, goka.DefineGroup(forwarder,
		goka.Input(input, new(codec.String), func(ctx goka.Context, msg interface{}) {
			commit := ctx.DeferCommit()
			promise, err := out.Emit(ctx.Key(), msg)
			if err != nil {
				commit(err)
				return
			}
			promise.Then(commit)
		}),
	), opts(string(forwarder))...)
	if err != nil {
		return err
	}
	cnt, err := goka.NewProcessor(brokers, goka.DefineGroup(counter,
		goka.Input(forwarded, new(codec.String), func(ctx goka.Context, _ interface{}) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	), opts(string(counter))...)
	if err != nil {
		return err
	}

	grp, gctx := multierr.NewErrGroup(ctx)
	runCtx, cancel := context.WithCancel(gctx)
	defer cancel()
	grp.Go(func() error { return fwd.Run(runCtx) })
	grp.Go(func() error { return cnt.Run(runCtx) })
	grp.Go(func() error {
		if !keepRunning {
			defer cancel()
		}
		err := demo(runCtx, brokers, fwd, cnt, messages)
		if runCtx.Err() != nil {
			return nil // stopped by a signal or a failing processor
		}
		if err == nil && keepRunning {
			fmt.Println("running; press Ctrl-C to stop")
		}
		return err
	})
	return grp.Wait().ErrorOrNil()
}

func demo(ctx context.Context, brokers []string, fwd, cnt *goka.Processor, messages int) error {
	// Against a broker of an earlier run, the counter's table and the
	// committed offsets are not zero: wait until both processors are ready
	// and count on from there.
	if err := fwd.WaitForReadyContext(ctx); err != nil {
		return err
	}
	if err := cnt.WaitForReadyContext(ctx); err != nil {
		return err
	}
	countBefore := total(cnt)
	commitBefore, err := committedOffsets(brokers)
	if err != nil {
		return err
	}
	in, err := goka.NewEmitter(brokers, input, new(codec.String))
	if err != nil {
		return err
	}
	for i := range messages {
		if _, err := in.Emit(fmt.Sprintf("key-%d", i%partitions), fmt.Sprint(i)); err != nil {
			_ = in.Finish()
			return err
		}
	}
	if err := in.Finish(); err != nil {
		return err
	}
	if err := exampleenv.WaitFor(ctx, "the forwarded messages", func() bool {
		return total(cnt) == countBefore+int64(messages)
	}); err != nil {
		return err
	}
	fmt.Printf("the counter received %d forwarded messages\n", messages)

	var committed int64
	if err := exampleenv.WaitFor(ctx, "the commits", func() bool {
		committed, err = committedOffsets(brokers)
		committed -= commitBefore
		return err == nil && committed == int64(messages)
	}); err != nil {
		return fmt.Errorf("%w (last: %d committed)", err, committed)
	}
	fmt.Printf("%s committed %d input offsets, each after its forwarded message was acknowledged\n", forwarder, committed)
	return nil
}

// total sums the counts of the keys.
func total(cnt *goka.Processor) int64 {
	var n int64
	for k := range partitions {
		v, _ := cnt.Get(fmt.Sprintf("key-%d", k))
		c, _ := v.(int64)
		n += c
	}
	return n
}

// committedOffsets sums the forwarder's committed offsets of the input
// topic: the number of input messages it is done with.
func committedOffsets(brokers []string) (int64, error) {
	admin, err := sarama.NewClusterAdmin(brokers, goka.DefaultConfig())
	if err != nil {
		return 0, err
	}
	defer admin.Close() //nolint:errcheck // read-only use
	parts := make([]int32, partitions)
	for i := range parts {
		parts[i] = int32(i)
	}
	resp, err := admin.ListConsumerGroupOffsets(string(forwarder), map[string][]int32{string(input): parts})
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, b := range resp.Blocks[string(input)] {
		if b.Err != sarama.ErrNoError {
			return 0, b.Err
		}
		if b.Offset > 0 {
			sum += b.Offset
		}
	}
	return sum, nil
}
