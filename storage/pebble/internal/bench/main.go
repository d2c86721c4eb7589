// Command bench compares the Pebble storage of this module with package
// storage's LevelDB in a counting goka processor on the embedded broker
// (kafkatest, in this process): processing, recovery of the table, and
// processing with as many distinct keys as messages. Each run is a child
// process (this binary re-executed), so that its CPU time and peak RSS are
// its own; LevelDB and Pebble alternate, and ratios are of the same run.
//
//	go run ./internal/bench -n 1000000 -keys 10000 -distinct 4000000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	"github.com/e3793d55/goka/storage"
	"github.com/e3793d55/goka/storage/pebble"
)

type quiet struct{}

func (quiet) Print(...any)          {}
func (quiet) Println(...any)        {}
func (quiet) Printf(string, ...any) {}

func config() *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	return cfg
}

func builder(kind, dir string) storage.Builder {
	if kind == "pebble" {
		return pebble.Builder(dir)
	}
	return storage.DefaultBuilder(dir)
}

func main() {
	var (
		n, keys, distinct, parts, repeat int
		child, kind, brokers, dir, input string
		group                            string
	)
	flag.IntVar(&n, "n", 1_000_000, "messages of the process and recovery workloads")
	flag.IntVar(&keys, "keys", 10_000, "distinct keys of the process workload")
	flag.IntVar(&distinct, "distinct", 4_000_000, "messages (each its own key) of the distinct-keys workload; 0 skips it")
	flag.IntVar(&parts, "partitions", 10, "partitions")
	flag.IntVar(&repeat, "repeat", 2, "runs of each workload and storage")
	flag.StringVar(&child, "child", "", "internal: workload of a child")
	flag.StringVar(&kind, "storage", "", "internal")
	flag.StringVar(&brokers, "brokers", "", "internal")
	flag.StringVar(&dir, "dir", "", "internal")
	flag.StringVar(&input, "input", "", "internal")
	flag.StringVar(&group, "group", "", "internal")
	flag.Parse()
	var err error
	if child != "" {
		err = runChild(child, kind, strings.Split(brokers, ","), dir, input, group, n)
	} else {
		err = runParent(n, keys, distinct, parts, repeat)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	Seconds float64 `json:"seconds"`
	Records int     `json:"records"`
}

func emit(brokers []string, topic string, n, keys int) error {
	em, err := goka.NewEmitter(brokers, goka.Stream(topic), new(codec.Bytes),
		goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(config())))
	if err != nil {
		return err
	}
	v := make([]byte, 16)
	for i := range n {
		if _, err := em.Emit("key-"+strconv.Itoa(i%keys), v); err != nil {
			return errors.Join(err, em.Finish())
		}
	}
	return em.Finish()
}

func runParent(n, keys, distinct, parts, repeat int) error {
	c, err := kafkatest.New(kafkatest.Partitions(parts), kafkatest.Topic("input", parts), kafkatest.Topic("distinct", parts))
	if err != nil {
		return err
	}
	defer c.Close()
	br := c.Brokers()
	if err := emit(br, "input", n, keys); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "pebble-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	type row struct {
		name, kind string
		secs       []float64
		cpu        []float64
		recs       int
		rss        int64
	}
	var rows []*row
	get := func(name, kind string) *row {
		for _, r := range rows {
			if r.name == name && r.kind == kind {
				return r
			}
		}
		r := &row{name: name, kind: kind}
		rows = append(rows, r)
		return r
	}
	one := func(name, kind, input, group string, msgs int, sub string) error {
		d := filepath.Join(tmp, sub)
		cmd := exec.Command(os.Args[0], "-child", name, "-storage", kind, "-brokers", strings.Join(br, ","),
			"-dir", d, "-input", input, "-group", group, "-n", strconv.Itoa(msgs))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("%s/%s: %w", name, kind, err)
		}
		var res result
		if err := json.Unmarshal(out, &res); err != nil {
			return fmt.Errorf("%s/%s: %q: %w", name, kind, out, err)
		}
		r := get(name, kind)
		r.secs = append(r.secs, res.Seconds)
		r.cpu = append(r.cpu, (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds())
		r.recs = res.Records
		r.rss = max(r.rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss*1024)
		fmt.Fprintf(os.Stderr, "  %-10s %-8s %9.0f records/s\n", name, kind, float64(res.Records)/res.Seconds)
		return nil
	}
	for rep := range repeat {
		for _, kind := range []string{"leveldb", "pebble"} {
			g := fmt.Sprintf("count-%s-%d", kind, rep)
			if err := one("process", kind, "input", g, n, g); err != nil {
				return err
			}
			if err := one("recovery", kind, "input", g, n, g+"-recovery"); err != nil {
				return err
			}
		}
	}
	if distinct > 0 {
		if err := emit(br, "distinct", distinct, distinct); err != nil {
			return err
		}
		for _, kind := range []string{"leveldb", "pebble"} {
			g := "distinct-" + kind
			if err := one("distinct", kind, "distinct", g, distinct, g); err != nil {
				return err
			}
		}
	}
	fmt.Printf("n=%d keys=%d distinct=%d partitions=%d, embedded broker, median of %d runs (distinct: 1)\n", n, keys, distinct, parts, repeat)
	fmt.Println("workload   storage   records/s  CPU µs/record  peak RSS MB")
	for _, r := range rows {
		s, c := median(r.secs), median(r.cpu)
		fmt.Printf("%-10s %-8s %10.0f %14.2f %12.0f\n", r.name, r.kind, float64(r.recs)/s, 1e6*c/float64(r.recs), float64(r.rss)/(1<<20))
	}
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// runChild runs one workload: "process" counts the input until the table
// holds n updates; "recovery" starts the processor of an existing group on
// an empty directory and waits until its table is recovered; "distinct" is
// "process" on the distinct-keys input.
func runChild(name, kind string, brokers []string, dir, input, group string, n int) error {
	var first atomic.Int64
	var records atomic.Int64
	graph := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.Bytes), func(ctx goka.Context, _ any) {
			if first.Load() == 0 {
				first.CompareAndSwap(0, time.Now().UnixNano())
			}
			c, _ := ctx.Value().(int64)
			ctx.SetValue(c + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication, tmc.Logger = 1, 1, quiet{}
	opts := []goka.ProcessorOption{
		goka.WithStorageBuilder(builder(kind, dir)),
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(config())),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(config())),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(config())),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(config(), tmc)),
		goka.WithLogger(quiet{}),
	}
	if name == "recovery" {
		opts = append(opts, goka.WithUpdateCallback(func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
			if first.Load() == 0 {
				first.CompareAndSwap(0, time.Now().UnixNano())
			}
			records.Add(1)
			return goka.DefaultUpdate(ctx, s, key, value)
		}))
	}
	p, err := goka.NewProcessor(brokers, graph, opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	client, err := sarama.NewClient(brokers, config())
	if err != nil {
		return err
	}
	defer func() { _ = client.Close() }()
	table := string(goka.GroupTable(goka.Group(group)))
	for {
		var ok bool
		if name == "recovery" {
			ok = p.Recovered()
		} else {
			var sum int64
			parts, _ := client.Partitions(table)
			for _, part := range parts {
				off, err := client.GetOffset(table, part, sarama.OffsetNewest)
				if err == nil {
					sum += off
				}
			}
			ok = len(parts) > 0 && sum >= int64(n)
		}
		if ok {
			break
		}
		select {
		case err := <-done:
			return fmt.Errorf("processor stopped: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	secs := time.Since(time.Unix(0, first.Load())).Seconds()
	recs := n
	if name == "recovery" {
		recs = int(records.Load())
	}
	cancel()
	if err := <-done; err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(result{Seconds: secs, Records: recs})
}
