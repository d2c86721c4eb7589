package goka_test

import (
	"hash"
	"hash/crc32"
	"hash/fnv"
	"reflect"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/internal/kafka"
)

// One *sarama.Config and one *TopicManagerConfig shared by four processors
// and their three lookup views (which start concurrently), two processors
// with different hashers. On the old code this test fails three ways: -race
// reports the builders' writes of ClientID into the shared config while
// other clients read it (and NewTopicManager's write of a nil Logger); the
// shared config's ClientID and Partitioner have changed afterwards; and
// since sarama keeps the *Config it is given and creates a topic's
// partitioner at the topic's first message, all producers partition with
// the hasher of the producer built last, so one of the two tables is
// written to the partitions of the other hasher and, recovered in a fresh
// storage, Get misses its keys (issue 13 items 1.2 and 1.10).
func TestSharedConfig(t *testing.T) {
	const (
		parts = 4
		nkeys = 20
	)
	crc := crc32.NewIEEE
	brokers := cluster(t, map[string]int{
		"sc-in-a": parts, "sc-in-b": parts, "sc-in-c": parts, "sc-in-d": parts,
		"sc-a-table": parts, "sc-b-table": parts, "sc-c-table": parts,
	})

	shared := testConfig()
	shared.ClientID = "shared-config"
	shared.Producer.Partitioner = sarama.NewRoundRobinPartitioner
	partitioner := reflect.ValueOf(shared.Producer.Partitioner).Pointer()
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	tmc.Logger = nil // NewTopicManager must not fill it in

	opts := func(dir string, extra ...goka.ProcessorOption) []goka.ProcessorOption {
		return procOpts(t, dir, append([]goka.ProcessorOption{
			goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(shared)),
			goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(shared)),
			goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(shared)),
			goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(shared, tmc)),
		}, extra...)...)
	}
	type proc struct {
		group  string
		input  string
		hasher func() hash.Hash32
		extra  []goka.ProcessorOption
	}
	procs := []proc{
		{"sc-a", "sc-in-a", fnv.New32a, nil},
		{"sc-b", "sc-in-b", crc, []goka.ProcessorOption{goka.WithHasher(crc)}},
		{"sc-c", "sc-in-c", fnv.New32a, nil},
	}
	persist := func(ctx goka.Context, msg any) { ctx.SetValue(msg) }
	newProc := func(p proc, dir string) *goka.Processor {
		g := goka.DefineGroup(goka.Group(p.group),
			goka.Input(goka.Stream(p.input), new(codec.String), persist),
			goka.Persist(new(codec.String)))
		proc, err := goka.NewProcessor(brokers, g, opts(dir, p.extra...)...)
		require.NoError(t, err)
		return proc
	}

	var (
		runners []*runner
		running []*goka.Processor
	)
	for _, p := range procs {
		proc := newProc(p, "")
		running = append(running, proc)
		runners = append(runners, run(t, proc.Run))
	}
	lookups := goka.DefineGroup("sc-d",
		goka.Input("sc-in-d", new(codec.String), func(ctx goka.Context, msg any) {
			for _, p := range procs {
				_ = ctx.Lookup(goka.GroupTable(goka.Group(p.group)), ctx.Key())
			}
		}),
		goka.Lookup(goka.GroupTable("sc-a"), new(codec.String)),
		goka.Lookup(goka.GroupTable("sc-b"), new(codec.String)),
		goka.Lookup(goka.GroupTable("sc-c"), new(codec.String)))
	d, err := goka.NewProcessor(brokers, lookups, opts("")...)
	require.NoError(t, err)
	running = append(running, d)
	runners = append(runners, run(t, d.Run))
	for _, p := range running {
		require.NoError(t, p.WaitForReady())
	}

	// Emit only now: every producer is built, so on the old code the shared
	// Partitioner is the last builder's when the tables get their first
	// record.
	for _, p := range procs {
		e, err := goka.NewEmitter(brokers, goka.Stream(p.input), new(codec.String),
			goka.WithEmitterHasher(p.hasher), goka.WithEmitterLogger(testLogger{}))
		require.NoError(t, err)
		for i := range nkeys {
			require.NoError(t, e.EmitSync(key(i), "v-"+key(i)))
		}
		require.NoError(t, e.Finish())
	}
	for i, p := range procs {
		eventually(t, 30*time.Second, func() bool {
			for k := range nkeys {
				if v, err := running[i].Get(key(k)); err != nil || v == nil {
					return false
				}
			}
			return true
		}, "processor %s has all its keys", p.group)
	}
	for _, r := range runners {
		require.NoError(t, r.stop(t))
	}

	// (a) the shared configs are as the test made them.
	require.Equal(t, "shared-config", shared.ClientID)
	require.Equal(t, partitioner, reflect.ValueOf(shared.Producer.Partitioner).Pointer(), "shared Producer.Partitioner was replaced")
	require.Nil(t, tmc.Logger, "NewTopicManager wrote the shared TopicManagerConfig")

	// (b) every table record is in the partition of its processor's hasher.
	for _, p := range procs {
		got := partitionsOf(t, brokers, string(goka.GroupTable(goka.Group(p.group))))
		require.Len(t, got, nkeys, p.group)
		for k, part := range got {
			require.Equal(t, kafka.PartitionOf(p.hasher, k, parts), part, "%s: key %s", p.group, k)
		}
	}

	// (c) recovered into fresh storage, every key is found by Get.
	for _, p := range procs {
		proc := newProc(p, t.TempDir())
		r := run(t, proc.Run)
		require.NoError(t, proc.WaitForReady())
		for k := range nkeys {
			v, err := proc.Get(key(k))
			require.NoError(t, err)
			require.Equal(t, "v-"+key(k), v, "%s after recovery: key %s", p.group, key(k))
		}
		require.NoError(t, r.stop(t))
	}
}
