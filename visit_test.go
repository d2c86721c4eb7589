package goka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
)

// visitProcessor runs a processor over one partition with the keys a, b
// and c in its table and the visitor "v": meta "block" makes it report the
// key on started and wait for release; meta "panic" panics; any other meta
// string becomes the value.
func visitProcessor(t *testing.T, topic string) (p *goka.Processor, r *runner, started chan string, release chan struct{}) {
	t.Helper()
	brokers := cluster(t, map[string]int{topic: 1})
	started, release = make(chan string, 3), make(chan struct{})
	g := goka.DefineGroup(goka.Group(topic+"-g"),
		goka.Input(goka.Stream(topic), new(codec.String), func(ctx goka.Context, msg interface{}) { ctx.SetValue(msg) }),
		goka.Visitor("v", func(ctx goka.Context, meta interface{}) {
			switch meta {
			case "block":
				started <- ctx.Key()
				<-release
			case "panic":
				panic("visitor panics on " + ctx.Key())
			}
			ctx.SetValue(meta)
		}),
		goka.Persist(new(codec.String)),
	)
	p, err := goka.NewProcessor(brokers, g, procOpts(t, "")...)
	require.NoError(t, err)
	r = run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	e := emitter(t, brokers, topic, new(codec.String))
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, e.EmitSync(k, "input"))
	}
	eventually(t, 30*time.Second, func() bool { v, _ := p.Get("c"); return v == "input" }, "inputs not processed")
	return p, r, started, release
}

func TestProcessorVisitCancel(t *testing.T) {
	p, r, started, release := visitProcessor(t, "visit-cancel")
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		n   int64
		err error
	}
	res := make(chan result, 1)
	go func() {
		n, err := p.VisitAllWithStats(ctx, "v", "block")
		res <- result{n, err}
	}()
	require.Equal(t, "a", <-started)
	// The visit of a is in progress and b and c are queued: the cancel
	// returns without waiting for a and skips b and c.
	cancel()
	got := <-res
	require.ErrorIs(t, got.err, context.Canceled)
	require.Zero(t, got.n)
	close(release)

	n, err := p.VisitAllWithStats(context.Background(), "v", "again")
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	for _, k := range []string{"a", "b", "c"} {
		v, err := p.Get(k)
		require.NoError(t, err)
		require.Equal(t, "again", v, "key %s", k)
	}
	require.Empty(t, started, "a cancelled visit ran")
	require.NoError(t, r.stop(t))
}

func TestProcessorVisitPanic(t *testing.T) {
	p, r, _, _ := visitProcessor(t, "visit-panic")
	// As in Goka: the visit itself ends (the panicking key counts as
	// visited or the visit is aborted) and Run returns the panic.
	err := p.VisitAll(context.Background(), "v", "panic")
	if err != nil {
		require.ErrorIs(t, err, goka.ErrVisitAborted)
	}
	runErr := r.wait(t, 30*time.Second)
	require.ErrorContains(t, runErr, "visitor panics on a")
}

func TestProcessorVisitStop(t *testing.T) {
	p, r, started, release := visitProcessor(t, "visit-stop")
	errc := make(chan error, 1)
	go func() { errc <- p.VisitAll(context.Background(), "v", "block") }()
	require.Equal(t, "a", <-started)
	r.cancel()
	// The processor waits for the running visit before it stops.
	close(release)
	require.NoError(t, r.stop(t))
	err := <-errc
	require.True(t, errors.Is(err, goka.ErrVisitAborted), "VisitAll after a stop = %v", err)
}

func TestProcessorVisitMisuse(t *testing.T) {
	p, r, _, _ := visitProcessor(t, "visit-misuse")
	require.ErrorContains(t, p.VisitAll(context.Background(), "nope", nil), `unknown visitor "nope"`)

	// A visitor needs a group table.
	g := goka.DefineGroup("visit-stateless-g",
		goka.Input("visit-misuse", new(codec.String), func(ctx goka.Context, msg interface{}) {}),
		goka.Visitor("v", func(ctx goka.Context, meta interface{}) {}),
	)
	_, err := goka.NewProcessor([]string{"127.0.0.1:1"}, g, procOpts(t, "")...)
	require.ErrorContains(t, err, "visitors cannot be used in a stateless processor")
	require.NoError(t, r.stop(t))
}
