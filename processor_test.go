package goka_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/storage"
)

// countGraph counts the messages of every key of input in the group table.
func countGraph(group, input string) *goka.GroupGraph {
	return goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
}

// emitCounts emits n messages over keys keys, round robin, and returns the
// expected count per key.
func emitCounts(t *testing.T, brokers []string, topic string, n, keys int) map[string]int64 {
	t.Helper()
	e := emitter(t, brokers, topic, new(codec.String))
	want := map[string]int64{}
	var (
		last *goka.Promise
		errs atomic.Int64
	)
	for i := 0; i < n; i++ {
		k := key(i % keys)
		want[k]++
		p, err := e.Emit(k, "v")
		require.NoError(t, err)
		p.Then(func(err error) {
			if err != nil {
				errs.Add(1)
			}
		})
		last = p
	}
	done := make(chan struct{})
	last.Then(func(error) { close(done) })
	<-done
	require.NoError(t, e.Finish())
	require.Zero(t, errs.Load(), "emit errors")
	return want
}

func checkTableTopic(t *testing.T, brokers []string, table string, want map[string]int64) {
	t.Helper()
	got, _ := readTopic(t, brokers, table)
	require.Len(t, got, len(want))
	for k, w := range want {
		n, err := strconv.ParseInt(string(got[k]), 10, 64)
		require.NoError(t, err, "key %s", k)
		require.Equal(t, w, n, "table topic count of %s", k)
	}
}

func waitCounts(t *testing.T, get goka.Getter, want map[string]int64) {
	t.Helper()
	eventually(t, 120*time.Second, func() bool {
		for k, w := range want {
			v, err := get(k)
			if err != nil || v == nil || v.(int64) != w {
				return false
			}
		}
		return true
	}, "counts not reached")
}

func TestProcessorCountsExactly(t *testing.T) {
	const (
		messages = 100000
		keys     = 1000
	)
	if testing.Short() {
		t.Skip("100,000 messages: skipped in -short mode")
	}
	brokers := cluster(t, map[string]int{"input": 10})
	want := emitCounts(t, brokers, "input", messages, keys)

	p, err := goka.NewProcessor(brokers, countGraph("count", "input"), procOpts(t, "")...)
	require.NoError(t, err)
	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	waitCounts(t, p.Get, want)

	v, err := goka.NewView(brokers, goka.GroupTable("count"), new(codec.Int64), viewOpts(t, "")...)
	require.NoError(t, err)
	vr := run(t, v.Run)
	<-v.WaitRunning()
	waitCounts(t, v.Get, want)

	require.NoError(t, r.stop(t))
	require.NoError(t, vr.stop(t))
	checkTableTopic(t, brokers, "count-table", want)
	// Every input offset is committed.
	var sum int64
	for _, off := range committed(t, brokers, "count", "input") {
		sum += off
	}
	require.Equal(t, int64(messages), sum)
}

func TestProcessorRebalanceTakeOver(t *testing.T) {
	brokers := cluster(t, map[string]int{"input": 10})
	want := emitCounts(t, brokers, "input", 5000, 100)

	var assigned [2]atomic.Int64
	newProc := func(i int) *goka.Processor {
		p, err := goka.NewProcessor(brokers, countGraph("rebalance", "input"), procOpts(t, "",
			goka.WithRebalanceCallback(func(a goka.Assignment) { assigned[i].Store(int64(len(a))) }))...)
		require.NoError(t, err)
		return p
	}
	p1, p2 := newProc(0), newProc(1)
	r1 := run(t, p1.Run)
	require.NoError(t, p1.WaitForReady())
	r2 := run(t, p2.Run)
	eventually(t, 60*time.Second, func() bool {
		return assigned[0].Load() == 5 && assigned[1].Load() == 5
	}, "partitions not split: %d/%d", assigned[0].Load(), assigned[1].Load())
	require.NoError(t, p1.WaitForReady())
	require.NoError(t, p2.WaitForReady())

	// Both serve their half.
	var held [2]int
	for k := range want {
		if _, err := p1.Get(k); err == nil {
			held[0]++
		} else {
			require.ErrorIs(t, err, goka.ErrPartitionNotHeld)
		}
		if _, err := p2.Get(k); err == nil {
			held[1]++
		}
	}
	require.Equal(t, len(want), held[0]+held[1])

	// More input while both run, then p1 stops cleanly and p2 takes over.
	more := emitCounts(t, brokers, "input", 5000, 100)
	for k, v := range more {
		want[k] += v
	}
	require.NoError(t, r1.stop(t))
	eventually(t, 60*time.Second, func() bool { return assigned[1].Load() == 10 }, "p2 did not take over")
	require.NoError(t, p2.WaitForReady())
	waitCounts(t, p2.Get, want)
	require.NoError(t, r2.stop(t))
	checkTableTopic(t, brokers, "rebalance-table", want)
}

// recoveredRecords sums the table records applied during recovery.
func recoveredRecords(p *goka.Processor) uint {
	var n uint
	for _, ps := range p.Stats().Group {
		if ps.TableStats != nil {
			n += ps.TableStats.Input.Count
		}
	}
	return n
}

func TestProcessorRestartRecovery(t *testing.T) {
	brokers := cluster(t, map[string]int{"input": 4})
	dir := t.TempDir()
	want := emitCounts(t, brokers, "input", 2000, 50)

	runOnce := func(dir string) (*goka.Processor, *runner) {
		p, err := goka.NewProcessor(brokers, countGraph("restart", "input"), procOpts(t, dir)...)
		require.NoError(t, err)
		r := run(t, p.Run)
		require.NoError(t, p.WaitForReady())
		return p, r
	}
	p, r := runOnce(dir)
	waitCounts(t, p.Get, want)
	require.NoError(t, r.stop(t))
	_, tableRecords := readTopic(t, brokers, "restart-table")
	require.Equal(t, 2000, tableRecords)

	// Kept directory: only the tail written after the stop is read.
	more := emitCounts(t, brokers, "input", 100, 50)
	for k, v := range more {
		want[k] += v
	}
	p, r = runOnce(dir)
	require.Less(t, recoveredRecords(p), uint(10), "kept storage must recover only the tail")
	waitCounts(t, p.Get, want)
	require.NoError(t, r.stop(t))

	// Deleted directory: everything is recovered from the table topic.
	require.NoError(t, os.RemoveAll(dir))
	p, r = runOnce(dir)
	require.Equal(t, uint(2100), recoveredRecords(p))
	waitCounts(t, p.Get, want)
	require.NoError(t, r.stop(t))
}

func TestProcessorNotCopartitioned(t *testing.T) {
	brokers := cluster(t, map[string]int{"a": 3, "b": 5})
	cb := func(ctx goka.Context, msg interface{}) {}
	g := goka.DefineGroup("copart",
		goka.Input("a", new(codec.String), cb),
		goka.Input("b", new(codec.String), cb),
	)
	p, err := goka.NewProcessor(brokers, g, procOpts(t, "")...)
	require.NoError(t, err)
	err = p.Run(context.Background())
	require.ErrorIs(t, err, goka.ErrNotCopartitioned)
	for _, s := range []string{`"a"`, "3 partitions", `"b"`, "5"} {
		require.Contains(t, err.Error(), s)
	}
}

func TestProcessorDecodeError(t *testing.T) {
	brokers := cluster(t, map[string]int{"numbers": 1})
	e := emitter(t, brokers, "numbers", new(codec.String))
	require.NoError(t, e.EmitSync("k", "1"))
	require.NoError(t, e.EmitSync("k", "2"))
	require.NoError(t, e.EmitSync("k", "not-a-number"))
	require.NoError(t, e.EmitSync("k", "4"))

	var seen atomic.Int64
	g := goka.DefineGroup("decode",
		goka.Input("numbers", new(codec.Int64), func(ctx goka.Context, msg interface{}) { seen.Add(1) }),
	)
	p, err := goka.NewProcessor(brokers, g, procOpts(t, "")...)
	require.NoError(t, err)
	r := run(t, p.Run)
	err = r.wait(t, 60*time.Second)
	var merr *goka.MessageError
	require.ErrorAs(t, err, &merr)
	require.Equal(t, "numbers", merr.Topic)
	require.Equal(t, int32(0), merr.Partition)
	require.Equal(t, int64(2), merr.Offset)
	require.Contains(t, err.Error(), "error processing message (partition=0)")
	require.Equal(t, int64(2), seen.Load())
	// The two good messages are committed, the bad one is not.
	eventually(t, 10*time.Second, func() bool {
		return committed(t, brokers, "decode", "numbers")[0] == 2
	}, "committed offset should be 2, got %v", committed(t, brokers, "decode", "numbers"))
}

func TestProcessorUnreachableBroker(t *testing.T) {
	// A port nobody listens on.
	brokers := []string{"127.0.0.1:1"}
	p, err := goka.NewProcessor(brokers, countGraph("unreachable", "input"), procOpts(t, "")...)
	require.NoError(t, err)
	r := run(t, p.Run)
	err = r.wait(t, 60*time.Second)
	require.Error(t, err)
	require.ErrorIs(t, err, goka.ErrBrokerUnreachable)
	require.Contains(t, err.Error(), "127.0.0.1:1")
}

func TestProcessorCallbackPanic(t *testing.T) {
	brokers := cluster(t, map[string]int{"input": 2})
	dir := t.TempDir()
	e := emitter(t, brokers, "input", new(codec.String))
	for i := 0; i < 10; i++ {
		require.NoError(t, e.EmitSync(key(i), "ok"))
	}
	require.NoError(t, e.EmitSync("boom", "panic"))

	g := goka.DefineGroup("panic",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			if msg.(string) == "panic" {
				panic("kaboom")
			}
			ctx.SetValue(msg)
		}),
		goka.Persist(new(codec.String)),
	)
	p, err := goka.NewProcessor(brokers, g, procOpts(t, dir)...)
	require.NoError(t, err)
	r := run(t, p.Run)
	err = r.wait(t, 60*time.Second)
	var perr *goka.PanicError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, "kaboom", perr.Value)
	require.Contains(t, string(perr.Stack), "processor_test.go")
	require.Contains(t, err.Error(), "panic in callback")
	require.Contains(t, err.Error(), `key "boom"`)

	// The storage is closed (it can be opened again) and consistent.
	for part := int32(0); part < 2; part++ {
		st, err := storage.DefaultBuilder(dir)("panic-table", part)
		require.NoError(t, err)
		require.NoError(t, st.Open())
		it, err := st.Iterator()
		require.NoError(t, err)
		for it.Next() {
			v, err := it.Value()
			require.NoError(t, err)
			require.Equal(t, "ok", string(v))
		}
		it.Release()
		require.NoError(t, st.Close())
	}
}

func TestProcessorCancelDuringRecovery(t *testing.T) {
	brokers := cluster(t, map[string]int{"input": 1, "cancel-table": 1})
	dir := t.TempDir()
	// Fill the table topic directly: a large table to recover.
	const records = 20000
	e := emitter(t, brokers, "cancel-table", new(codec.Int64))
	for i := 0; i < records; i++ {
		_, err := e.Emit(key(i), int64(i))
		require.NoError(t, err)
	}
	require.NoError(t, e.Finish())

	newProc := func() *goka.Processor {
		p, err := goka.NewProcessor(brokers, countGraph("cancel", "input"), procOpts(t, dir)...)
		require.NoError(t, err)
		return p
	}
	p := newProc()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	eventually(t, 30*time.Second, func() bool { return recoveredRecords(p) > 0 }, "recovery did not start")
	cancel()
	require.NoError(t, <-errc)
	first := recoveredRecords(p)

	p = newProc()
	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	if first < records {
		require.LessOrEqual(t, recoveredRecords(p), uint(records)-first+1, "second run continues where the first stopped")
	}
	v, err := p.Get(key(records - 1))
	require.NoError(t, err)
	require.Equal(t, int64(records-1), v)
	require.NoError(t, r.stop(t))
}

func TestProcessorRunTwice(t *testing.T) {
	brokers := cluster(t, map[string]int{"input": 1})
	p, err := goka.NewProcessor(brokers, countGraph("twice", "input"), procOpts(t, "")...)
	require.NoError(t, err)
	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	require.ErrorIs(t, p.Run(context.Background()), goka.ErrAlreadyRunning)
	require.NoError(t, r.stop(t))
}

func TestNewProcessorValidation(t *testing.T) {
	cb := func(ctx goka.Context, msg interface{}) {}
	tests := []struct {
		name  string
		graph *goka.GroupGraph
		opts  []goka.ProcessorOption
		want  string
	}{
		{"no input", goka.DefineGroup("g", goka.Persist(new(codec.String))), nil, "no input stream"},
		{"nil codec", goka.DefineGroup("g", goka.Input("in", nil, cb)), nil, `input "in": codec is nil`},
		{"join own table", goka.DefineGroup("g", goka.Input("in", new(codec.String), cb), goka.Join("g-table", new(codec.String))), nil, "own table"},
		{"lookup own table", goka.DefineGroup("g", goka.Input("in", new(codec.String), cb), goka.Lookup("g-table", new(codec.String))), nil, "own table"},
		{"two tables", goka.DefineGroup("g", goka.Input("in", new(codec.String), cb), goka.Persist(new(codec.String)), goka.Persist(new(codec.String))), nil, "more than one group table"},
		{"visitor without table", goka.DefineGroup("g", goka.Input("in", new(codec.String), cb), goka.Visitor("v", cb)), nil, "stateless"},
		{"nil storage", goka.DefineGroup("g", goka.Input("in", new(codec.String), cb)), []goka.ProcessorOption{goka.WithStorageBuilder(nil)}, "StorageBuilder not set (WithStorageBuilder)"},
		{"empty group", goka.DefineGroup("", goka.Input("in", new(codec.String), cb)), nil, "empty group name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := goka.NewProcessor([]string{"127.0.0.1:1"}, tt.graph, tt.opts...)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
	_, err := goka.NewProcessor(nil, countGraph("g", "in"))
	require.ErrorIs(t, err, goka.ErrNoBrokers)
}

func TestDefineGroupPanics(t *testing.T) {
	cb := func(ctx goka.Context, msg interface{}) {}
	require.PanicsWithValue(t, `goka: DefineGroup: duplicate input topic "a"`, func() {
		goka.DefineGroup("g", goka.Input("a", new(codec.String), cb), goka.Input("a", new(codec.String), cb))
	})
	require.Panics(t, func() { goka.DefineGroup("g", goka.Input("", new(codec.String), cb)) })
}

var _ = errors.New
var _ = strings.Contains
