package goka_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
)

// recorder is an observer that implements every hook and records what it
// is told.
type recorder struct {
	mu         sync.Mutex
	procRuns   int
	procStops  int
	viewRuns   int
	viewStops  int
	messages   []goka.MessageInfo
	results    []goka.MessageResult
	produced   map[goka.ProduceKind][]goka.ProduceResult
	rebalances []goka.RebalanceInfo
	flushes    []goka.FlushInfo
	recovered  []goka.RecoveredInfo
	txns       []goka.TransactionInfo
	late       []goka.LateRecordInfo
}

type recorderKey struct{}

func newRecorder() *recorder {
	return &recorder{produced: map[goka.ProduceKind][]goka.ProduceResult{}}
}

func (r *recorder) OnProcessorRun(*goka.Processor)  { r.mu.Lock(); r.procRuns++; r.mu.Unlock() }
func (r *recorder) OnProcessorStop(*goka.Processor) { r.mu.Lock(); r.procStops++; r.mu.Unlock() }
func (r *recorder) OnViewRun(*goka.View)            { r.mu.Lock(); r.viewRuns++; r.mu.Unlock() }
func (r *recorder) OnViewStop(*goka.View)           { r.mu.Lock(); r.viewStops++; r.mu.Unlock() }

func (r *recorder) OnMessage(ctx context.Context, m goka.MessageInfo) (context.Context, func(goka.MessageResult)) {
	r.mu.Lock()
	r.messages = append(r.messages, m)
	r.mu.Unlock()
	return context.WithValue(ctx, recorderKey{}, m.Offset), func(res goka.MessageResult) {
		r.mu.Lock()
		r.results = append(r.results, res)
		r.mu.Unlock()
	}
}

func (r *recorder) OnProduce(ctx context.Context, m goka.ProduceInfo) (goka.Headers, func(goka.ProduceResult)) {
	hdr := m.Headers
	if m.Kind == goka.ProduceEmit {
		// What a tracer does: a new map with the context of ctx.
		hdr = m.Headers.Merged(goka.Headers{"x-observed-offset": fmt.Appendf(nil, "%v", ctx.Value(recorderKey{}))})
	}
	return hdr, func(res goka.ProduceResult) {
		r.mu.Lock()
		r.produced[m.Kind] = append(r.produced[m.Kind], res)
		r.mu.Unlock()
	}
}

func (r *recorder) OnRebalance(i goka.RebalanceInfo) {
	r.mu.Lock()
	r.rebalances = append(r.rebalances, i)
	r.mu.Unlock()
}
func (r *recorder) OnFlush(f goka.FlushInfo) {
	r.mu.Lock()
	r.flushes = append(r.flushes, f)
	r.mu.Unlock()
}
func (r *recorder) OnRecovered(i goka.RecoveredInfo) {
	r.mu.Lock()
	r.recovered = append(r.recovered, i)
	r.mu.Unlock()
}
func (r *recorder) OnTransaction(t goka.TransactionInfo) {
	r.mu.Lock()
	r.txns = append(r.txns, t)
	r.mu.Unlock()
}
func (r *recorder) OnLateRecord(l goka.LateRecordInfo) {
	r.mu.Lock()
	r.late = append(r.late, l)
	r.mu.Unlock()
}

func (r *recorder) locked(f func()) { r.mu.Lock(); defer r.mu.Unlock(); f() }

// TestObserverHooks runs an emitter, a processor and a view with one
// recorder and checks every hook against the workload: n messages in, each
// a table write and an emit.
func TestObserverHooks(t *testing.T) {
	const n = 30
	brokers := cluster(t, map[string]int{"obs-in": 2, "obs-out": 2})
	rec := newRecorder()
	var seenCtx sync.Map // offsets the callbacks found in ctx.Context()
	group := goka.Group("obs-group")
	proc, err := goka.NewProcessor(brokers, goka.DefineGroup(group,
		goka.Input("obs-in", new(codec.String), func(ctx goka.Context, msg interface{}) {
			if off, ok := ctx.Context().Value(recorderKey{}).(int64); ok && off == ctx.Offset() {
				seenCtx.Store(fmt.Sprint(ctx.Partition(), "/", off), true)
			}
			c, _ := ctx.Value().(int64)
			ctx.SetValue(c + 1)
			ctx.Emit("obs-out", ctx.Key(), msg)
		}),
		goka.Output("obs-out", new(codec.String)),
		goka.Persist(new(codec.Int64)),
	), procOpts(t, "", goka.WithObserver(rec), goka.WithStorageFlushInterval(20*time.Millisecond))...)
	require.NoError(t, err)
	pr := run(t, proc.Run)

	em, err := goka.NewEmitter(brokers, "obs-in", new(codec.String), goka.WithEmitterLogger(testLogger{}), goka.WithEmitterObserver(rec))
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, em.EmitSync(key(i%5), "v"))
	}
	require.NoError(t, em.Finish())

	eventually(t, 30*time.Second, func() bool {
		var done bool
		rec.locked(func() {
			done = len(rec.produced[goka.ProduceEmit]) == n && len(rec.produced[goka.ProduceTableWrite]) == n
		})
		return done
	}, "processor did not produce %d emits and table writes", n)

	view, err := goka.NewView(brokers, goka.GroupTable(group), new(codec.Int64), viewOpts(t, "", goka.WithViewObserver(rec))...)
	require.NoError(t, err)
	vr := run(t, view.Run)
	eventually(t, 30*time.Second, view.Recovered, "view did not recover")
	eventually(t, 10*time.Second, func() bool {
		var ok bool
		rec.locked(func() { ok = len(rec.flushes) > 0 })
		return ok
	}, "no flush observed")
	require.NoError(t, vr.stop(t))
	require.NoError(t, pr.stop(t))

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Equal(t, 1, rec.procRuns)
	require.Equal(t, 1, rec.procStops)
	require.Equal(t, 1, rec.viewRuns)
	require.Equal(t, 1, rec.viewStops)

	require.Len(t, rec.messages, n)
	require.Len(t, rec.results, n)
	offsets := map[int32][]int64{}
	for _, m := range rec.messages {
		require.Equal(t, group, m.Group)
		require.Equal(t, "obs-in", m.Topic)
		require.False(t, m.Timestamp.IsZero())
		require.Greater(t, m.HighWaterMark, m.Offset, "the high-water mark lies behind the message")
		offsets[m.Partition] = append(offsets[m.Partition], m.Offset)
	}
	total := 0
	for _, offs := range offsets {
		require.True(t, slices.IsSorted(offs), "messages of a partition in order")
		total += len(offs)
	}
	require.Equal(t, n, total)
	for _, res := range rec.results {
		require.NoError(t, res.Err)
		require.GreaterOrEqual(t, res.Duration, time.Duration(0))
	}
	got := 0
	seenCtx.Range(func(any, any) bool { got++; return true })
	require.Equal(t, n, got, "every callback sees the observer's context")

	require.Len(t, rec.produced[goka.ProduceEmitter], n)
	for kind, results := range rec.produced {
		for _, res := range results {
			require.NoError(t, res.Err, kind.String())
			require.GreaterOrEqual(t, res.Offset, int64(0), kind.String())
		}
	}
	require.Empty(t, rec.produced[goka.ProduceLoopback])

	// The observer's headers reached Kafka: the emit of the last message
	// of partition 0 carries the offset of its input message.
	hdr := readHeaders(t, brokers, "obs-out")
	require.Contains(t, hdr, "x-observed-offset")
	require.NotEqual(t, "<nil>", string(hdr["x-observed-offset"]))

	require.NotEmpty(t, rec.rebalances)
	first := rec.rebalances[0]
	require.Equal(t, group, first.Group)
	require.ElementsMatch(t, []int32{0, 1}, first.Assigned)
	require.Positive(t, first.Duration)

	for _, f := range rec.flushes {
		require.NoError(t, f.Err)
		require.Equal(t, "obs-group-table", f.Table)
	}
	// The group table's 2 partitions (empty: 0 records, reported all the
	// same) and the view's 2 (n records).
	var viewRecords int64
	byGroup := map[goka.Group]int{}
	for _, r := range rec.recovered {
		byGroup[r.Group]++
		if r.Group == "" {
			viewRecords += r.Records
		}
	}
	require.Equal(t, map[goka.Group]int{"": 2, group: 2}, byGroup, "recoveries by group")
	for _, r := range rec.recovered {
		if r.Group == group {
			require.Zero(t, r.Records, "records of the empty group table")
			require.False(t, r.Standby)
		}
	}
	require.Equal(t, int64(n), viewRecords)
}

func TestObserverReservedHooks(t *testing.T) {
	rec := newRecorder()
	goka.ObserveReserved(rec, goka.TransactionInfo{Group: "g", Committed: true}, goka.LateRecordInfo{Group: "g", Window: "w"})
	require.Equal(t, []goka.TransactionInfo{{Group: "g", Committed: true}}, rec.txns)
	require.Equal(t, []goka.LateRecordInfo{{Group: "g", Window: "w"}}, rec.late)
	// A value implementing no hook is no observer, and no failure.
	goka.ObserveReserved(struct{}{}, goka.TransactionInfo{}, goka.LateRecordInfo{})
}

func TestRecoveryProgress(t *testing.T) {
	start := time.Unix(1000, 0)
	for _, tc := range []struct {
		name      string
		stats     goka.RecoveryStats
		now       time.Time
		recovered bool
		want      goka.RecoveryProgress
	}{
		{"nothing stored, nothing done", goka.RecoveryStats{StartTime: start, Offset: -1, StartOffset: -1, Hwm: 100}, start.Add(time.Second), false,
			goka.RecoveryProgress{Done: 0, Remaining: 100, ETA: -1}},
		{"a quarter in 10 s", goka.RecoveryStats{StartTime: start, Offset: 24, StartOffset: -1, Hwm: 100}, start.Add(10 * time.Second), false,
			goka.RecoveryProgress{Done: 25, Remaining: 75, ETA: 30 * time.Second}},
		{"resumed from a stored offset", goka.RecoveryStats{StartTime: start, Offset: 79, StartOffset: 59, Hwm: 100}, start.Add(2 * time.Second), false,
			goka.RecoveryProgress{Done: 20, Remaining: 20, ETA: 2 * time.Second}},
		{"recovered", goka.RecoveryStats{StartTime: start, Offset: 99, StartOffset: -1, Hwm: 100}, start.Add(time.Second), true,
			goka.RecoveryProgress{Done: 100, Remaining: 0, ETA: 0}},
		{"recovered short of the hwm (markers)", goka.RecoveryStats{StartTime: start, Offset: 97, StartOffset: -1, Hwm: 100}, start.Add(time.Second), true,
			goka.RecoveryProgress{Done: 98, Remaining: 0, ETA: 0}},
		{"sentinel -3 as stored offset", goka.RecoveryStats{StartTime: start, Offset: -3, StartOffset: -3, Hwm: 3}, start.Add(time.Second), false,
			goka.RecoveryProgress{Done: 0, Remaining: 3, ETA: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.stats.Progress(tc.now, tc.recovered))
		})
	}
}

// countingStringer counts how often it was formatted.
type countingStringer struct{ n *int }

func (c countingStringer) String() string { *c.n++; return "x" }

func TestSlogLogger(t *testing.T) {
	var buf bytes.Buffer
	l := goka.SlogLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	l.Printf("goka: recovered %s/%d\n", "t", 3)
	l.Println("a", "b")
	l.Print("c")
	require.Equal(t, "level=INFO msg=\"goka: recovered t/3\"\nlevel=INFO msg=\"a b\"\nlevel=INFO msg=c\n", buf.String())

	// Below the handler's level nothing is formatted.
	formatted := 0
	quiet := goka.SlogLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	buf.Reset()
	quiet.Printf("%v", countingStringer{&formatted})
	quiet.Print(countingStringer{&formatted})
	quiet.Println(countingStringer{&formatted})
	require.Zero(t, formatted)
	require.Empty(t, buf.String())

	// nil is silent.
	goka.SlogLogger(nil).Printf("%v", countingStringer{&formatted})
	require.Zero(t, formatted)

	// The options take a *slog.Logger: NewView logs the deprecation of
	// WithViewRestartable through it.
	buf.Reset()
	_, err := goka.NewView([]string{"127.0.0.1:1"}, "slog-table", new(codec.String),
		goka.WithViewRestartable(), goka.WithViewSlogLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	require.NoError(t, err)
	require.Contains(t, buf.String(), "level=INFO")
	require.Contains(t, strings.ToLower(buf.String()), "restartable")
}
