package goka_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/tester"
)

func count(ctx goka.TimeContext, _ any) {
	var n int64
	if v := ctx.Value(); v != nil {
		n = v.(int64)
	}
	ctx.SetValue(n + 1)
}

func runTester(t *testing.T, gkt *tester.Tester, gg *goka.GroupGraph) *goka.Processor {
	t.Helper()
	p, err := goka.NewProcessor(nil, gg, goka.WithTester(gkt))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return p
}

func TestWindowTumblingEmitFinal(t *testing.T) {
	gkt := tester.New(t)
	gg := goka.DefineGroup("wt",
		goka.Windowed("clicks", new(codec.String), new(codec.Int64), count,
			goka.Tumbling(time.Minute), goka.Grace(10*time.Second), goka.Retention(2*time.Minute),
			goka.EmitFinal("out", new(codec.Int64))),
	)
	p := runTester(t, gkt, gg)
	out := gkt.NewQueueTracker("out")
	at := func(s int) tester.EmitOption { return tester.WithTime(time.UnixMilli(int64(s) * 1000)) }
	gkt.Consume("clicks", "u", "a", at(5))
	gkt.Consume("clicks", "u", "a", at(30))
	gkt.Consume("clicks", "v", "a", at(50))
	gkt.Consume("clicks", "u", "a", at(65)) // window 1
	require.Equal(t, out.NextOffset(), out.Hwm(), "nothing closed before 60+10")
	gkt.Consume("clicks", "u", "a", at(69)) // window 1
	gkt.Consume("clicks", "u", "a", at(70)) // closes window 0
	got := map[string]int64{}
	for {
		h, k, v, ok := out.NextWithHeaders()
		if !ok {
			break
		}
		got[k+"@"+string(h[goka.HeaderWindowStart])] = v.(int64)
	}
	require.Equal(t, map[string]int64{"u@0": 2, "v@0": 1}, got)
	gkt.Consume("clicks", "u", "a", at(20)) // late: window 0 closed
	require.EqualValues(t, 1, p.LateMessages())
	var late int64
	for _, ps := range p.Stats().Group {
		late += ps.LateMessages
	}
	require.EqualValues(t, 1, late, "late messages in Stats")
	ws, err := p.Windows("u", time.UnixMilli(0), time.UnixMilli(120000))
	require.NoError(t, err)
	require.Len(t, ws, 2)
	require.EqualValues(t, 2, ws[0].Value)
	require.EqualValues(t, 3, ws[1].Value)
	require.Equal(t, strconv.Itoa(60000), strconv.FormatInt(ws[1].Window.Start.UnixMilli(), 10))
}

func TestWallClockTimer(t *testing.T) {
	gkt := tester.New(t)
	gg := goka.DefineGroup("tm",
		goka.Input("in", new(codec.String), func(ctx goka.Context, msg any) {
			goka.TimeOf(ctx).SetTimer(goka.WallClock, ctx.Timestamp().Add(time.Minute), []byte(msg.(string)))
		}),
		goka.OnTimer(func(ctx goka.TimeContext, payload []byte) {
			ctx.Emit("fired", ctx.Key(), string(payload))
		}),
		goka.Output("fired", new(codec.String)),
	)
	runTester(t, gkt, gg)
	out := gkt.NewQueueTracker("fired")
	gkt.Consume("in", "k", "hello", tester.WithTime(gkt.Now()))
	gkt.AdvanceTime(59 * time.Second)
	require.Equal(t, out.NextOffset(), out.Hwm())
	gkt.AdvanceTime(time.Second)
	k, v, ok := out.Next()
	require.True(t, ok)
	require.Equal(t, "k", k)
	require.Equal(t, "hello", v)
	gkt.AdvanceTime(time.Hour)
	require.Equal(t, out.NextOffset(), out.Hwm(), "fires once")
}

// TestWindowRetention runs a long stream with a short retention: the time
// store then holds only the windows still within retention, with the
// default retention (purged as they close) and a longer one (purged by
// scans once per retention), with and without the cache of open windows.
func TestWindowRetention(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention time.Duration // 0: the default, size + grace
		opts      []goka.WindowOption
		maxLive   int  // windows in the store at the end
		indexless bool // no index entries (the cache holds the windows)
	}{
		// Purged as they close: the last minute's window, and the one
		// before it within its grace.
		{"default", 0, nil, 2, true},
		// Purges scan the index once per retention: windows starting
		// after last-2·retention, one key each minute, plus the current
		// one.
		{"default/no-cache", 0, []goka.WindowOption{goka.WindowCache(0)}, 3, false},
		{"3m", 3 * time.Minute, []goka.WindowOption{goka.Retention(3 * time.Minute)}, 7, false},
		{"3m/no-cache", 3 * time.Minute, []goka.WindowOption{goka.Retention(3 * time.Minute), goka.WindowCache(0)}, 7, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gkt := tester.New(t)
			const group = "retention"
			opts := append([]goka.WindowOption{goka.Tumbling(time.Minute), goka.Grace(10 * time.Second)}, tc.opts...)
			gg := goka.DefineGroup(group,
				goka.Windowed("in", new(codec.String), new(codec.Int64), count, opts...),
			)
			p := runTester(t, gkt, gg)
			var last int64
			for i := range 2000 { // 2000 minutes, 5 keys
				last = int64(i) * 60_000
				gkt.Consume("in", "k"+strconv.Itoa(i%5), "x", tester.WithTime(time.UnixMilli(last)))
			}
			windows, index := 0, 0
			for _, k := range gkt.GetTableKeys(goka.WindowTable(group)) {
				switch k[0] {
				case 'w':
					windows++
				case 'e':
					index++
				}
			}
			require.LessOrEqual(t, windows, tc.maxLive)
			if tc.indexless {
				require.Zero(t, index)
			} else {
				require.Equal(t, windows, index)
			}
			require.Positive(t, windows)
			ws, err := p.Windows("k0", time.UnixMilli(0), time.UnixMilli(last))
			require.NoError(t, err)
			require.LessOrEqual(t, len(ws), 2)
		})
	}
}

func TestWallClockPunctuation(t *testing.T) {
	gkt := tester.New(t)
	var fired []time.Time
	gg := goka.DefineGroup("wallpunct",
		goka.Input("in", new(codec.String), func(goka.Context, any) {}),
		goka.Punctuate(time.Minute, goka.WallClock, func(ctx goka.TimeContext, at time.Time) {
			fired = append(fired, at)
		}),
	)
	runTester(t, gkt, gg)
	gkt.Consume("in", "k", "x") // waits until the processor runs
	gkt.AdvanceTime(59 * time.Second)
	require.Empty(t, fired)
	gkt.AdvanceTime(2 * time.Minute) // at 1:00 and 2:00
	require.Equal(t, []time.Time{tester.ClockStart.Add(time.Minute), tester.ClockStart.Add(2 * time.Minute)},
		[]time.Time{fired[0].UTC(), fired[1].UTC()})
	require.Len(t, fired, 2)
}

// TestViewWindows queries a key's windows through a view of the time
// store.
func TestViewWindows(t *testing.T) {
	gkt := tester.New(t)
	gg := goka.DefineGroup("vw",
		goka.Windowed("in", new(codec.String), new(codec.Int64), count, goka.Tumbling(time.Minute), goka.Retention(time.Hour)),
	)
	runTester(t, gkt, gg)
	view, err := goka.NewView(nil, goka.WindowTable("vw"), new(codec.Int64), goka.WithViewTester(gkt), goka.WithViewWindowStore())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- view.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	for _, s := range []int{1, 2, 61, 130} {
		gkt.Consume("in", "u", "x", tester.WithTime(time.Unix(int64(s), 0)))
	}
	gkt.Consume("in", "other", "x", tester.WithTime(time.Unix(5, 0)))
	ws, err := view.Windows("u", time.Unix(0, 0), time.Unix(60, 0))
	require.NoError(t, err)
	require.Len(t, ws, 2)
	require.EqualValues(t, 2, ws[0].Value)
	require.EqualValues(t, 1, ws[1].Value)
	require.Equal(t, time.Unix(60, 0).UnixMilli(), ws[1].Window.Start.UnixMilli())
	require.Equal(t, time.Unix(120, 0).UnixMilli(), ws[1].Window.End.UnixMilli())
	_, err = view.Get("u")
	require.NoError(t, err)
	plain, err := goka.NewView(nil, "some-table", new(codec.Int64), goka.WithViewTester(gkt))
	require.NoError(t, err)
	_, err = plain.Windows("u", time.Time{}, time.Now())
	require.Error(t, err)
}
