// Command devbroker runs an in-process Kafka-protocol broker (kfake, see
// package kafkatest) as a standalone process, so that examples made of
// several programs can run in several terminals against one broker:
//
//	go run ./cmd/devbroker                      # 127.0.0.1:9092
//	KAFKA_BROKERS=127.0.0.1:9092 go run ./examples/2-clicks
//
// With -data the broker keeps its topics, records and committed offsets in a
// directory and finds them again after a restart; without it everything is
// in memory and gone when it stops. It is a development broker: it does not
// replicate between its brokers and is not tuned for throughput. It stops
// cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/e3793d55/goka/kafkatest"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("devbroker: ")
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the usage is printed
		}
		log.Fatal(err)
	}
}

// run starts the brokers, prints their addresses to out and blocks until
// ctx is cancelled or a signal arrives.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("devbroker", flag.ContinueOnError)
	port := fs.Int("port", 9092, "port of the first broker on 127.0.0.1; further brokers use the next ports (0: free ports)")
	brokers := fs.Int("brokers", 1, "number of brokers")
	partitions := fs.Int("partitions", 10, "partition count of topics created without one or automatically")
	autoCreate := fs.Bool("auto-create", true, "create topics that clients ask for and that do not exist, as Kafka does by default")
	dataDir := fs.String("data", "", "directory keeping topics and offsets across restarts (default: in memory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Port(0) (a free port) and DataDir("") (in memory) are kafkatest's
	// defaults.
	opts := []kafkatest.Option{
		kafkatest.NumBrokers(*brokers),
		kafkatest.Partitions(*partitions),
		kafkatest.Port(*port),
		kafkatest.DataDir(*dataDir),
	}
	if *autoCreate {
		opts = append(opts, kafkatest.AutoCreateTopics())
	}
	cluster, err := kafkatest.New(opts...)
	if err != nil {
		return fmt.Errorf("starting the broker on port %d: %w", *port, err)
	}
	defer cluster.Close()

	// The first line is the address list in KAFKA_BROKERS form, so that
	// scripts can read it.
	addrs := strings.Join(cluster.Brokers(), ",")
	if _, err := fmt.Fprintf(out, "KAFKA_BROKERS=%s\n", addrs); err != nil {
		return err
	}
	where := "in memory"
	if *dataDir != "" {
		where = "in " + *dataDir
	}
	_, _ = fmt.Fprintf(out, "%d broker(s), %d partitions per new topic, data %s; Ctrl-C stops\n", *brokers, *partitions, where)

	<-ctx.Done()
	_, _ = fmt.Fprintln(out, "stopping")
	return nil
}
