package goka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
)

// TestProcessorEdges exercises Join, Lookup, Loop, Output, Persist,
// Visitor and headers in one group on the embedded broker.
func TestProcessorEdges(t *testing.T) {
	brokers := cluster(t, map[string]int{"events": 4, "prefs-table": 4, "names-table": 2, "out": 4})

	// Fill the joined and looked-up tables directly.
	prefs := emitter(t, brokers, "prefs-table", new(codec.String))
	names := emitter(t, brokers, "names-table", new(codec.String))
	for i := 0; i < 10; i++ {
		require.NoError(t, prefs.EmitSync(key(i), fmt.Sprintf("pref-%d", i)))
	}
	require.NoError(t, names.EmitSync("global", "Alice"))

	g := goka.DefineGroup("edges",
		goka.Input("events", new(codec.String), func(ctx goka.Context, msg interface{}) {
			join := ctx.Join("prefs-table")
			lookup := ctx.Lookup("names-table", "global")
			if msg.(string) == "loop" {
				ctx.Loopback(ctx.Key(), "looped", goka.WithCtxEmitHeaders(goka.Headers{"via": []byte("loop")}))
				return
			}
			ctx.SetValue(msg.(string))
			ctx.Emit("out", ctx.Key(), fmt.Sprintf("%v|%v|%v|%s", msg, join, lookup, ctx.Headers()["h"]),
				goka.WithCtxEmitHeaders(goka.Headers{"h": ctx.Headers()["h"]}))
		}),
		goka.Loop(new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(fmt.Sprintf("%v from %s via %s", msg, ctx.Topic(), ctx.Headers()["via"]))
		}),
		goka.Join("prefs-table", new(codec.String)),
		goka.Lookup("names-table", new(codec.String)),
		goka.Output("out", new(codec.String)),
		goka.Persist(new(codec.String)),
		goka.Visitor("reset", func(ctx goka.Context, meta interface{}) {
			ctx.SetValue(meta.(string) + ":" + ctx.Key())
		}),
	)
	p, err := goka.NewProcessor(brokers, g, procOpts(t, "",
		goka.WithProducerDefaultHeaders(goka.Headers{"default": []byte("d")}))...)
	require.NoError(t, err)
	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())

	events := emitter(t, brokers, "events", new(codec.String))
	for i := 0; i < 10; i++ {
		require.NoError(t, events.EmitSyncWithHeaders(key(i), "hello", goka.Headers{"h": []byte(fmt.Sprint(i))}))
	}
	require.NoError(t, events.EmitSync("looper", "loop"))

	// Persist + Join + Lookup + headers through Output.
	eventually(t, 30*time.Second, func() bool {
		out, _ := readTopic(t, brokers, "out")
		return len(out) == 10
	}, "outputs missing")
	out, _ := readTopic(t, brokers, "out")
	for i := 0; i < 10; i++ {
		require.Equal(t, fmt.Sprintf("hello|pref-%d|Alice|%d", i, i), string(out[key(i)]))
		v, err := p.Get(key(i))
		require.NoError(t, err)
		require.Equal(t, "hello", v)
	}
	// Loop.
	eventually(t, 30*time.Second, func() bool {
		v, _ := p.Get("looper")
		return v == "looped from edges-loop via loop"
	}, "loop value missing")

	// Visitor.
	n, err := p.VisitAllWithStats(context.Background(), "reset", "visited")
	require.NoError(t, err)
	require.Equal(t, int64(11), n)
	for i := 0; i < 10; i++ {
		v, err := p.Get(key(i))
		require.NoError(t, err)
		require.Equal(t, "visited:"+key(i), v)
	}
	require.Error(t, p.VisitAll(context.Background(), "unknown", nil))

	// Join follows its table while processing.
	require.NoError(t, prefs.EmitSync(key(0), "changed"))
	eventually(t, 30*time.Second, func() bool {
		require.NoError(t, events.EmitSync(key(0), "again"))
		out, _ := readTopic(t, brokers, "out")
		return string(out[key(0)]) == "again|changed|Alice|"
	}, "join did not follow")

	require.NoError(t, r.stop(t))
}

// TestProcessorOutputHeaders checks that default and per-emit headers
// reach the output topic and that table writes carry only their own.
func TestProcessorOutputHeaders(t *testing.T) {
	brokers := cluster(t, map[string]int{"in": 1, "out": 1})
	g := goka.DefineGroup("headers",
		goka.Input("in", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.Emit("out", ctx.Key(), msg, goka.WithCtxEmitHeaders(goka.Headers{"a": []byte("1"), "b": []byte("x")}),
				goka.WithCtxEmitHeaders(goka.Headers{"b": []byte("2")}))
			ctx.SetValue(msg, goka.WithCtxEmitHeaders(goka.Headers{"t": []byte("table")}))
		}),
		goka.Output("out", new(codec.String)),
		goka.Persist(new(codec.String)),
	)
	p, err := goka.NewProcessor(brokers, g, procOpts(t, "",
		goka.WithProducerDefaultHeaders(goka.Headers{"d": []byte("default"), "a": []byte("0")}))...)
	require.NoError(t, err)
	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	require.NoError(t, emitter(t, brokers, "in", new(codec.String)).EmitSync("k", "v"))

	headersOf := func(topic string) goka.Headers {
		var got goka.Headers
		eventually(t, 30*time.Second, func() bool {
			got = readHeaders(t, brokers, topic)
			return got != nil
		}, "no record in %s", topic)
		return got
	}
	require.Equal(t, goka.Headers{"a": []byte("1"), "b": []byte("2"), "d": []byte("default")}, headersOf("out"))
	require.Equal(t, goka.Headers{"t": []byte("table")}, headersOf("headers-table"))
	require.NoError(t, r.stop(t))
}

func TestProcessorDeferCommit(t *testing.T) {
	brokers := cluster(t, map[string]int{"in": 1})
	var (
		mu      sync.Mutex
		commits []func(error)
	)
	g := goka.DefineGroup("defer",
		goka.Input("in", new(codec.String), func(ctx goka.Context, msg interface{}) {
			commit := ctx.DeferCommit()
			mu.Lock()
			commits = append(commits, commit)
			mu.Unlock()
		}),
	)
	p, err := goka.NewProcessor(brokers, g, procOpts(t, "")...)
	require.NoError(t, err)
	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	e := emitter(t, brokers, "in", new(codec.String))
	for i := 0; i < 3; i++ {
		require.NoError(t, e.EmitSync("k", "v"))
	}
	eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(commits) == 3
	}, "callbacks not called")
	time.Sleep(300 * time.Millisecond) // several auto-commit intervals
	require.Empty(t, committed(t, brokers, "defer", "in"), "nothing committed before the deferred commits")

	// Completing out of order commits only the contiguous prefix.
	mu.Lock()
	commits[1](nil)
	commits[1](nil) // idempotent
	mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	require.Empty(t, committed(t, brokers, "defer", "in"))
	mu.Lock()
	commits[0](nil)
	mu.Unlock()
	eventually(t, 10*time.Second, func() bool { return committed(t, brokers, "defer", "in")[0] == 2 }, "offset 2 not committed")

	// An error stops the processor; the message stays uncommitted.
	mu.Lock()
	commits[2](fmt.Errorf("downstream failed"))
	mu.Unlock()
	err = r.wait(t, 30*time.Second)
	require.ErrorContains(t, err, "downstream failed")
	require.ErrorContains(t, err, "error processing message (partition=0)")
	require.Equal(t, int64(2), committed(t, brokers, "defer", "in")[0])
}

func TestProcessorContextMisuse(t *testing.T) {
	tests := []struct {
		name string
		cb   goka.ProcessCallback
		want string
	}{
		{"emit undeclared", func(ctx goka.Context, msg interface{}) { ctx.Emit("nowhere", "k", "v") }, `not declared as Output`},
		{"value stateless", func(ctx goka.Context, msg interface{}) { ctx.Value() }, "no group table"},
		{"join undeclared", func(ctx goka.Context, msg interface{}) { ctx.Join("x-table") }, "not joined"},
		{"lookup undeclared", func(ctx goka.Context, msg interface{}) { ctx.Lookup("x-table", "k") }, "not looked up"},
		{"loopback without loop", func(ctx goka.Context, msg interface{}) { ctx.Loopback("k", "v") }, "has no Loop"},
		{"fail", func(ctx goka.Context, msg interface{}) { ctx.Fail(fmt.Errorf("user failure")) }, "user failure"},
	}
	brokers := cluster(t, map[string]int{"in": 1})
	require.NoError(t, emitter(t, brokers, "in", new(codec.String)).EmitSync("k", "v"))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := goka.DefineGroup(goka.Group(fmt.Sprintf("misuse-%d", i)), goka.Input("in", new(codec.String), tt.cb))
			p, err := goka.NewProcessor(brokers, g, procOpts(t, "")...)
			require.NoError(t, err)
			err = run(t, p.Run).wait(t, 30*time.Second)
			require.ErrorContains(t, err, "panic in callback")
			require.ErrorContains(t, err, tt.want)
		})
	}
}
