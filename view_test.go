package goka_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/storage"
)

func TestViewFollowsAndIterates(t *testing.T) {
	brokers := cluster(t, map[string]int{"v-table": 5})
	e := emitter(t, brokers, "v-table", new(codec.String))
	for i := 0; i < 100; i++ {
		require.NoError(t, e.EmitSync(key(i), "first"))
	}

	v, err := goka.NewView(brokers, "v-table", new(codec.String), viewOpts(t, "")...)
	require.NoError(t, err)
	require.Equal(t, goka.ViewStateIdle, v.CurrentState())
	require.Empty(t, v.Partitions(), "no partitions known before Run")
	require.Equal(t, "v-table", v.Topic())
	_, err = v.Get(key(0))
	require.ErrorIs(t, err, goka.ErrNotRunning, "Get before Run")

	obs := v.ObserveStateChanges()
	var states []goka.ViewState
	statesDone := make(chan struct{})
	go func() {
		defer close(statesDone)
		for s := range obs.C() {
			states = append(states, goka.ViewState(s))
		}
	}()

	r := run(t, v.Run)
	<-v.WaitRunning()
	require.True(t, v.Recovered())
	require.Equal(t, goka.ViewStateRunning, v.CurrentState())
	require.Equal(t, []int32{0, 1, 2, 3, 4}, v.Partitions())
	val, err := v.Get(key(7))
	require.NoError(t, err)
	require.Equal(t, "first", val)
	ok, err := v.Has(key(7))
	require.NoError(t, err)
	require.True(t, ok)
	missing, err := v.Get("missing")
	require.NoError(t, err)
	require.Nil(t, missing)

	// Follows updates and deletes.
	require.NoError(t, e.EmitSync(key(7), "second"))
	require.NoError(t, e.EmitSync(key(8), nil))
	eventually(t, 30*time.Second, func() bool {
		a, _ := v.Get(key(7))
		b, _ := v.Has(key(8))
		return a == "second" && !b
	}, "view did not follow")

	// The iterator covers every partition in key order.
	it, err := v.Iterator()
	require.NoError(t, err)
	var keys []string
	for it.Next() {
		keys = append(keys, it.Key())
		val, err := it.Value()
		require.NoError(t, err)
		require.NotNil(t, val)
	}
	require.NoError(t, it.Err())
	it.Release()
	require.Len(t, keys, 99)
	require.IsIncreasing(t, keys)

	it, err = v.IteratorWithRange(key(10), key(20))
	require.NoError(t, err)
	n := 0
	for it.Next() {
		n++
	}
	it.Release()
	require.Equal(t, 10, n)

	stats := v.Stats(context.Background())
	require.Len(t, stats.Partitions, 5)

	require.NoError(t, v.Close())
	require.NoError(t, r.stop(t))
	obs.Stop()
	<-statesDone
	require.Contains(t, states, goka.ViewStateCatchUp)
	require.Contains(t, states, goka.ViewStateRunning)
	require.Equal(t, goka.ViewStateIdle, states[len(states)-1])
	require.ErrorIs(t, v.Run(context.Background()), goka.ErrAlreadyRunning)
}

func TestViewMissingTopic(t *testing.T) {
	brokers := cluster(t, nil)
	for _, tc := range []struct {
		name   string
		wait   time.Duration
		waited bool // the error says how long the view waited
	}{
		{name: "no wait", wait: 0},
		{name: "bounded wait", wait: 300 * time.Millisecond, waited: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := goka.NewView(brokers, "nope-table", new(codec.String), viewOpts(t, "", goka.WithViewTopicWait(tc.wait))...)
			require.NoError(t, err)
			err = v.Run(context.Background())
			require.ErrorIs(t, err, goka.ErrTopicNotFound)
			require.ErrorContains(t, err, "requested topic was not found")
			if tc.waited {
				require.ErrorContains(t, err, "waited")
			} else {
				require.NotContains(t, err.Error(), "waited")
			}
		})
	}
	t.Run("negative wait", func(t *testing.T) {
		_, err := goka.NewView(brokers, "nope-table", new(codec.String), goka.WithViewTopicWait(-time.Second))
		require.ErrorContains(t, err, "TopicWait must be >= 0, got -1s (WithViewTopicWait)")
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		v, err := goka.NewView(brokers, "nope-table", new(codec.String), viewOpts(t, "")...)
		require.NoError(t, err)
		r := run(t, v.Run)
		require.Eventually(t, func() bool { return v.CurrentState() == goka.ViewStateConnecting }, 10*time.Second, 10*time.Millisecond)
		require.NoError(t, r.stop(t))
	})
}

// A view started before the processor that creates its table topic waits
// for the topic (Goka's NewProcessor creates it before NewView runs).
func TestViewWaitsForProcessorTable(t *testing.T) {
	brokers := cluster(t, map[string]int{"vw-input": 4})
	v, err := goka.NewView(brokers, goka.GroupTable("vw"), new(codec.Int64), viewOpts(t, "")...)
	require.NoError(t, err)
	vr := run(t, v.Run)
	require.Eventually(t, func() bool { return v.CurrentState() == goka.ViewStateConnecting }, 10*time.Second, 10*time.Millisecond)

	p, err := goka.NewProcessor(brokers, countGraph("vw", "vw-input"), procOpts(t, "")...)
	require.NoError(t, err)
	pr := run(t, p.Run)
	<-v.WaitRunning()
	require.Len(t, v.Partitions(), 4)
	want := emitCounts(t, brokers, "vw-input", 100, 10)
	waitCounts(t, v.Get, want)
	require.NoError(t, pr.stop(t))
	require.NoError(t, vr.stop(t))
}

func TestViewResumesFromLocalOffset(t *testing.T) {
	brokers := cluster(t, map[string]int{"r-table": 2})
	dir := t.TempDir()
	e := emitter(t, brokers, "r-table", new(codec.String))
	for i := 0; i < 200; i++ {
		_, err := e.Emit(key(i), "x")
		require.NoError(t, err)
	}
	require.NoError(t, e.EmitSync("last", "x"))

	applied := func(v *goka.View) uint {
		var n uint
		for _, s := range v.Stats(context.Background()).Partitions {
			n += s.Input.Count
		}
		return n
	}
	v, err := goka.NewView(brokers, "r-table", new(codec.String), viewOpts(t, dir)...)
	require.NoError(t, err)
	r := run(t, v.Run)
	<-v.WaitRunning()
	require.Equal(t, uint(201), applied(v))
	require.NoError(t, r.stop(t))

	require.NoError(t, e.EmitSync("after", "y"))
	v, err = goka.NewView(brokers, "r-table", new(codec.String), viewOpts(t, dir)...)
	require.NoError(t, err)
	r = run(t, v.Run)
	<-v.WaitRunning()
	require.Equal(t, uint(1), applied(v), "only the record written after the stop is read")
	val, err := v.Get("after")
	require.NoError(t, err)
	require.Equal(t, "y", val)
	require.NoError(t, r.stop(t))
}

// Two views of one table in one process with the default storage must not
// clash on the LevelDB lock (Goka shares /tmp/goka/view between them).
func TestTwoViewsDefaultStorage(t *testing.T) {
	table := fmt.Sprintf("twin-%d-table", time.Now().UnixNano())
	brokers := cluster(t, map[string]int{table: 1})
	t.Cleanup(func() {
		for _, pattern := range []string{"*", "*/*"} {
			matches, _ := filepath.Glob(filepath.Join(goka.DefaultViewStoragePath(), pattern))
			for _, m := range matches {
				if strings.HasPrefix(filepath.Base(m), table) {
					_ = os.RemoveAll(m)
				}
			}
		}
	})
	require.NoError(t, emitter(t, brokers, table, new(codec.String)).EmitSync("k", "v"))
	var views []*goka.View
	for i := 0; i < 2; i++ {
		v, err := goka.NewView(brokers, goka.Table(table), new(codec.String),
			goka.WithViewTopicManagerBuilder(tmBuilder()), goka.WithViewLogger(testLogger{}))
		require.NoError(t, err)
		run(t, v.Run)
		views = append(views, v)
	}
	for _, v := range views {
		select {
		case <-v.WaitRunning():
		case <-time.After(30 * time.Second):
			t.Fatal("view not running")
		}
		val, err := v.Get("k")
		require.NoError(t, err)
		require.Equal(t, "v", val)
		require.NoError(t, v.Close())
	}
}

func TestEmitter(t *testing.T) {
	brokers := cluster(t, map[string]int{"emit": 3})
	e, err := goka.NewEmitter(brokers, "emit", new(codec.Int64),
		goka.WithEmitterDefaultHeaders(goka.Headers{"src": []byte("test")}))
	require.NoError(t, err)

	_, err = e.Emit("k", "not an int64")
	require.Error(t, err, "encode error is returned")

	p, err := e.Emit("k", int64(1))
	require.NoError(t, err)
	done := make(chan error, 1)
	p.Then(func(err error) { done <- err })
	require.NoError(t, <-done)
	require.NoError(t, e.EmitSyncWithHeaders("k", int64(2), goka.Headers{"x": []byte("y")}))
	require.NoError(t, e.EmitSync("tomb", nil))

	require.NoError(t, e.Finish())
	p, err = e.Emit("k", int64(3))
	require.NoError(t, err)
	p.Then(func(err error) { done <- err })
	require.ErrorIs(t, <-done, goka.ErrEmitterAlreadyClosed)
	require.NoError(t, e.Finish(), "second Finish is harmless")

	got, count := readTopic(t, brokers, "emit")
	require.Equal(t, 3, count)
	require.Equal(t, "2", string(got["k"]))
	require.Nil(t, got["tomb"])
}

// Keys land on the partitions Goka's hasher picks (goka-api.md §1.10).
func TestEmitterPartitioning(t *testing.T) {
	brokers := cluster(t, map[string]int{"ten": 10})
	e := emitter(t, brokers, "ten", new(codec.String))
	want := map[string]int32{"": 5, "a": 6, "user-1": 6, "key1": 3, "key2": 2}
	for k := range want {
		require.NoError(t, e.EmitSync(k, "v"))
	}
	got := partitionsOf(t, brokers, "ten")
	for k, p := range want {
		require.Equal(t, p, got[k], "partition of %q", k)
	}
}

// recordingLogger keeps the lines logged.
type recordingLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *recordingLogger) Print(v ...interface{})   { l.add(fmt.Sprint(v...)) }
func (l *recordingLogger) Println(v ...interface{}) { l.add(fmt.Sprintln(v...)) }
func (l *recordingLogger) Printf(format string, v ...interface{}) {
	l.add(fmt.Sprintf(format, v...))
}

func (l *recordingLogger) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *recordingLogger) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *recordingLogger) contains(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// A user waiting on a large table sees recovery move: Stats report the
// applied offset and the offset recovery runs to, and the logger says
// where each partition starts and when it is done.
func TestViewRecoveryProgress(t *testing.T) {
	brokers := cluster(t, map[string]int{"progress-table": 1})
	e := emitter(t, brokers, "progress-table", new(codec.String))
	for i := 0; i < 300; i++ {
		require.NoError(t, e.EmitSync(key(i), "v"))
	}

	// The update callback stops at the 101st record until released, so the
	// test looks at a recovery in the middle.
	var (
		applied atomic.Int64
		reached = make(chan struct{})
		release = make(chan struct{})
	)
	update := func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		if applied.Add(1) == 101 {
			close(reached)
			<-release
		}
		return goka.DefaultUpdate(ctx, s, key, value)
	}
	log := &recordingLogger{}
	v, err := goka.NewView(brokers, "progress-table", new(codec.String),
		viewOpts(t, "", goka.WithViewCallback(update), goka.WithViewLogger(log))...)
	require.NoError(t, err)
	r := run(t, v.Run)
	<-reached

	st := v.Stats(context.Background()).Partitions[0]
	require.NotNil(t, st)
	require.Equal(t, goka.PartitionRecovering, st.Status)
	require.Equal(t, int64(300), st.Recovery.Hwm, "recovery runs to the high-water mark")
	require.Equal(t, int64(99), st.Recovery.Offset, "100 records applied, offsets 0-99")
	require.True(t, log.contains("goka: recovering progress-table/0 from offset"), "start of recovery logged: %q", log.all())
	require.True(t, log.contains("(300 records)"), "records to do logged: %q", log.all())
	require.False(t, v.Recovered())

	close(release)
	<-v.WaitRunning()
	st = v.Stats(context.Background()).Partitions[0]
	require.Equal(t, int64(299), st.Recovery.Offset)
	require.False(t, st.Recovery.RecoveryTime.IsZero(), "recovery time set")
	eventually(t, 5*time.Second, func() bool { return log.contains("goka: recovered progress-table/0: 300 records") },
		"end of recovery logged: %q", log.all())
	require.NoError(t, r.stop(t))
}
