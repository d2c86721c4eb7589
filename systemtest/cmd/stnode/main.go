// Command stnode runs one goka component as an OS process of its own for the
// system tests, which start it, kill it with SIGKILL and start it again:
//
//	stnode proc -brokers B -group G -input T -storage DIR
//	stnode view -brokers B -table T -storage DIR
//
// The processor keeps, per key, "max:count": the highest sequence number
// seen (idempotent: exact even when messages are processed twice) and the
// number of messages processed (at or above the exact count after a crash).
// Input values are decimal sequence numbers (codec.String).
//
// It reports on stdout, one event per line: "ready" once the processor has
// recovered its partitions or the view runs ("running applied=N", N being
// the table records the view applied to reach the high-water mark), and
// "assigned P,P,..." at every rebalance. A view reads commands on stdin:
// "dump PATH" writes its content as key<TAB>value lines to PATH and answers
// "dumped N". SIGTERM and SIGINT stop the component cleanly.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	goka "github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/storage"
	"github.com/e3793d55/goka/systemtest/internal/stcfg"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: stnode proc|view [flags]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	var (
		brokers     = fs.String("brokers", "127.0.0.1:19092", "comma-separated bootstrap brokers")
		group       = fs.String("group", "", "processor group")
		input       = fs.String("input", "", "input topic of the processor")
		table       = fs.String("table", "", "table topic of the view")
		dir         = fs.String("storage", "", "LevelDB directory")
		acks        = fs.String("acks", "local", "producer acks: local or all")
		replication = fs.Int("replication", 1, "replication factor of topics the processor creates")
		guarantee   = fs.String("guarantee", "at-least-once", "processing guarantee of the processor (at-least-once or exactly-once); a view reads committed with exactly-once")
		rebalance   = fs.String("rebalance", "eager", "rebalance protocol of the processor: eager or cooperative")
		standbys    = fs.Int("standbys", 0, "standby replicas of the processor (cooperative only)")
		defaults    = fs.Bool("defaults", false, "goka's defaults: stcfg.Defaults instead of stcfg.Config, the default backoff, a view without auto-reconnect")
	)
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix(fmt.Sprintf("stnode %s %d: ", mode, os.Getpid()))
	goka.ReplaceGlobalConfig(stcfg.Config(*acks == "all"))
	if *defaults {
		goka.ReplaceGlobalConfig(stcfg.Defaults(*acks == "all"))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	var err error
	switch mode {
	case "proc":
		var extra []goka.ProcessorOption
		switch *rebalance {
		case "eager":
		case "cooperative":
			extra = append(extra, goka.WithCooperativeRebalance(), goka.WithStandbyReplicas(*standbys))
		default:
			err = fmt.Errorf("unknown -rebalance %q", *rebalance)
		}
		if err == nil {
			err = runProcessor(ctx, strings.Split(*brokers, ","), *group, *input, *dir, *replication, *defaults, *guarantee == "exactly-once", extra...)
		}
	case "view":
		err = runView(ctx, strings.Split(*brokers, ","), *table, *dir, *defaults, *guarantee == "exactly-once")
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	stop()
	if err != nil {
		log.Printf("exit: %v", err)
		os.Exit(1)
	}
	log.Printf("exit: clean")
}

// out serializes the event lines on stdout.
var outMu sync.Mutex

func event(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Printf(format+"\n", args...)
}

// Encode and Decode of the processor state "max:count".
func decodeState(v interface{}) (maxSeq, count int64) {
	s, _ := v.(string)
	if s == "" {
		return -1, 0
	}
	a, b, _ := strings.Cut(s, ":")
	maxSeq, _ = strconv.ParseInt(a, 10, 64)
	count, _ = strconv.ParseInt(b, 10, 64)
	return maxSeq, count
}

func runProcessor(ctx context.Context, brokers []string, group, input, dir string, replication int, defaults, eos bool, extra ...goka.ProcessorOption) error {
	if group == "" || input == "" || dir == "" {
		return errors.New("proc needs -group, -input and -storage")
	}
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = replication
	tmc.Stream.Replication = replication
	g := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
			seq, err := strconv.ParseInt(msg.(string), 10, 64)
			if err != nil {
				ctx.Fail(fmt.Errorf("bad sequence number %q: %w", msg, err))
			}
			maxSeq, count := decodeState(ctx.Value())
			ctx.SetValue(fmt.Sprintf("%d:%d", max(maxSeq, seq), count+1))
		}),
		goka.Persist(new(codec.String)),
	)
	backoff, outage := stcfg.Backoff, 60*time.Second // as long as stcfg.Config's retries last
	if defaults {
		backoff, outage = goka.DefaultBackoffBuilder, goka.DefaultBrokerOutageTimeout
	}
	guarantee := goka.AtLeastOnce
	if eos {
		guarantee = goka.ExactlyOnce
	}
	opts := append([]goka.ProcessorOption{
		goka.WithProcessingGuarantee(guarantee),
		goka.WithBrokerOutageTimeout(outage),
		goka.WithStorageBuilder(storage.DefaultBuilder(dir)),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithBackoffBuilder(backoff),
		goka.WithRebalanceCallback(func(a goka.Assignment) {
			parts := make([]string, 0, len(a))
			for p := range a {
				parts = append(parts, strconv.Itoa(int(p)))
			}
			sort.Strings(parts)
			event("assigned %s", strings.Join(parts, ","))
		}),
	}, extra...)
	p, err := goka.NewProcessor(brokers, g, opts...)
	if err != nil {
		return err
	}
	go func() {
		if p.WaitForReadyContext(ctx) == nil && ctx.Err() == nil {
			event("ready")
		}
	}()
	return p.Run(ctx)
}

func runView(ctx context.Context, brokers []string, table, dir string, defaults, eos bool) error {
	if table == "" || dir == "" {
		return errors.New("view needs -table and -storage")
	}
	opts := []goka.ViewOption{goka.WithViewStorageBuilder(storage.DefaultBuilder(dir))}
	if !defaults {
		opts = append(opts, goka.WithViewAutoReconnect(), goka.WithViewBackoffBuilder(stcfg.Backoff))
	}
	if eos {
		opts = append(opts, goka.WithViewReadCommitted())
	}
	v, err := goka.NewView(brokers, goka.Table(table), new(codec.String), opts...)
	if err != nil {
		return err
	}
	go func() {
		select {
		case <-v.WaitRunning():
		case <-ctx.Done():
			return
		}
		var applied uint
		for _, ts := range v.Stats(ctx).Partitions {
			if ts.Input != nil {
				applied += ts.Input.Count
			}
		}
		event("running applied=%d", applied)
	}()
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			cmd, arg, _ := strings.Cut(sc.Text(), " ")
			if cmd != "dump" {
				event("error unknown command %q", cmd)
				continue
			}
			n, err := dump(v, arg)
			if err != nil {
				event("error %v", err)
				continue
			}
			event("dumped %d", n)
		}
	}()
	return v.Run(ctx)
}

func dump(v *goka.View, path string) (int, error) {
	it, err := v.Iterator()
	if err != nil {
		return 0, err
	}
	defer it.Release()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(f)
	n := 0
	for it.Next() {
		val, err := it.Value()
		if err != nil {
			_ = f.Close()
			return 0, err
		}
		if _, err := fmt.Fprintf(w, "%s\t%v\n", it.Key(), val); err != nil {
			_ = f.Close()
			return 0, err
		}
		n++
	}
	if err := it.Err(); err != nil {
		_ = f.Close()
		return 0, err
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return 0, err
	}
	return n, f.Close()
}
