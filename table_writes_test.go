package goka_test

import (
	"hash"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/storage"
)

// A table write that Kafka refuses must never reach local storage (issue
// 13, item 1.7): a 2 MiB value is over Producer.MaxMessageBytes, the
// processor stops, and after a restart on the same storage neither
// Context.Value nor Processor.Get returns the refused value. Before the
// fix the value was flushed to LevelDB on the way out, so this instance
// disagreed with the table topic, every view and the next owner.
func TestRefusedTableWriteNeverReachesStorage(t *testing.T) {
	brokers := cluster(t, map[string]int{"input": 1})
	dir := t.TempDir()
	big := strings.Repeat("x", 2<<20)
	first := goka.DefineGroup("refused",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			if msg.(string) == "big" {
				ctx.SetValue(big)
				return
			}
			ctx.SetValue(msg)
		}),
		goka.Persist(new(codec.String)),
	)
	p, err := goka.NewProcessor(brokers, first, procOpts(t, dir)...)
	require.NoError(t, err)
	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	e := emitter(t, brokers, "input", new(codec.String))
	require.NoError(t, e.EmitSync("k", "small"))
	eventually(t, 30*time.Second, func() bool { v, err := p.Get("k"); return err == nil && v == "small" }, "small not stored")
	require.NoError(t, e.EmitSync("k", "big"))
	err = r.wait(t, 60*time.Second)
	require.Error(t, err)
	require.Contains(t, err.Error(), "MaxMessageBytes")

	// The second run sees the refused message again (its offset was not
	// committed) and records what the table holds for its key.
	var seen atomic.Value
	second := goka.DefineGroup("refused",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			if msg.(string) == "big" {
				seen.Store(ctx.Value())
			}
		}),
		goka.Persist(new(codec.String)),
	)
	p2, err := goka.NewProcessor(brokers, second, procOpts(t, dir)...)
	require.NoError(t, err)
	r2 := run(t, p2.Run)
	require.NoError(t, p2.WaitForReady())
	v, err := p2.Get("k")
	require.NoError(t, err)
	require.Equal(t, "small", v, "Get after restart")
	eventually(t, 30*time.Second, func() bool { return seen.Load() != nil }, "big not reprocessed")
	require.Equal(t, "small", seen.Load(), "Context.Value after restart")
	require.NoError(t, r2.stop(t))
	require.NoError(t, e.Finish())

	got, _ := readTopic(t, brokers, "refused-table")
	require.Equal(t, map[string][]byte{"k": []byte("small")}, got)
}

// A message Kafka refuses stops the processor with an error that names
// the message's topic and key, for a table write and for an emit alike
// (both are produced with a handler instead of a promise, producer.go).
func TestRefusedProduceNamesMessage(t *testing.T) {
	big := strings.Repeat("x", 2<<20)
	for _, tt := range []struct {
		name string
		cb   goka.ProcessCallback
		want string
	}{
		{"table write", func(ctx goka.Context, msg interface{}) { ctx.SetValue(big) }, `producing to topic "named-table-write-table" key "k"`},
		{"emit", func(ctx goka.Context, msg interface{}) { ctx.Emit("named-out", ctx.Key(), big) }, `producing to topic "named-out" key "k"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			group := goka.Group("named-" + strings.ReplaceAll(tt.name, " ", "-"))
			brokers := cluster(t, map[string]int{"input": 1, "named-out": 1})
			g := goka.DefineGroup(group,
				goka.Input("input", new(codec.String), tt.cb),
				goka.Output("named-out", new(codec.String)),
				goka.Persist(new(codec.String)),
			)
			p, err := goka.NewProcessor(brokers, g, procOpts(t, t.TempDir())...)
			require.NoError(t, err)
			r := run(t, p.Run)
			require.NoError(t, p.WaitForReady())
			e := emitter(t, brokers, "input", new(codec.String))
			require.NoError(t, e.EmitSync("k", "v"))
			err = r.wait(t, 60*time.Second)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			require.Contains(t, err.Error(), "MaxMessageBytes")
			require.NoError(t, e.Finish())
		})
	}
}

// Context.Value sees the callback's own writes at once, before Kafka
// acknowledged them, and deletes too.
func TestContextValueSeesUnacknowledgedWrites(t *testing.T) {
	brokers := cluster(t, map[string]int{"input": 1})
	var bad atomic.Int64
	g := goka.DefineGroup("unacked",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			switch msg.(string) {
			case "set":
				ctx.SetValue("a")
				if ctx.Value() != "a" {
					bad.Add(1)
				}
				ctx.SetValue("b")
				if ctx.Value() != "b" {
					bad.Add(1)
				}
			case "del":
				ctx.Delete()
				if ctx.Value() != nil {
					bad.Add(1)
				}
			}
		}),
		goka.Persist(new(codec.String)),
	)
	p, err := goka.NewProcessor(brokers, g, procOpts(t, "")...)
	require.NoError(t, err)
	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	e := emitter(t, brokers, "input", new(codec.String))
	for i := 0; i < 50; i++ {
		_, err := e.Emit("k", "set")
		require.NoError(t, err)
		_, err = e.Emit("k", "del")
		require.NoError(t, err)
	}
	require.NoError(t, e.EmitSync("k", "set"))
	eventually(t, 30*time.Second, func() bool { v, err := p.Get("k"); return err == nil && v == "b" }, "last write not stored")
	require.Zero(t, bad.Load())
	require.NoError(t, e.Finish())
	require.NoError(t, r.stop(t))
}

// stuckProducer never finishes its promises, not even in Close: it breaks
// the Producer contract.
type stuckProducer struct{}

func (stuckProducer) Emit(topic, key string, value []byte) *goka.Promise { return goka.NewPromise() }
func (stuckProducer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	return goka.NewPromise()
}
func (stuckProducer) Close() error { return nil }

// Emitter.Finish is bounded even when the producer's Close leaves promises
// unfinished (review F13: it used to wait for them forever).
func TestEmitterFinishBounded(t *testing.T) {
	e, err := goka.NewEmitter([]string{"127.0.0.1:1"}, "topic", new(codec.String),
		goka.WithEmitterProducerBuilder(func([]string, string, func() hash.Hash32) (goka.Producer, error) {
			return stuckProducer{}, nil
		}))
	require.NoError(t, err)
	goka.SetEmitterFinishTimeout(e, 50*time.Millisecond)
	_, err = e.Emit("k", "v")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- e.Finish() }()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "1 promises unfinished")
	case <-time.After(30 * time.Second):
		t.Fatal("Finish did not return")
	}
}

// Acknowledged table writes are applied in batches, and the batch stores
// the offset of its last write once (table_writes.go): every partition's
// storage must still end at its table topic's last offset, and the table
// statistics count every write, not every batch.
func TestStoredOffsetIsLastTableWrite(t *testing.T) {
	const n, keys = 3000, 300
	brokers := cluster(t, map[string]int{"input": 4})
	var (
		mu       sync.Mutex
		storages = map[int32]storage.Storage{}
	)
	builder := func(topic string, partition int32) (storage.Storage, error) {
		st := storage.NewMemory()
		if topic == "stored-offset-table" {
			mu.Lock()
			storages[partition] = st
			mu.Unlock()
		}
		return st, nil
	}
	g := goka.DefineGroup("stored-offset",
		goka.Input("input", new(codec.String), func(ctx goka.Context, _ interface{}) {
			var c int64
			if v := ctx.Value(); v != nil {
				c = v.(int64)
			}
			ctx.SetValue(c + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	p, err := goka.NewProcessor(brokers, g, procOpts(t, "", goka.WithStorageBuilder(builder))...)
	require.NoError(t, err)
	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	e := emitter(t, brokers, "input", new(codec.String))
	for i := 0; i < n; i++ {
		_, err := e.Emit(key(i%keys), "x")
		require.NoError(t, err)
	}
	require.NoError(t, e.Finish())

	client, err := sarama.NewClient(brokers, testConfig())
	require.NoError(t, err)
	defer client.Close()
	end := func(part int32) int64 {
		hwm, err := client.GetOffset("stored-offset-table", part, sarama.OffsetNewest)
		require.NoError(t, err)
		return hwm
	}
	eventually(t, 60*time.Second, func() bool {
		var total int64
		for part := int32(0); part < 4; part++ {
			total += end(part)
		}
		return total == n
	}, "table topic short of %d records", n)
	eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for part := int32(0); part < 4; part++ {
			st := storages[part]
			if st == nil {
				return false
			}
			off, err := st.GetOffset(-1)
			require.NoError(t, err)
			if off != end(part)-1 {
				return false
			}
		}
		return true
	}, "a partition's storage does not end at its table topic's last offset")

	var writes uint
	for part, ps := range p.Stats().Group {
		require.NotNil(t, ps.TableStats, "partition %d", part)
		writes += ps.TableStats.Writes.Count
	}
	require.Equal(t, uint(n), writes, "table writes counted")
	for i := 0; i < keys; i++ {
		v, err := p.Get(key(i))
		require.NoError(t, err)
		require.Equal(t, int64(n/keys), v, "count of %s", key(i))
	}
	require.NoError(t, r.stop(t))
}
