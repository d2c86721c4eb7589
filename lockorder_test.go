package goka_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
)

// A callback that calls Processor.Get and Stats while a second instance
// joins must not deadlock the rebalance (issue 13, item 1.1): Cleanup used
// to hold the processor's lock while it waited for the partition goroutine
// running that callback, and Get waits for the same lock. The callback
// blocks until its session ends, that is until the rebalance has begun, and
// then reads keys of every partition. With the old lock it hung there for
// good; the hang guards below turn that into a failure.
func TestRebalanceCallbackCallsProcessor(t *testing.T) {
	brokers := cluster(t, map[string]int{"input": 10})
	var (
		p1        *goka.Processor
		entered   = make(chan struct{})
		returned  = make(chan struct{})
		getErr    error // written before returned is closed
		blockOnce atomic.Bool
		assigned  [2]atomic.Int64
	)
	keys := make([]string, 50)
	for i := range keys {
		keys[i] = key(i)
	}
	graph := goka.DefineGroup("lockorder",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			if msg.(string) == "block" && blockOnce.CompareAndSwap(false, true) {
				close(entered)
				<-ctx.Context().Done() // the rebalance has begun
				// Keep reading for a second: Cleanup starts waiting for
				// this goroutine meanwhile, which is when the old lock
				// deadlocked.
				var errs []error
				for end := time.Now().Add(time.Second); time.Now().Before(end); {
					for _, k := range keys {
						if _, err := p1.Get(k); err != nil && !errors.Is(err, goka.ErrPartitionNotHeld) {
							errs = append(errs, err)
						}
					}
					_ = p1.Stats()
				}
				getErr = errors.Join(errs...)
				close(returned)
			}
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	newProc := func(i int) *goka.Processor {
		p, err := goka.NewProcessor(brokers, graph, procOpts(t, "",
			goka.WithRebalanceCallback(func(a goka.Assignment) { assigned[i].Store(int64(len(a))) }))...)
		require.NoError(t, err)
		return p
	}
	p1 = newProc(0)
	r1 := run(t, p1.Run)
	require.NoError(t, p1.WaitForReady())
	emitCounts(t, brokers, "input", 200, 20)
	e := emitter(t, brokers, "input", new(codec.String))
	require.NoError(t, e.EmitSync(key(0), "block"))
	require.NoError(t, e.Finish())
	select {
	case <-entered:
	case <-time.After(60 * time.Second):
		t.Fatal("callback not called")
	}

	p2 := newProc(1)
	r2 := run(t, p2.Run)
	select {
	case <-returned:
	case <-time.After(60 * time.Second):
		t.Fatal("deadlock: the callback's Processor.Get did not return during the rebalance")
	}
	require.NoError(t, getErr, "Get during the rebalance")
	eventually(t, 60*time.Second, func() bool {
		return assigned[0].Load() == 5 && assigned[1].Load() == 5
	}, "partitions not split: %d/%d", assigned[0].Load(), assigned[1].Load())
	require.NoError(t, p1.WaitForReady())
	require.NoError(t, p2.WaitForReady())
	require.NoError(t, r2.stop(t))
	require.NoError(t, r1.stop(t))
}

// Get and VisitAll tell a processor that is not running from one that does
// not hold the key's partition (issue 13, item 1.9).
func TestProcessorNotRunning(t *testing.T) {
	brokers := cluster(t, map[string]int{"input": 2})
	graph := goka.DefineGroup("notrunning",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) { ctx.SetValue(int64(1)) }),
		goka.Visitor("visit", func(ctx goka.Context, meta interface{}) {}),
		goka.Persist(new(codec.Int64)),
	)
	p, err := goka.NewProcessor(brokers, graph, procOpts(t, "")...)
	require.NoError(t, err)

	_, err = p.Get("k")
	require.ErrorIs(t, err, goka.ErrNotRunning, "before Run")
	require.ErrorIs(t, p.VisitAll(context.Background(), "visit", nil), goka.ErrNotRunning, "VisitAll before Run")

	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	e := emitter(t, brokers, "input", new(codec.String))
	require.NoError(t, e.EmitSync("k", "v"))
	require.NoError(t, e.Finish())
	eventually(t, 30*time.Second, func() bool { v, err := p.Get("k"); return err == nil && v != nil }, "k not processed")
	n, err := p.VisitAllWithStats(context.Background(), "visit", nil)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)

	require.NoError(t, r.stop(t))
	_, err = p.Get("k")
	require.ErrorIs(t, err, goka.ErrNotRunning, "after Run returned")
	require.NotErrorIs(t, err, goka.ErrPartitionNotHeld)
	require.ErrorIs(t, p.VisitAll(context.Background(), "visit", nil), goka.ErrNotRunning, "VisitAll after Run returned")
}

// InputStats.OffsetLag is the distance to the claim's high-water mark
// (issue 13, item 1.4; it was always 0).
func TestProcessorOffsetLag(t *testing.T) {
	brokers := cluster(t, map[string]int{"input": 1})
	const n = 100
	e := emitter(t, brokers, "input", new(codec.String))
	for i := 0; i < n; i++ {
		require.NoError(t, e.EmitSync(key(i), "v"))
	}
	require.NoError(t, e.Finish())

	blocked, release := make(chan struct{}), make(chan struct{})
	graph := goka.DefineGroup("lag",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			if ctx.Offset() == 10 {
				close(blocked)
				<-release
			}
		}),
	)
	p, err := goka.NewProcessor(brokers, graph, procOpts(t, "")...)
	require.NoError(t, err)
	r := run(t, p.Run)
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // runs before run's cleanup stops the processor
	select {
	case <-blocked:
	case <-time.After(60 * time.Second):
		t.Fatal("message 10 not processed")
	}
	in := p.Stats().Group[0].Input["input"]
	require.NotNil(t, in)
	require.Equal(t, int64(10), in.LastOffset)
	// The fetch that brought offset 10 reported the high-water mark n.
	require.Equal(t, int64(n-10-1), in.OffsetLag)
	unblock()
	eventually(t, 30*time.Second, func() bool {
		in := p.Stats().Group[0].Input["input"]
		return in.LastOffset == n-1 && in.OffsetLag == 0
	}, "lag not 0 at the end")
	require.NoError(t, r.stop(t))
}
