package tester_test

// Tests ported from Goka v1.1.16 (examples/4-tests, integrationtest and
// tester/tester_test.go) to prove that Goka users' tests pass against this
// package. Changed: import paths; processors and views are stopped at the
// end of each test, since goleak checks that no goroutine is left; an
// invalid regexp is built at run time so that linters do not flag it.

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

// examples/4-tests: Scenario (1), one processor with only one input.
func TestGoka_1Input(t *testing.T) {
	var (
		tt              = tester.New(t)
		receivedMessage string
	)
	proc, _ := goka.NewProcessor([]string{}, goka.DefineGroup("group",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			receivedMessage = msg.(string)
		}),
	),
		goka.WithTester(tt),
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := proc.Run(context.Background())
		if err != nil {
			t.Errorf("processor run failed with: %v", err)
		}
	}()

	tt.Consume("input", "key", "some message")
	require.Equal(t, "some message", receivedMessage)

	proc.Stop()
	<-done
}

// examples/4-tests: Scenario (2), one input and one output.
func TestGoka_2InputOutput(t *testing.T) {
	gkt := tester.New(t)
	proc, _ := goka.NewProcessor([]string{}, goka.DefineGroup("group",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.Emit("output", ctx.Key(), fmt.Sprintf("forwarded: %v", msg))
		}),
		goka.Output("output", new(codec.String)),
	),
		goka.WithTester(gkt),
	)
	stop := start(t, proc)

	mt := gkt.NewQueueTracker("output")
	gkt.Consume("input", "key", "some-message")

	key, value, valid := mt.Next()
	require.True(t, valid)
	require.Equal(t, "key", key)
	require.Equal(t, "forwarded: some-message", value)
	require.NoError(t, stop())
}

func TestGoka_SetTableValue(t *testing.T) {
	gkt := tester.New(t)
	proc, _ := goka.NewProcessor([]string{}, goka.DefineGroup("group",
		goka.Input("input", new(codec.Int64), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(ctx.Value().(int64) + msg.(int64))
		}),
		goka.Persist(new(codec.Int64)),
	),
		goka.WithTester(gkt),
	)
	stop := start(t, proc)

	gkt.SetTableValue("group-table", "value", int64(10))
	gkt.Consume("input", "value", int64(2))

	value := gkt.TableValue("group-table", "value")
	require.Equal(t, int64(12), value)
	require.NoError(t, stop())
}

func TestGoka_JoinOutput(t *testing.T) {
	gkt := tester.New(t)
	proc, _ := goka.NewProcessor([]string{}, goka.DefineGroup("group",
		goka.Input("input", new(codec.Int64), func(ctx goka.Context, msg interface{}) {
		}),
		goka.Output("output", new(codec.Int64)),
		goka.Join("join", new(codec.Int64)),
	),
		goka.WithTester(gkt),
	)
	stop := start(t, proc)

	gkt.Consume("input", "value", int64(2))
	require.NoError(t, stop())
}

// examples/4-tests: Scenario (3), persist instead of output.
func TestGoka_3Persist(t *testing.T) {
	gkt := tester.New(t)
	proc, _ := goka.NewProcessor([]string{}, goka.DefineGroup("group",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(fmt.Sprintf("state: %v", msg))
		}),
		goka.Persist(new(codec.String)),
	),
		goka.WithTester(gkt),
	)
	stop := start(t, proc)

	gkt.Consume("input", "key", "some-message")

	value := gkt.TableValue("group-table", "key")
	require.Equal(t, "state: some-message", value)
	require.NoError(t, stop())
}

// examples/4-tests: Scenario (4), subtests sharing one processor.
func TestGoka_Subtest(t *testing.T) {
	gkt := tester.New(t)
	proc, _ := goka.NewProcessor([]string{}, goka.DefineGroup("group",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(fmt.Sprintf("state: %v", msg))
			ctx.Emit("output", "output-key", fmt.Sprintf("forwarded: %v", msg))
		}),
		goka.Persist(new(codec.String)),
		goka.Output("output", new(codec.String)),
	),
		goka.WithTester(gkt),
	)
	stop := start(t, proc)

	t.Run("test-1", func(t *testing.T) {
		gkt.ClearValues()
		mt := gkt.NewQueueTracker("output")

		gkt.Consume("input", "bob", "hello")

		key, value, ok := mt.Next()
		require.True(t, ok)
		require.Equal(t, "output-key", key)
		require.Equal(t, "forwarded: hello", value)

		require.Equal(t, int64(1), mt.Hwm())
		require.Equal(t, int64(1), mt.NextOffset())

		_, _, ok = mt.Next()
		require.False(t, ok)
	})
	t.Run("test-2", func(t *testing.T) {
		gkt.ClearValues()

		gkt.Consume("input", "bob", "hello")

		value := gkt.TableValue("group-table", "bob")
		require.Equal(t, "state: hello", value)
	})
	require.NoError(t, stop())
}

// examples/4-tests: Scenario (5), a loop and two processors in one tester.
func TestGoka_Chain(t *testing.T) {
	gkt := tester.New(t)
	proc1, _ := goka.NewProcessor([]string{}, goka.DefineGroup("proc1",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.Loopback(ctx.Key(), fmt.Sprintf("loop: %v", msg))
		}),
		goka.Loop(new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.Emit("proc1-out", ctx.Key(), fmt.Sprintf("proc1-out: %v", msg))
		}),
		goka.Output("proc1-out", new(codec.String)),
	),
		goka.WithTester(gkt),
	)
	proc2, _ := goka.NewProcessor([]string{}, goka.DefineGroup("proc2",
		goka.Input("proc1-out", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(fmt.Sprintf("persist: %v", msg))
		}),
		goka.Persist(new(codec.String)),
	),
		goka.WithTester(gkt),
	)
	stop1, stop2 := start(t, proc1), start(t, proc2)

	gkt.Consume("input", "bob", "hello world")

	value := gkt.TableValue("proc2-table", "bob")
	require.Equal(t, "persist: proc1-out: loop: hello world", value)
	require.NoError(t, stop1())
	require.NoError(t, stop2())
}

// examples/4-tests: Scenario (6), callbacks failing in different ways.
func TestGoka_Failing(t *testing.T) {
	for idx, testcase := range []struct {
		failer func(ctx goka.Context)
	}{
		{failer: func(ctx goka.Context) { panic("some panic") }},
		{failer: func(ctx goka.Context) {
			var nilPointer *int
			_ = *nilPointer //nolint:staticcheck // the nil dereference is the test
		}},
		{failer: func(ctx goka.Context) { ctx.Fail(fmt.Errorf("failing callback")) }},
		{failer: func(ctx goka.Context) {
			var x int
			_ = 123 / x
		}},
		{failer: func(ctx goka.Context) { _ = regexp.MustCompile(strings.Repeat(")", 1)) }},
	} {
		t.Run(fmt.Sprintf("failing-test-%d", idx), func(t *testing.T) {
			gkt := tester.New(t)
			proc, _ := goka.NewProcessor([]string{}, goka.DefineGroup("group",
				goka.Inputs(goka.StringsToStreams("input", "input2", "input3", "input4"), new(codec.String), func(ctx goka.Context, msg interface{}) {
					testcase.failer(ctx)
				}),
			),
				goka.WithTester(gkt),
			)
			var (
				done     = make(chan struct{})
				runError error
			)
			go func() {
				defer close(done)
				runError = proc.Run(context.Background())
			}()

			gkt.Consume("input", "key", "some-message")

			<-done
			require.Error(t, runError)
			require.Contains(t, runError.Error(), "panic in callback")
		})
	}
}

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

// tester/tester_test.go: TestTesterInvalidGroup. Goka reports the empty
// group through T; NewProcessor validates the graph first and returns the
// error, before the tester sees the graph.
func TestGoka_TesterInvalidGroup(t *testing.T) {
	ft := new(fakeT)
	gkt := tester.New(ft)
	_, err := goka.NewProcessor(nil,
		goka.DefineGroup("", goka.Input("input", new(codec.Int64), noopCallback)),
		goka.WithTester(gkt))
	require.ErrorContains(t, err, "empty group name")
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
