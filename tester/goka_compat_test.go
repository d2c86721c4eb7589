package tester_test

// Tests ported from Goka v1.1.16 (integrationtest and tester/tester_test.go)
// to prove that Goka users' tests pass against this package; Goka's
// examples/4-tests runs unchanged in examples/4-tests. Changed: import
// paths; processors and views are stopped at the end of each test, since
// goleak checks that no goroutine is left; TestGoka_ErrorCallback also runs
// the failing callbacks of examples/4-tests' Test_Failing and checks that
// they are reported as panics, with the invalid regexp built at run time so
// that linters do not flag it.

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/tester"
)

type failingDecode struct {
	codec goka.Codec
}

func (fc *failingDecode) Decode(_ []byte) (interface{}, error) {
	return nil, fmt.Errorf("error decoding")
}

func (fc *failingDecode) Encode(msg interface{}) ([]byte, error) {
	return fc.codec.Encode(msg)
}

// integrationtest: TestErrorCallback.
func TestGoka_ErrorCallback(t *testing.T) {
	for _, tcase := range []struct {
		name    string
		consume func(ctx goka.Context, msg interface{})
		codec   goka.Codec
		// panics: Run's error also says "panic in callback" (the cases
		// of examples/4-tests' Test_Failing).
		panics bool
	}{
		{
			name:    "panic",
			consume: func(ctx goka.Context, msg interface{}) { panic("failing") },
			codec:   new(codec.Int64),
		},
		{
			name:    "decode",
			consume: func(ctx goka.Context, msg interface{}) {},
			codec:   &failingDecode{codec: new(codec.Int64)},
		},
		{
			name:    "invalid-context-op",
			consume: func(ctx goka.Context, msg interface{}) { ctx.SetValue(0) },
			codec:   new(codec.Int64),
		},
		{
			name:    "failing-panic",
			consume: func(ctx goka.Context, msg interface{}) { panic("some panic") },
			codec:   new(codec.Int64),
			panics:  true,
		},
		{
			name: "failing-nil-pointer",
			consume: func(ctx goka.Context, msg interface{}) {
				var nilPointer *int
				_ = *nilPointer //nolint:staticcheck // the nil dereference is the test
			},
			codec:  new(codec.Int64),
			panics: true,
		},
		{
			name:    "failing-ctx-fail",
			consume: func(ctx goka.Context, msg interface{}) { ctx.Fail(fmt.Errorf("failing callback")) },
			codec:   new(codec.Int64),
			panics:  true,
		},
		{
			name: "failing-div-by-zero",
			consume: func(ctx goka.Context, msg interface{}) {
				var x int
				_ = 123 / x
			},
			codec:  new(codec.Int64),
			panics: true,
		},
		{
			name:    "failing-regexp",
			consume: func(ctx goka.Context, msg interface{}) { _ = regexp.MustCompile(strings.Repeat(")", 1)) },
			codec:   new(codec.Int64),
			panics:  true,
		},
	} {
		t.Run(tcase.name, func(t *testing.T) {
			gkt := tester.New(t)
			proc, _ := goka.NewProcessor(nil,
				goka.DefineGroup("test", goka.Input("input-topic", tcase.codec, tcase.consume)),
				goka.WithTester(gkt),
			)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var (
				err  error
				done = make(chan struct{})
			)
			go func() {
				defer close(done)
				err = proc.Run(ctx)
			}()

			gkt.Consume("input-topic", "a", int64(123))

			select {
			case <-done:
				require.Error(t, err)
				require.True(t, strings.Contains(err.Error(), "error processing message"))
				if tcase.panics {
					require.Contains(t, err.Error(), "panic in callback")
				}
			case <-time.After(10 * time.Second):
				t.Errorf("processor did not shut down as expected")
			}
		})
	}
}

// integrationtest: TestHeaders.
func TestGoka_Headers(t *testing.T) {
	var (
		gkt              = tester.New(t)
		processorHeaders goka.Headers
		outputHeaders    goka.Headers
	)
	proc, _ := goka.NewProcessor([]string{}, goka.DefineGroup("group",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			processorHeaders = ctx.Headers()
			ctx.Emit("output", ctx.Key(), fmt.Sprintf("forwarded: %v", msg),
				goka.WithCtxEmitHeaders(goka.Headers{
					"Header1": []byte("to output1"),
					"Header2": []byte("to output2"),
				}),
				goka.WithCtxEmitHeaders(goka.Headers{
					"Header2": []byte("to output2b"),
					"Header3": []byte("to output3"),
				}),
			)
		}),
		goka.Output("output", new(codec.String)),
	),
		goka.WithTester(gkt),
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := proc.Run(ctx); err != nil {
			t.Errorf("error running processor: %v", err)
		}
	}()

	mt := gkt.NewQueueTracker("output")
	gkt.Consume("input", "key", "some-message",
		tester.WithHeaders(goka.Headers{
			"Header1": []byte("value 1"),
			"Header2": []byte("value 2"),
		}),
		tester.WithHeaders(goka.Headers{
			"Header2": []byte("value 2b"),
			"Header3": []byte("value 3"),
		}),
	)

	outputHeaders, key, value, valid := mt.NextWithHeaders()
	require.True(t, valid)
	require.Equal(t, key, "key")
	require.Equal(t, value, "forwarded: some-message")

	require.Equal(t, string(outputHeaders["Header1"]), "to output1")
	require.Equal(t, string(outputHeaders["Header2"]), "to output2b")
	require.Equal(t, string(outputHeaders["Header3"]), "to output3")

	require.Equal(t, string(processorHeaders["Header1"]), "value 1")
	require.Equal(t, string(processorHeaders["Header2"]), "value 2b")
	require.Equal(t, string(processorHeaders["Header3"]), "value 3")

	cancel()
	<-done
}

// integrationtest: TestProcessorVisit.
func TestGoka_ProcessorVisit(t *testing.T) {
	gkt := tester.New(t)
	proc, _ := goka.NewProcessor(nil,
		goka.DefineGroup(
			"test",
			goka.Input("input-topic", new(codec.Int64), func(ctx goka.Context, msg interface{}) {
				ctx.SetValue(msg)
			}),
			goka.Persist(new(codec.Int64)),
			goka.Output("output", new(codec.Int64)),
			goka.Visitor("reset", func(ctx goka.Context, msg interface{}) {
				ctx.Emit("output", ctx.Key(), msg)
				ctx.SetValue(msg)
			}),
		),
		goka.WithTester(gkt),
	)
	outputTracker := gkt.NewQueueTracker("output")

	var (
		done = make(chan struct{})
		err  error
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer close(done)
		err = proc.Run(ctx)
	}()

	gkt.Consume("input-topic", "a", int64(123))
	require.Equal(t, int64(123), gkt.TableValue("test-table", "a"))

	_, _, ok := outputTracker.Next()
	require.False(t, ok)

	visited, verr := proc.VisitAllWithStats(ctx, "reset", int64(15))
	require.NoError(t, verr)
	require.Equal(t, int64(1), visited)

	k, v, ok := outputTracker.Next()
	require.True(t, ok)
	require.Equal(t, "a", k)
	require.Equal(t, int64(15), v)
	require.Equal(t, int64(15), gkt.TableValue("test-table", "a"))

	cancel()
	<-done
	require.NoError(t, err)
}

type (
	gokaCtx = goka.Context
	wrapper struct {
		gokaCtx
		value int64
	}
)

func (w *wrapper) SetValue(value interface{}, options ...goka.ContextOption) {
	val := value.(int64)
	w.value = val
	w.gokaCtx.SetValue(val + 1)
}

// integrationtest: TestProcessorContextWrapper.
func TestGoka_ProcessorContextWrapper(t *testing.T) {
	gkt := tester.New(t)
	var w *wrapper
	proc, _ := goka.NewProcessor([]string{}, goka.DefineGroup("proc",
		goka.Input("input", new(codec.Int64), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(msg)
		}),
		goka.Visitor("visit", func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(msg.(int64))
		}),
		goka.Persist(new(codec.Int64)),
	),
		goka.WithTester(gkt),
		goka.WithContextWrapper(func(ctx goka.Context) goka.Context {
			w = &wrapper{gokaCtx: ctx}
			return w
		}),
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := proc.Run(ctx); err != nil {
			t.Errorf("error running processor: %v", err)
		}
	}()

	gkt.Consume("input", "key", int64(23))

	require.EqualValues(t, 23, w.value)
	require.EqualValues(t, 24, gkt.TableValue("proc-table", "key"))

	err := proc.VisitAll(ctx, "visit", int64(815))
	require.NoError(t, err)

	require.EqualValues(t, 815, w.value)
	require.EqualValues(t, 816, gkt.TableValue("proc-table", "key"))

	cancel()
	<-done
}

// integrationtest: TestView.
func TestGoka_View(t *testing.T) {
	t.Run("uninitialized_get", func(t *testing.T) {
		gkt := tester.New(t)

		view, err := goka.NewView(nil, "test", new(codec.String), goka.WithViewTester(gkt))
		require.NoError(t, err)

		val, err := view.Get("key")
		require.Error(t, err)
		require.Nil(t, val)

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := view.Run(ctx); err != nil {
				panic(err)
			}
		}()

		gkt.SetTableValue("test", "key", "value")

		val, err = view.Get("not-existent")
		require.NoError(t, err)
		require.Nil(t, val)

		val, err = view.Get("key")
		require.NoError(t, err)
		require.Equal(t, "value", val.(string))

		keys := gkt.GetTableKeys("test")
		require.Equal(t, []string{"key"}, keys)

		gkt.SetTableValue("test", "key2", "value")
		keys = gkt.GetTableKeys("test")
		require.Equal(t, []string{"key", "key2"}, keys)

		cancel()
		<-done
	})
}

// tester/tester_test.go: TestTesterConsume, with a T that fails the test
// instead of recording.
func TestGoka_TesterConsume(t *testing.T) {
	gkt := tester.New(t)
	var (
		value     string
		key       string
		timestamp time.Time
	)
	proc, err := goka.NewProcessor(nil,
		goka.DefineGroup("test", goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			value = msg.(string)
			key = ctx.Key()
			timestamp = ctx.Timestamp()
		})),
		goka.WithTester(gkt))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := proc.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	gkt.Consume("input", "some-key", "value")
	require.EqualValues(t, "some-key", key)
	require.EqualValues(t, "value", value)
	require.True(t, timestamp.IsZero())

	gkt.Consume("input", "anotherkey", "value", tester.WithTime(time.Unix(123, 0)))
	require.EqualValues(t, "anotherkey", key)
	require.EqualValues(t, "value", value)
	require.EqualValues(t, 123, timestamp.Unix())

	cancel()
	<-done
}

// tester/tester_test.go: TestTesterInvalidGroup. An invalid graph fails the
// test through the tester's T, as in Goka, and NewProcessor returns the
// error too.
func TestGoka_TesterInvalidGroup(t *testing.T) {
	for name, gg := range map[string]*goka.GroupGraph{
		"empty group": goka.DefineGroup("", goka.Input("input", new(codec.Int64), noopCallback)),
		"no input":    goka.DefineGroup("g", goka.Persist(new(codec.Int64))),
	} {
		t.Run(name, func(t *testing.T) {
			ft := new(fakeT)
			gkt := tester.New(ft)
			_, err := goka.NewProcessor(nil, gg, goka.WithTester(gkt))
			require.Error(t, err)
			ft.mu.Lock()
			defer ft.mu.Unlock()
			require.Len(t, ft.errors, 1)
			require.Contains(t, ft.errors[0], "invalid group graph")
		})
	}
}

// The exported API has Goka's signatures: this compiles only if it does.
func TestGoka_API(t *testing.T) {
	gkt := tester.New(t)
	mt := gkt.NewQueueTracker("topic")
	is[goka.Tester](gkt)
	is[func(string, string, interface{}, ...tester.EmitOption)](gkt.Consume)
	is[func()](gkt.Catchup)
	is[func()](gkt.ClearValues)
	is[func(goka.Table, string) interface{}](gkt.TableValue)
	is[func(goka.Table, string, interface{})](gkt.SetTableValue)
	is[func(goka.Table) []string](gkt.GetTableKeys)
	is[func(string) *tester.QueueTracker](gkt.NewQueueTracker)
	is[func(goka.Headers) tester.EmitOption](tester.WithHeaders)
	is[func(time.Time) tester.EmitOption](tester.WithTime)
	is[func(tester.T) *tester.Tester](tester.New)
	is[func(*tester.Tester, int, int) *tester.MockTopicManager](tester.NewMockTopicManager)
	is[goka.TopicManager](tester.NewMockTopicManager(gkt, 1, 1))
	is[tester.T](t)
	is[func() (string, interface{}, bool)](mt.Next)
	is[func() (goka.Headers, string, interface{}, bool)](mt.NextWithHeaders)
	is[func() (string, []byte, bool)](mt.NextRaw)
	is[func() (goka.Headers, string, []byte, bool)](mt.NextRawWithHeaders)
	is[func(int64)](mt.Seek)
	is[func() int64](mt.Hwm)
	is[func() int64](mt.NextOffset)

	var offset int64 = 3
	mt.Seek(offset)
	require.Equal(t, int64(3), mt.NextOffset())
}

// is compiles only if v is assignable to T.
func is[T any](v T) {}
