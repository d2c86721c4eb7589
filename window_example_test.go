package goka_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/tester"
)

// logT reports tester misuse in an Example.
type logT struct{}

func (logT) Errorf(format string, args ...any) { log.Printf(format, args...) }
func (logT) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }
func (logT) Fatal(args ...any)                 { log.Fatal(args...) }

// Count clicks per user and minute, emitting each minute once when it
// closes, and remind a user by the wall clock one hour after a click.
func ExampleWindowed() {
	gkt := tester.New(logT{})
	gg := goka.DefineGroup("clicks",
		goka.Windowed("click", new(codec.String), new(codec.Int64), func(ctx goka.TimeContext, _ any) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
			ctx.SetTimer(goka.WallClock, ctx.Now().Add(time.Hour), []byte("come back"))
		}, goka.Tumbling(time.Minute), goka.Grace(10*time.Second), goka.EmitFinal("per-minute", new(codec.Int64))),
		goka.OnTimer(func(ctx goka.TimeContext, payload []byte) {
			ctx.Emit("reminders", ctx.Key(), string(payload))
		}),
		goka.Output("reminders", new(codec.String)),
	)
	proc, err := goka.NewProcessor(nil, gg, goka.WithTester(gkt))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() { cancel(); <-done }()

	at := func(s int) tester.EmitOption { return tester.WithTime(time.Unix(int64(s), 0)) }
	finals, reminders := gkt.NewQueueTracker("per-minute"), gkt.NewQueueTracker("reminders")
	gkt.Consume("click", "alice", "x", at(1))
	gkt.Consume("click", "alice", "x", at(2))
	gkt.Consume("click", "alice", "x", at(80)) // closes [0s, 60s): 80 >= 60 + 10
	h, key, n, _ := finals.NextWithHeaders()
	fmt.Printf("%s: %d clicks in the minute starting at %s ms\n", key, n, h[goka.HeaderWindowStart])

	gkt.AdvanceTime(time.Hour) // the wall clock, no input needed
	key, msg, _ := reminders.Next()
	fmt.Println(key+":", msg)
	// Output:
	// alice: 2 clicks in the minute starting at 0 ms
	// alice: come back
}

// Punctuate per partition on stream time: here every minute of event time.
func ExamplePunctuate() {
	gkt := tester.New(logT{})
	gg := goka.DefineGroup("ticks",
		goka.Input("in", new(codec.String), func(goka.Context, any) {}),
		goka.Punctuate(time.Minute, goka.StreamTime, func(ctx goka.TimeContext, at time.Time) {
			fmt.Println("punctuate at", at.UTC().Format("15:04"), "stream time", ctx.StreamTime().UTC().Format("15:04:05"))
		}),
	)
	proc, err := goka.NewProcessor(nil, gg, goka.WithTester(gkt))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for _, s := range []int{10, 50, 70, 200} {
		gkt.Consume("in", "k", "x", tester.WithTime(time.Unix(int64(s), 0)))
	}
	// Output:
	// punctuate at 00:01 stream time 00:01:10
	// punctuate at 00:03 stream time 00:03:20
}
