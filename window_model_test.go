package goka_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/tester"
)

// modelEvent is one input message of the reference-model tests.
type modelEvent struct {
	key string
	ts  int64 // ms
}

type modelWin struct{ start, end int64 }

// windowModel is a brute-force implementation of the semantics of
// Windowed (Kafka Streams' windowing with grace and onWindowClose): it
// returns the final count of every window closed by the end of the stream
// (key@start -> count) and the number of late messages.
func windowModel(kind string, size, advance, gap, grace int64, events []modelEvent) (map[string]int64, int) {
	stream := int64(-1 << 62)
	counts := map[string]map[modelWin]int64{}
	late := 0
	closeTime := func(w modelWin) int64 {
		if kind == "session" {
			return w.end + gap
		}
		return w.end
	}
	closed := func(w modelWin) bool { return closeTime(w)+grace <= stream }
	out := map[string]int64{}
	for _, e := range events {
		stream = max(stream, e.ts)
		if counts[e.key] == nil {
			counts[e.key] = map[modelWin]int64{}
		}
		ws := counts[e.key]
		if kind == "session" {
			// Sessions past retention (gap + grace after their end) are gone.
			for w := range ws {
				if w.end+gap+grace <= stream {
					out[e.key+"@"+strconv.FormatInt(w.start, 10)] = ws[w]
					delete(ws, w)
				}
			}
			nw, sum := modelWin{e.ts, e.ts}, int64(0)
			var merged []modelWin
			for w, n := range ws {
				if w.end >= e.ts-gap && w.start <= e.ts+gap {
					merged = append(merged, w)
					nw.start, nw.end = min(nw.start, w.start), max(nw.end, w.end)
					sum += n
				}
			}
			if closed(nw) {
				late++
				continue
			}
			for _, w := range merged {
				delete(ws, w)
			}
			ws[nw] = sum + 1
			continue
		}
		isLate := false
		for start := e.ts - e.ts%advance - size; start <= e.ts; start += advance {
			w := modelWin{start, start + size}
			if start < 0 || start > e.ts || e.ts >= w.end {
				continue
			}
			if closed(w) {
				isLate = true
				continue
			}
			ws[w]++
		}
		if isLate {
			late++
		}
	}
	for k, ws := range counts {
		for w, n := range ws {
			if closed(w) {
				out[k+"@"+strconv.FormatInt(w.start, 10)] = n
			}
		}
	}
	return out, late
}

func randomEvents(r *rand.Rand, n int) []modelEvent {
	events := make([]modelEvent, n)
	var base int64 = 1_000_000
	for i := range events {
		base += r.Int64N(8000)
		ts := base - r.Int64N(90_000) // out of order by up to 90 s
		if ts < 0 {
			ts = 0
		}
		events[i] = modelEvent{key: "k" + strconv.Itoa(r.IntN(4)), ts: ts}
	}
	return events
}

// TestWindowReferenceModel runs random out-of-order streams through
// tumbling, hopping and session windows, with the cache of open windows
// on, off and evicting, and compares the final results and the late
// messages with windowModel. Restarts and rebalances are in
// TestWindowRestartAndRebalance on the embedded broker: the tester, like
// Goka's, replays a group's input from the start to a new processor.
func TestWindowReferenceModel(t *testing.T) {
	const size, advance, gap = 60_000, 20_000, 30_000
	kinds := []struct {
		name string
		opt  goka.WindowOption
		adv  int64
	}{
		{"tumbling", goka.Tumbling(size * time.Millisecond), size},
		{"hopping", goka.Hopping(size*time.Millisecond, advance*time.Millisecond), advance},
		{"session", goka.Session(gap*time.Millisecond, func(a, b any) any { return a.(int64) + b.(int64) }), 0},
	}
	// The cache of open windows: the default, off, and so small that it
	// evicts all the time (sessions never use it).
	caches := []struct {
		name string
		opts []goka.WindowOption
	}{
		{"cache", nil},
		{"no-cache", []goka.WindowOption{goka.WindowCache(0)}},
		{"tiny-cache", []goka.WindowOption{goka.WindowCache(300)}},
	}
	for _, k := range kinds {
		for _, cache := range caches {
			if k.name == "session" && cache.opts != nil {
				continue
			}
			for seed := uint64(1); seed <= 4; seed++ {
				t.Run(fmt.Sprintf("%s/%s/seed=%d", k.name, cache.name, seed), func(t *testing.T) {
					testWindowModel(t, k.name, k.opt, k.adv, cache.opts, seed)
				})
			}
		}
	}
}

// testWindowModel runs one stream of TestWindowReferenceModel.
func testWindowModel(t *testing.T, kind string, opt goka.WindowOption, adv int64, opts []goka.WindowOption, seed uint64) {
	const size, gap, grace = 60_000, 30_000, 10_000
	events := randomEvents(rand.New(rand.NewPCG(seed, 7)), 150)
	want, wantLate := windowModel(kind, size, adv, gap, grace, events)
	gkt := tester.New(t)
	gg := goka.DefineGroup(goka.Group("model-"+kind),
		goka.Windowed("in", new(codec.String), new(codec.Int64), count,
			append([]goka.WindowOption{opt, goka.Grace(grace * time.Millisecond), goka.EmitFinal("out", new(codec.Int64))}, opts...)...),
	)
	out := gkt.NewQueueTracker("out")
	p, stop := startTester(t, gkt, gg)
	for _, e := range events {
		gkt.Consume("in", e.key, "x", tester.WithTime(time.UnixMilli(e.ts)))
	}
	late := p.LateMessages()
	stop()
	got := map[string]int64{}
	for {
		h, key, v, ok := out.NextWithHeaders()
		if !ok {
			break
		}
		id := key + "@" + string(h[goka.HeaderWindowStart])
		_, dup := got[id]
		require.False(t, dup, "window %s emitted twice", id)
		got[id] = v.(int64)
	}
	require.Equal(t, sorted(want), sorted(got))
	require.EqualValues(t, wantLate, late)
	require.NotEmpty(t, got)
}

func sorted(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+strconv.FormatInt(v, 10))
	}
	sort.Strings(out)
	return out
}

// startTester runs a processor of gg on gkt until stop.
func startTester(t *testing.T, gkt *tester.Tester, gg *goka.GroupGraph, opts ...goka.ProcessorOption) (*goka.Processor, func()) {
	t.Helper()
	p, err := goka.NewProcessor(nil, gg, append([]goka.ProcessorOption{goka.WithTester(gkt)}, opts...)...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		require.NoError(t, <-done)
	}
	t.Cleanup(stop)
	return p, stop
}
