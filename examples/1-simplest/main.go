// Command 1-simplest emits messages, counts them per key in a processor
// and reads the counts back through a view.
//
// With KAFKA_BROKERS unset it starts an embedded broker, so it runs with
// nothing installed:
//
//	go run ./examples/1-simplest
//
// Against a real cluster: KAFKA_BROKERS=127.0.0.1:9092 go run ./examples/1-simplest
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	"github.com/e3793d55/goka/storage"
)

var (
	topic goka.Stream = "example-stream"
	group goka.Group  = "example-group"
)

func main() {
	keep := flag.Bool("keep-running", false, "keep the processor running until SIGINT/SIGTERM")
	messages := flag.Int("messages", 30, "number of messages to emit")
	flag.Parse()
	if err := run(*messages, *keep); err != nil {
		log.Fatal(err)
	}
}

func run(messages int, keepRunning bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	brokers, closeBroker, err := brokers()
	if err != nil {
		return err
	}
	defer closeBroker()

	// Read the input from its beginning (Goka's default is the newest
	// offset) and create topics with replication 1 for a single broker:
	// the options of kafkatest, which suit any one-node broker.
	opts := kafkatest.DevGokaOptions()
	tmc := opts.TopicManagerConfig

	tm, err := goka.NewTopicManager(brokers, opts.Config, tmc)
	if err != nil {
		return err
	}
	if err := tm.EnsureStreamExists(string(topic), 8); err != nil {
		return err
	}
	_ = tm.Close()

	// The processor counts the messages of every key in its group table.
	cb := func(ctx goka.Context, msg interface{}) {
		var counter int64
		if val := ctx.Value(); val != nil {
			counter = val.(int64)
		}
		counter++
		ctx.SetValue(counter)
	}
	dir, err := os.MkdirTemp("", "goka-1-simplest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	g := goka.DefineGroup(group,
		goka.Input(topic, new(codec.String), cb),
		goka.Persist(new(codec.Int64)),
	)
	p, err := goka.NewProcessor(brokers, g, append(opts.Processor,
		goka.WithStorageBuilder(storage.DefaultBuilder(dir+"/processor")))...)
	if err != nil {
		return err
	}
	view, err := goka.NewView(brokers, goka.GroupTable(group), new(codec.Int64), append(opts.View,
		goka.WithViewStorageBuilder(storage.DefaultBuilder(dir+"/view")))...)
	if err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	procDone := make(chan error, 1)
	go func() { procDone <- p.Run(runCtx) }()
	if err := p.WaitForReadyContext(ctx); err != nil {
		return err
	}
	viewDone := make(chan error, 1)
	go func() { viewDone <- view.Run(runCtx) }()

	// Against a broker of an earlier run the table has counts already: the
	// processor has recovered them, count on from there.
	var before int64
	for u := 0; u < 3; u++ {
		if v, err := p.Get(fmt.Sprintf("user-%d", u)); err == nil && v != nil {
			before += v.(int64)
		}
	}

	// Emit messages: user-0 … user-2 get a message each in turn.
	emitter, err := goka.NewEmitter(brokers, topic, new(codec.String), opts.Emitter...)
	if err != nil {
		return errors.Join(err, shutdown(cancel, procDone, viewDone))
	}
	for i := 0; i < messages; i++ {
		if err := emitter.EmitSync(fmt.Sprintf("user-%d", i%3), "some-message"); err != nil {
			return errors.Join(err, emitter.Finish(), shutdown(cancel, procDone, viewDone))
		}
	}
	if err := emitter.Finish(); err != nil {
		return errors.Join(err, shutdown(cancel, procDone, viewDone))
	}

	// Wait until the view has every count, then print them.
	want := before + int64(messages)
	deadline := time.After(60 * time.Second)
	for {
		var total int64
		for u := 0; u < 3; u++ {
			if v, err := view.Get(fmt.Sprintf("user-%d", u)); err == nil && v != nil {
				total += v.(int64)
			}
		}
		if total == want {
			break
		}
		select {
		case <-ctx.Done():
			return shutdown(cancel, procDone, viewDone)
		case err := <-procDone:
			return fmt.Errorf("processor stopped: %w", err)
		case <-deadline:
			return fmt.Errorf("counts incomplete after 60 s: %d of %d", total, want)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for u := 0; u < 3; u++ {
		key := fmt.Sprintf("user-%d", u)
		v, _ := view.Get(key)
		fmt.Printf("%s has %d messages\n", key, v)
	}
	if keepRunning {
		fmt.Println("running; press Ctrl-C to stop")
		<-ctx.Done()
	}
	return shutdown(cancel, procDone, viewDone)
}

func shutdown(cancel context.CancelFunc, done ...chan error) error {
	cancel()
	var errs []error
	for _, d := range done {
		errs = append(errs, <-d)
	}
	return errors.Join(errs...)
}

// brokers returns KAFKA_BROKERS, or starts an embedded broker.
func brokers() ([]string, func(), error) {
	if env := os.Getenv("KAFKA_BROKERS"); env != "" {
		return strings.Split(env, ","), func() {}, nil
	}
	cluster, err := kafkatest.New(kafkatest.Partitions(8))
	if err != nil {
		return nil, nil, err
	}
	log.Printf("started an embedded broker at %v (set KAFKA_BROKERS to use your own)", cluster.Brokers())
	return cluster.Brokers(), cluster.Close, nil
}
