package tester_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/tester"
)

// counter counts the messages per key and reports every new count.
func counterGraph(group goka.Group) *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input("clicks", new(codec.String), func(ctx goka.Context, msg interface{}) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			n++
			ctx.SetValue(n)
			ctx.Emit("counts", ctx.Key(), fmt.Sprintf("%s=%d", msg, n))
		}),
		goka.Persist(new(codec.Int64)),
		goka.Output("counts", new(codec.String)),
	)
}

func TestPersistAndOutput(t *testing.T) {
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, counterGraph("counter"), goka.WithTester(gkt))
	require.NoError(t, err)
	stop := start(t, proc)

	counts := gkt.NewQueueTracker("counts")
	gkt.Consume("clicks", "alice", "a")
	gkt.Consume("clicks", "alice", "b")
	gkt.Consume("clicks", "bob", "c")

	require.Equal(t, int64(2), gkt.TableValue("counter-table", "alice"))
	require.Equal(t, int64(1), gkt.TableValue("counter-table", "bob"))
	require.Nil(t, gkt.TableValue("counter-table", "carol"))
	require.Equal(t, []string{"alice", "bob"}, gkt.GetTableKeys("counter-table"))

	for _, want := range []string{"a=1", "b=2", "c=1"} {
		_, v, ok := counts.Next()
		require.True(t, ok)
		require.Equal(t, want, v)
	}
	_, _, ok := counts.Next()
	require.False(t, ok)

	// The table topic holds every write, in order.
	table := gkt.NewQueueTracker("counter-table")
	table.Seek(0)
	var writes []string
	for {
		k, v, ok := table.Next()
		if !ok {
			break
		}
		writes = append(writes, fmt.Sprintf("%s:%d", k, v))
	}
	require.Equal(t, []string{"alice:1", "alice:2", "bob:1"}, writes)

	// Processor.Get reads the same storage.
	v, err := proc.Get("alice")
	require.NoError(t, err)
	require.Equal(t, int64(2), v)

	require.NoError(t, stop())
}

func TestJoinAndLookup(t *testing.T) {
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("greeter",
		goka.Input("visits", new(codec.String), func(ctx goka.Context, msg interface{}) {
			name, _ := ctx.Join("names").(string)
			greeting, _ := ctx.Lookup("greetings", msg.(string)).(string)
			ctx.Emit("greeted", ctx.Key(), greeting+" "+name)
		}),
		goka.Join("names", new(codec.String)),
		goka.Lookup("greetings", new(codec.String)),
		goka.Output("greeted", new(codec.String)),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	stop := start(t, proc)

	gkt.SetTableValue("names", "u1", "Alice")
	gkt.SetTableValue("greetings", "en", "Hello")
	gkt.SetTableValue("greetings", "fr", "Bonjour")
	out := gkt.NewQueueTracker("greeted")

	gkt.Consume("visits", "u1", "en")
	gkt.Consume("visits", "u1", "fr")
	gkt.Consume("visits", "u2", "de")

	for _, want := range []string{"Hello Alice", "Bonjour Alice", " "} {
		_, v, ok := out.Next()
		require.True(t, ok)
		require.Equal(t, want, v)
	}

	// A record consumed into the joined table reaches the join too.
	gkt.Consume("names", "u2", "Bob")
	gkt.Consume("visits", "u2", "en")
	_, v, ok := out.Next()
	require.True(t, ok)
	require.Equal(t, "Hello Bob", v)

	require.NoError(t, stop())
}

func TestChainedProcessors(t *testing.T) {
	gkt := tester.New(t)
	upper, err := goka.NewProcessor(nil, goka.DefineGroup("upper",
		goka.Input("words", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.Emit("upper-words", ctx.Key(), strings.ToUpper(msg.(string)))
		}),
		goka.Output("upper-words", new(codec.String)),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	collect, err := goka.NewProcessor(nil, goka.DefineGroup("collect",
		goka.Input("upper-words", new(codec.String), func(ctx goka.Context, msg interface{}) {
			prev, _ := ctx.Value().(string)
			ctx.SetValue(prev + msg.(string))
		}),
		goka.Persist(new(codec.String)),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	stopUpper, stopCollect := start(t, upper), start(t, collect)

	gkt.Consume("words", "k", "ab")
	gkt.Consume("words", "k", "cd")
	require.Equal(t, "ABCD", gkt.TableValue("collect-table", "k"))

	require.NoError(t, stopUpper())
	require.NoError(t, stopCollect())
}

func TestLoopback(t *testing.T) {
	gkt := tester.New(t)
	// Every input message fans out to one loop message per character;
	// the loop counts them per character.
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("letters",
		goka.Input("text", new(codec.String), func(ctx goka.Context, msg interface{}) {
			for _, r := range msg.(string) {
				ctx.Loopback(string(r), int64(1))
			}
		}),
		goka.Loop(new(codec.Int64), func(ctx goka.Context, msg interface{}) {
			n, _ := ctx.Value().(int64)
			require.Equal(t, goka.Stream("letters-loop"), ctx.Topic())
			ctx.SetValue(n + msg.(int64))
		}),
		goka.Persist(new(codec.Int64)),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	stop := start(t, proc)

	gkt.Consume("text", "x", "abca")
	require.Equal(t, int64(2), gkt.TableValue("letters-table", "a"))
	require.Equal(t, int64(1), gkt.TableValue("letters-table", "b"))
	require.Equal(t, int64(1), gkt.TableValue("letters-table", "c"))
	require.NoError(t, stop())
}

func TestViewOfProcessorTable(t *testing.T) {
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, counterGraph("counter"), goka.WithTester(gkt))
	require.NoError(t, err)
	view, err := goka.NewView(nil, "counter-table", new(codec.Int64), goka.WithViewTester(gkt))
	require.NoError(t, err)
	stopProc, stopView := start(t, proc), start(t, view)

	gkt.Consume("clicks", "alice", "a")
	gkt.Consume("clicks", "alice", "b")
	v, err := view.Get("alice")
	require.NoError(t, err)
	require.Equal(t, int64(2), v)

	// A view started later recovers what the table topic holds.
	late, err := goka.NewView(nil, "counter-table", new(codec.Int64), goka.WithViewTester(gkt))
	require.NoError(t, err)
	stopLate := start(t, late)
	gkt.Consume("clicks", "bob", "c")
	<-late.WaitRunning()
	v, err = late.Get("bob")
	require.NoError(t, err)
	require.Equal(t, int64(1), v)

	require.NoError(t, stopLate())
	require.NoError(t, stopView())
	require.NoError(t, stopProc())
}

// A client ID set after the tester options does not hide the components
// from the tester (it breaks Goka's tester).
func TestClientIDAfterTester(t *testing.T) {
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, counterGraph("counter"), goka.WithTester(gkt), goka.WithClientID("mine"))
	require.NoError(t, err)
	view, err := goka.NewView(nil, "counter-table", new(codec.Int64), goka.WithViewTester(gkt), goka.WithViewClientID("mine-too"))
	require.NoError(t, err)
	stopProc, stopView := start(t, proc), start(t, view)

	gkt.Consume("clicks", "alice", "a")
	require.Equal(t, int64(1), gkt.TableValue("counter-table", "alice"))
	v, err := view.Get("alice")
	require.NoError(t, err)
	require.Equal(t, int64(1), v)

	require.NoError(t, stopView())
	require.NoError(t, stopProc())
}

func TestEmitterReachesProcessor(t *testing.T) {
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, counterGraph("counter"), goka.WithTester(gkt))
	require.NoError(t, err)
	stop := start(t, proc)

	em, err := goka.NewEmitter(nil, "clicks", new(codec.String), goka.WithEmitterTester(gkt))
	require.NoError(t, err)
	require.NoError(t, em.EmitSync("alice", "a"))
	require.Equal(t, int64(1), gkt.TableValue("counter-table", "alice"))

	promise, err := em.Emit("alice", "b")
	require.NoError(t, err)
	var perr = errors.New("not called")
	promise.Then(func(err error) { perr = err })
	require.NoError(t, perr)
	require.Equal(t, int64(2), gkt.TableValue("counter-table", "alice"))

	require.NoError(t, em.Finish())
	require.NoError(t, stop())
}

func TestQueueTracker(t *testing.T) {
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("splitter",
		goka.Input("lines", new(codec.String), func(ctx goka.Context, msg interface{}) {
			for i, w := range strings.Fields(msg.(string)) {
				ctx.Emit("words", fmt.Sprint(i), w, goka.WithCtxEmitHeaders(goka.Headers{"line": []byte(ctx.Key())}))
			}
			ctx.Emit("words", "end", nil)
		}),
		goka.Output("words", new(codec.String)),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	stop := start(t, proc)

	words := gkt.NewQueueTracker("words")
	require.Equal(t, int64(0), words.Hwm())
	_, _, ok := words.Next()
	require.False(t, ok, "empty queue")

	gkt.Consume("lines", "l1", "to be or")
	require.Equal(t, int64(4), words.Hwm())
	for i, want := range []string{"to", "be", "or"} {
		h, k, v, ok := words.NextWithHeaders()
		require.True(t, ok)
		require.Equal(t, fmt.Sprint(i), k)
		require.Equal(t, want, v)
		require.Equal(t, "l1", string(h["line"]))
	}
	k, v, ok := words.Next()
	require.True(t, ok)
	require.Equal(t, "end", k)
	require.Nil(t, v, "tombstone")
	_, _, ok = words.Next()
	require.False(t, ok, "queue read to its end")
	require.Equal(t, int64(4), words.NextOffset())

	words.Seek(1)
	k, raw, ok := words.NextRaw()
	require.True(t, ok)
	require.Equal(t, "1", k)
	require.Equal(t, []byte("be"), raw)
	h, _, _, ok := words.NextRawWithHeaders()
	require.True(t, ok)
	require.Equal(t, goka.Headers{"line": []byte("l1")}, h)
	require.Equal(t, int64(3), words.NextOffset())

	// A tracker created now starts at the end.
	fresh := gkt.NewQueueTracker("words")
	require.Equal(t, int64(4), fresh.NextOffset())
	_, _, ok = fresh.Next()
	require.False(t, ok)

	require.NoError(t, stop())
}

func TestFailStopsProcessor(t *testing.T) {
	errBad := errors.New("bad message")
	gkt := tester.New(t)
	var seen []string
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("failing",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			seen = append(seen, msg.(string))
			if msg == "bad" {
				ctx.Fail(errBad)
			}
			ctx.SetValue(msg)
		}),
		goka.Persist(new(codec.String)),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- proc.Run(context.Background()) }()

	gkt.Consume("input", "k", "good")
	gkt.Consume("input", "k", "bad")
	var runErr error
	select {
	case runErr = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("processor did not stop")
	}
	require.ErrorIs(t, runErr, errBad)
	require.Contains(t, runErr.Error(), "error processing message (partition=0)")
	require.Equal(t, "good", gkt.TableValue("failing-table", "k"))

	// The stopped processor is not waited for anymore.
	gkt.Consume("input", "k", "after")
	require.Equal(t, []string{"good", "bad"}, seen)
}

func TestHeadersPassThrough(t *testing.T) {
	gkt := tester.New(t)
	var got goka.Headers
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("headers",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			got = ctx.Headers()
			ctx.Emit("output", ctx.Key(), msg, goka.WithCtxEmitHeaders(ctx.Headers()),
				goka.WithCtxEmitHeaders(goka.Headers{"hop": []byte("1")}))
			ctx.SetValue(msg, goka.WithCtxEmitHeaders(goka.Headers{"table": []byte("yes")}))
		}),
		goka.Output("output", new(codec.String)),
		goka.Persist(new(codec.String)),
	), goka.WithTester(gkt), goka.WithProducerDefaultHeaders(goka.Headers{"producer": []byte("p")}))
	require.NoError(t, err)
	stop := start(t, proc)

	out := gkt.NewQueueTracker("output")
	table := gkt.NewQueueTracker("headers-table")
	gkt.Consume("input", "k", "v",
		tester.WithHeaders(goka.Headers{"a": []byte("1"), "b": []byte("1")}),
		tester.WithHeaders(goka.Headers{"b": []byte("2")}))

	require.Equal(t, goka.Headers{"a": []byte("1"), "b": []byte("2")}, got)
	h, _, v, ok := out.NextWithHeaders()
	require.True(t, ok)
	require.Equal(t, "v", v)
	require.Equal(t, goka.Headers{"a": []byte("1"), "b": []byte("2"), "hop": []byte("1"), "producer": []byte("p")}, h)
	// Table writes carry only their own headers, as in Goka.
	h, _, _, ok = table.NextWithHeaders()
	require.True(t, ok)
	require.Equal(t, goka.Headers{"table": []byte("yes")}, h)

	// Without headers the callback sees an empty, non-nil map.
	gkt.Consume("input", "k", "v")
	require.NotNil(t, got)
	require.Empty(t, got)
	require.NoError(t, stop())
}

func TestTimestamp(t *testing.T) {
	gkt := tester.New(t)
	var ts time.Time
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("ts",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) { ts = ctx.Timestamp() }),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	stop := start(t, proc)

	gkt.Consume("input", "k", "v")
	require.True(t, ts.IsZero(), "default timestamp is the zero time")
	gkt.Consume("input", "k", "v", tester.WithTime(time.Unix(123, 0)))
	require.Equal(t, int64(123), ts.Unix())
	require.NoError(t, stop())
}

func TestDeferCommit(t *testing.T) {
	gkt := tester.New(t)
	commits := make(chan func(error), 1)
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("deferring",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(msg)
			commits <- ctx.DeferCommit()
		}),
		goka.Persist(new(codec.String)),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	stop := start(t, proc)

	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		gkt.Consume("input", "k", "v")
	}()
	commit := <-commits
	select {
	case <-consumed:
		t.Fatal("Consume returned before the deferred commit")
	case <-time.After(20 * time.Millisecond):
	}
	commit(nil)
	<-consumed
	require.Equal(t, "v", gkt.TableValue("deferring-table", "k"))

	// A deferred commit with an error stops the processor with it.
	errLater := errors.New("downstream failed")
	go func() { (<-commits)(errLater) }()
	gkt.Consume("input", "k", "w")
	require.ErrorIs(t, stop(), errLater)
}

func TestNilHandling(t *testing.T) {
	for _, tc := range []struct {
		name     string
		handling goka.NilHandling
		want     []interface{}
	}{
		{"ignore", goka.NilIgnore, []interface{}{"v"}},
		{"process", goka.NilProcess, []interface{}{"v", nil}},
		{"decode", goka.NilDecode, []interface{}{"v", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gkt := tester.New(t)
			var got []interface{}
			proc, err := goka.NewProcessor(nil, goka.DefineGroup("nils",
				goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) { got = append(got, msg) }),
			), goka.WithTester(gkt), goka.WithNilHandling(tc.handling))
			require.NoError(t, err)
			stop := start(t, proc)
			gkt.Consume("input", "k", "v")
			gkt.Consume("input", "k", nil)
			var typedNil *string
			gkt.Consume("input", "k", typedNil)
			if tc.handling != goka.NilIgnore {
				tc.want = append(tc.want, tc.want[1])
			}
			require.Equal(t, tc.want, got)
			require.NoError(t, stop())
		})
	}
}

func TestVisitAndCatchup(t *testing.T) {
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("visited",
		goka.Input("input", new(codec.Int64), func(ctx goka.Context, msg interface{}) { ctx.SetValue(msg) }),
		goka.Persist(new(codec.Int64)),
		goka.Visitor("double", func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(ctx.Value().(int64) * msg.(int64))
		}),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	view, err := goka.NewView(nil, "visited-table", new(codec.Int64), goka.WithViewTester(gkt))
	require.NoError(t, err)
	stopProc, stopView := start(t, proc), start(t, view)

	gkt.Consume("input", "a", int64(3))
	gkt.Consume("input", "b", int64(4))
	n, err := proc.VisitAllWithStats(context.Background(), "double", int64(2))
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	gkt.Catchup()
	require.Equal(t, int64(6), gkt.TableValue("visited-table", "a"))
	v, err := view.Get("b")
	require.NoError(t, err)
	require.Equal(t, int64(8), v)

	require.NoError(t, stopView())
	require.NoError(t, stopProc())
}

func TestClearValues(t *testing.T) {
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, counterGraph("counter"), goka.WithTester(gkt))
	require.NoError(t, err)
	stop := start(t, proc)

	gkt.Consume("clicks", "alice", "a")
	gkt.SetTableValue("counter-table", "bob", int64(41))
	require.Equal(t, []string{"alice", "bob"}, gkt.GetTableKeys("counter-table"))
	gkt.ClearValues()
	require.Empty(t, gkt.GetTableKeys("counter-table"))
	gkt.Consume("clicks", "bob", "b")
	require.Equal(t, int64(1), gkt.TableValue("counter-table", "bob"))
	gkt.SetTableValue("counter-table", "bob", nil)
	require.Nil(t, gkt.TableValue("counter-table", "bob"))
	require.NoError(t, stop())
}

// Processors of one tester can stop and new ones start, as subtests with
// their own processors do.
func TestProcessorsComeAndGo(t *testing.T) {
	gkt := tester.New(t)
	for i := 0; i < 3; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var got []string
			proc, err := goka.NewProcessor(nil, goka.DefineGroup(goka.Group(fmt.Sprint("g", i)),
				goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) { got = append(got, msg.(string)) }),
			), goka.WithTester(gkt))
			require.NoError(t, err)
			stop := start(t, proc)
			gkt.Consume("input", "k", fmt.Sprint("m", i))
			require.NoError(t, stop())
			// A new group reads the topic from the start.
			require.Len(t, got, i+1)
		})
	}
}

func TestMisuse(t *testing.T) {
	for _, tc := range []struct {
		name string
		// run misuses the tester; it may stop with Fatalf.
		run  func(gkt *tester.Tester)
		want string
	}{
		{
			name: "consume to a topic without codec",
			run:  func(gkt *tester.Tester) { gkt.Consume("nobody", "k", "v") },
			want: `no codec registered for topic "nobody"`,
		},
		{
			name: "consume a value of the wrong type",
			run:  func(gkt *tester.Tester) { gkt.Consume("input", "k", 42) },
			want: `Consume("input", "k"): encoding int with *codec.String`,
		},
		{
			name: "table value of an undeclared table",
			run:  func(gkt *tester.Tester) { gkt.TableValue("unknown-table", "k") },
			want: `no processor or view of this tester uses table "unknown-table" (tables: "misuse-table")`,
		},
		{
			name: "set table value of an undeclared table",
			run:  func(gkt *tester.Tester) { gkt.SetTableValue("unknown-table", "k", "v") },
			want: `no processor or view of this tester uses table "unknown-table"`,
		},
		{
			name: "set table value of the wrong type",
			run:  func(gkt *tester.Tester) { gkt.SetTableValue("misuse-table", "k", "v") },
			want: `SetTableValue("misuse-table", "k"): encoding string with *codec.Int64`,
		},
		{
			name: "table keys of an undeclared table",
			run:  func(gkt *tester.Tester) { gkt.GetTableKeys("unknown-table") },
			want: `GetTableKeys("unknown-table")`,
		},
		{
			name: "processor never started",
			run: func(gkt *tester.Tester) {
				_, err := goka.NewProcessor(nil, goka.DefineGroup("lazy", goka.Input("other", new(codec.String), noopCallback)), goka.WithTester(gkt))
				if err != nil {
					panic(err)
				}
				tester.SetWaitTimeout(gkt, 50*time.Millisecond)
				gkt.Consume("input", "k", "v")
			},
			want: `processor of group "lazy" (client-1) is not running (call Run in a goroutine first)`,
		},
		{
			name: "two codecs for one topic",
			run: func(gkt *tester.Tester) {
				_, _ = goka.NewEmitter(nil, "input", new(codec.Bytes), goka.WithEmitterTester(gkt))
			},
			want: `topic "input" has two codecs: *codec.String and *codec.Bytes`,
		},
		{
			name: "queue tracker of a topic without codec",
			run: func(gkt *tester.Tester) {
				tr := gkt.NewQueueTracker("raw")
				prod, _ := gkt.ProducerBuilder()(nil, "", nil)
				prod.Emit("raw", "k", []byte("v"))
				tr.Next()
			},
			want: `QueueTracker of topic "raw": no codec registered`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := new(fakeT)
			gkt := tester.New(ft)
			proc, err := goka.NewProcessor(nil, goka.DefineGroup("misuse",
				goka.Input("input", new(codec.String), noopCallback),
				goka.Persist(new(codec.Int64)),
			), goka.WithTester(gkt))
			require.NoError(t, err)
			stop := start(t, proc)

			returned := ft.do(func() { tc.run(gkt) })
			require.False(t, returned, "misuse must stop the test with Fatalf")
			require.Contains(t, ft.messages(), tc.want)
			require.NoError(t, stop())
		})
	}
}

// The forwarder of Goka's examples/9-defer-commit: a callback emits with an
// emitter and commits when the emitter's promise is done. Consume must not
// deadlock on the emitter's wait and returns once the forwarded message is
// consumed too.
func TestEmitterInsideCallback(t *testing.T) {
	gkt := tester.New(t)
	forward, err := goka.NewEmitter(nil, "forward-topic", new(codec.String), goka.WithEmitterTester(gkt))
	require.NoError(t, err)
	forwarder, err := goka.NewProcessor(nil, goka.DefineGroup("forwarder",
		goka.Input("input-topic", new(codec.String), func(ctx goka.Context, msg interface{}) {
			prom, err := forward.Emit(ctx.Key(), msg)
			if err != nil {
				ctx.Fail(err)
			}
			prom.Then(ctx.DeferCommit())
		}),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	var received []string
	consumer, err := goka.NewProcessor(nil, goka.DefineGroup("consumer",
		goka.Input("forward-topic", new(codec.String), func(ctx goka.Context, msg interface{}) {
			received = append(received, ctx.Key()+":"+msg.(string))
		}),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	stopF, stopC := start(t, forwarder), start(t, consumer)

	gkt.Consume("input-topic", "time", "1")
	gkt.Consume("input-topic", "time", "2")
	require.Equal(t, []string{"time:1", "time:2"}, received)

	require.NoError(t, forward.Finish())
	require.NoError(t, stopF())
	require.NoError(t, stopC())
}

// A DeferCommit function that is never called would make Consume wait
// forever; the tester fails the test instead, naming the topic.
func TestDeferCommitNeverCalled(t *testing.T) {
	ft := new(fakeT)
	gkt := tester.New(ft)
	tester.SetWaitTimeout(gkt, 50*time.Millisecond)
	commits := make(chan func(error), 1)
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("forgetful",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			commits <- ctx.DeferCommit()
		}),
	), goka.WithTester(gkt))
	require.NoError(t, err)
	stop := start(t, proc)

	returned := ft.do(func() { gkt.Consume("input", "k", "v") })
	require.False(t, returned)
	require.Contains(t, ft.messages(), `processor of group "forgetful" (client-0) has committed 0 of 1 messages of topic "input" (a DeferCommit function not called?)`)

	(<-commits)(nil)
	require.NoError(t, stop())
}

// A view that is never run is reported, as a processor is.
func TestViewNeverStarted(t *testing.T) {
	ft := new(fakeT)
	gkt := tester.New(ft)
	tester.SetWaitTimeout(gkt, 50*time.Millisecond)
	_, err := goka.NewView(nil, "idle-table", new(codec.String), goka.WithViewTester(gkt))
	require.NoError(t, err)
	returned := ft.do(func() { gkt.TableValue("idle-table", "k") })
	require.False(t, returned)
	require.Contains(t, ft.messages(), `view of table "idle-table" (client-0) is not running`)
}

// Options that recover or follow tables outside the consumer group work
// with the tester's single partition.
func TestStandbyOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  goka.ProcessorOption
	}{
		{"hot standby", goka.WithHotStandby()},
		{"recover ahead", goka.WithRecoverAhead()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gkt := tester.New(t)
			first, err := goka.NewProcessor(nil, counterGraph("counter"), goka.WithTester(gkt), tc.opt)
			require.NoError(t, err)
			stopFirst := start(t, first)
			gkt.Consume("clicks", "alice", "a")
			require.NoError(t, stopFirst())

			// A second instance of the group finds the table. Like every
			// processor of a tester, it reads its inputs from offset 0,
			// as in Goka, so it counts "a" once more.
			second, err := goka.NewProcessor(nil, counterGraph("counter"), goka.WithTester(gkt), tc.opt)
			require.NoError(t, err)
			stopSecond := start(t, second)
			gkt.Consume("clicks", "alice", "b")
			require.Equal(t, int64(3), gkt.TableValue("counter-table", "alice"))
			require.NoError(t, stopSecond())
		})
	}
}

// The tester runs an exactly-once processor as an at-least-once one: each
// message is processed completely before the next, nothing crashes, and
// the processor needs no transactional producer.
func TestExactlyOnceUnderTester(t *testing.T) {
	gkt := tester.New(t)
	proc, err := goka.NewProcessor(nil, counterGraph("counter-eos"), goka.WithTester(gkt), goka.WithProcessingGuarantee(goka.ExactlyOnce))
	require.NoError(t, err)
	stop := start(t, proc)
	defer stop()
	counts := gkt.NewQueueTracker("counts")
	gkt.Consume("clicks", "alice", "a")
	gkt.Consume("clicks", "alice", "b")
	require.Equal(t, int64(2), gkt.TableValue("counter-eos-table", "alice"))
	for _, want := range []string{"a=1", "b=2"} {
		_, v, ok := counts.Next()
		require.True(t, ok)
		require.Equal(t, want, v)
	}
}
