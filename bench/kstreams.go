package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// kstreamsDir is where `mvn package` in bench/kstreams put the jar and its
// dependencies (-kstreams-dir).
var kstreamsDir string

// kstreamsGroups are the workloads of -kstreams (make bench-kstreams): our
// counting processor and Kafka Streams' groupByKey().count() on the same
// input, each run right after a ceiling run of its own.
var kstreamsGroups = []struct {
	ceiling string
	lib     []string
}{
	{"ceiling-produce", []string{"emit"}},
	{"ceiling-consume-produce", []string{
		"process-leveldb", "process-leveldb-cache", "process-memory", "process-leveldb-eos",
		"kstreams-at-least-once", "kstreams-exactly-once-v2",
	}},
}

// kstreamsGuarantees maps the workloads to Kafka Streams'
// processing.guarantee.
var kstreamsGuarantees = map[string]string{
	"kstreams-at-least-once":   "at_least_once",
	"kstreams-exactly-once-v2": "exactly_once_v2",
}

func kstreamsDump(p params) string { return filepath.Join(p.dir, "kstreams-counts.txt") }

// kstreamsCommand is the JVM running bench.CountBench for workload name,
// with the JVM's default options: the parent measures its CPU time and
// peak RSS as for its own children.
func kstreamsCommand(name string, p params) (*exec.Cmd, error) {
	guarantee, ok := kstreamsGuarantees[name]
	if !ok {
		return nil, fmt.Errorf("unknown workload %q", name)
	}
	jar := filepath.Join(kstreamsDir, "kstreams-bench.jar")
	if _, err := os.Stat(jar); err != nil {
		return nil, fmt.Errorf("kafka streams program not built (cd bench/kstreams && mvn package): %w", err)
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, err
	}
	cp := jar + string(os.PathListSeparator) + filepath.Join(kstreamsDir, "lib", "*")
	return exec.Command("java", "-cp", cp, "bench.CountBench",
		strings.Join(p.brokers, ","), p.input(), p.processGroup(name), guarantee,
		strconv.Itoa(p.n), filepath.Join(p.dir, "state"), kstreamsDump(p)), nil
}

// expectedCount is the count of key number k after the n inputs (key(i) is
// key i%keys).
func expectedCount(p params, k int) int64 {
	c := int64(p.n / p.keys)
	if k < p.n%p.keys {
		c++
	}
	return c
}

// checkKStreamsDump checks that Kafka Streams' store, dumped as "key count"
// lines, holds exactly the expected count of every key: the same check as
// sumCounts makes of our store, so both hold the same counts.
func checkKStreamsDump(p params) error {
	f, err := os.Open(kstreamsDump(p))
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	got := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			return fmt.Errorf("bad line %q", sc.Text())
		}
		c, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("bad line %q: %w", sc.Text(), err)
		}
		got[k] = c
	}
	if err := sc.Err(); err != nil {
		return err
	}
	want := min(p.keys, p.n)
	if len(got) != want {
		return fmt.Errorf("%d keys, want %d", len(got), want)
	}
	for k := range want {
		if c := got[p.key(k)]; c != expectedCount(p, k) {
			return fmt.Errorf("key %s counts %d, want %d", p.key(k), c, expectedCount(p, k))
		}
	}
	return nil
}

// waitCommitted polls the offsets group committed on topic until they add
// up to want.
func waitCommitted(ctx context.Context, p params, group, topic string, want int64, run *bgRun) error {
	admin, err := sarama.NewClusterAdmin(p.brokers, config())
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-run.done:
			return fmt.Errorf("processor stopped: %w", errOrNil(run.err))
		case <-tick.C:
		}
		resp, err := admin.ListConsumerGroupOffsets(group, nil)
		if err != nil {
			continue
		}
		var sum int64
		for _, b := range resp.Blocks[topic] {
			if b.Offset > 0 {
				sum += b.Offset
			}
		}
		if sum >= want {
			return nil
		}
	}
}
