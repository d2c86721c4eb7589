// Command 6-reconnecting-view shows a view that survives a broker restart.
// The Kafka client rides out a short outage by itself; when the connection
// stays broken, View.Run fails, unless the view has WithViewAutoReconnect:
// then it goes back to connecting, retries with backoff, catches up and runs
// again. Either way it keeps serving the values it has meanwhile.
// ObserveStateChanges reports the states as they happen.
//
// With the embedded broker, the program restarts the broker itself (on the
// same port, keeping its data), shows that the view reconnects and sees a
// value written after the restart, and exits:
//
//	go run ./examples/6-reconnecting-view
//
// With KAFKA_BROKERS it runs until SIGINT/SIGTERM: restart your broker and
// watch the states.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/examples/internal/exampleenv"
	"github.com/e3793d55/goka/kafkatest"
	"github.com/e3793d55/goka/storage"
)

var table goka.Table = "reconnect-table"

const partitions = 4

func main() {
	keep := flag.Bool("keep-running", false, "keep the view running after the demo until SIGINT/SIGTERM")
	flag.Parse()
	if err := run(*keep); err != nil {
		log.Fatal(err)
	}
}

// broker is where the example's Kafka is; restart is nil unless the
// program started the broker itself.
type broker struct {
	addrs   []string
	restart func() error
	close   func()
}

func startBroker() (*broker, error) {
	if env := os.Getenv(exampleenv.BrokersEnv); env != "" {
		brokers, closeFn, err := exampleenv.Brokers(partitions)
		return &broker{addrs: brokers, close: closeFn}, err
	}
	// A restarted broker must come back on the same port with the same
	// data, or the view would find another cluster.
	dir, err := os.MkdirTemp("", "goka-6-reconnecting-view-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	opts := []kafkatest.Option{kafkatest.Port(port), kafkatest.DataDir(filepath.Join(dir, "kafka")), kafkatest.Partitions(partitions)}
	cluster, err := kafkatest.New(opts...)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	log.Printf("started an embedded broker at %v (set %s to use your own)", cluster.Brokers(), exampleenv.BrokersEnv)
	b := &broker{addrs: cluster.Brokers()}
	b.restart = func() error {
		cluster.Close()
		var err error
		// The port may stay busy for a moment after Close.
		for range 50 {
			if cluster, err = kafkatest.New(opts...); err == nil {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		cluster = nil
		return err
	}
	b.close = func() {
		if cluster != nil {
			cluster.Close()
		}
		_ = os.RemoveAll(dir)
	}
	return b, nil
}

func run(keepRunning bool) error {
	ctx, stop := exampleenv.SignalContext()
	defer stop()
	b, err := startBroker()
	if err != nil {
		return err
	}
	defer b.close()
	tmc := exampleenv.Configure()
	if err := exampleenv.EnsureTables(b.addrs, tmc, partitions, table); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "goka-6-view-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	view, err := goka.NewView(b.addrs, table, new(codec.String),
		goka.WithViewAutoReconnect(),
		// Retry every half second at most, so that the demo is quick.
		goka.WithViewBackoffBuilder(func() (goka.Backoff, error) {
			return goka.NewSimpleBackoff(100*time.Millisecond, 500*time.Millisecond), nil
		}),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithViewStorageBuilder(storage.DefaultBuilder(dir)),
	)
	if err != nil {
		return err
	}
	observer := view.ObserveStateChanges()
	defer observer.Stop()
	go func() {
		for s := range observer.C() {
			fmt.Println("view state:", goka.ViewState(s))
		}
	}()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- view.Run(runCtx) }()
	stopView := func(err error) error {
		cancel()
		return errors.Join(err, <-done)
	}

	if err := emit(b.addrs, "greeting", "hello"); err != nil {
		return stopView(err)
	}
	if err := waitForValue(ctx, view, "greeting", "hello"); err != nil {
		return stopView(err)
	}

	if b.restart == nil {
		fmt.Println("restart your Kafka broker to see the view reconnect; Ctrl-C stops")
		<-ctx.Done()
		return stopView(nil)
	}
	fmt.Println("restarting the broker")
	if err := b.restart(); err != nil {
		return stopView(fmt.Errorf("restarting the broker: %w", err))
	}
	v, _ := view.Get("greeting")
	fmt.Printf("the view still serves greeting=%v\n", v)
	if err := emit(b.addrs, "greeting", "hello again"); err != nil {
		return stopView(err)
	}
	if err := waitForValue(ctx, view, "greeting", "hello again"); err != nil {
		return stopView(err)
	}
	if keepRunning {
		fmt.Println("running; press Ctrl-C to stop")
		<-ctx.Done()
	}
	return stopView(nil)
}

// emit writes key=value to the table topic, as the table's processor
// would.
func emit(brokers []string, key, value string) error {
	e, err := goka.NewEmitter(brokers, goka.Stream(table), new(codec.String))
	if err != nil {
		return err
	}
	if err := e.EmitSync(key, value); err != nil {
		_ = e.Finish()
		return err
	}
	return e.Finish()
}

func waitForValue(ctx context.Context, view *goka.View, key, want string) error {
	err := exampleenv.WaitFor(ctx, fmt.Sprintf("%s=%s in the view", key, want), func() bool {
		v, _ := view.Get(key)
		return v == want
	})
	if err == nil {
		fmt.Printf("the view has %s=%s\n", key, want)
	}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close() //nolint:errcheck // only probing for a free port
	return l.Addr().(*net.TCPAddr).Port, nil
}
