// Command 11-windows counts clicks per user per minute with event-time
// tumbling windows, emits each minute's count once when the minute closes
// (goka.EmitFinal: stream time past the end plus 10 s of grace), and uses
// a wall-clock timer to report each window by the processor's clock even
// when no further click arrives (Goka issue #99).
//
// It runs on its embedded broker and exits:
//
//	go run ./examples/11-windows
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/examples/internal/exampleenv"
	"github.com/e3793d55/goka/storage"
)

var (
	clicks  goka.Stream = "clicks"
	perMin  goka.Stream = "clicks-per-minute"
	reports goka.Stream = "clicks-report"
	group   goka.Group  = "clicks-per-minute"
)

// ReportDelay is how long after a window's first click the wall-clock
// timer reports it.
const ReportDelay = time.Second

// Graph is the processor: count per user and minute, final counts to
// perMin, a wall-clock report to reports.
func Graph() *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Windowed(clicks, new(codec.String), new(codec.Int64), count,
			goka.Tumbling(time.Minute), goka.Grace(10*time.Second),
			goka.Retention(time.Hour), // keep closed windows for the reports
			goka.EmitFinal(perMin, new(codec.Int64))),
		goka.OnTimer(report),
		goka.Output(reports, new(codec.String)),
	)
}

func count(ctx goka.TimeContext, _ any) {
	var n int64
	if v := ctx.Value(); v != nil {
		n = v.(int64)
	} else {
		// The window's first click: report it by the wall clock, whatever
		// arrives later. The payload is the window start.
		start := ctx.Window().Start.UnixMilli()
		ctx.SetTimer(goka.WallClock, ctx.Now().Add(ReportDelay), []byte(strconv.FormatInt(start, 10)))
	}
	ctx.SetValue(n + 1)
}

func report(ctx goka.TimeContext, payload []byte) {
	ms, _ := strconv.ParseInt(string(payload), 10, 64)
	start := time.UnixMilli(ms)
	var n int64
	for _, w := range ctx.Windows(ctx.Key(), start, start) {
		n = w.Value.(int64)
	}
	ctx.Emit(reports, ctx.Key(), fmt.Sprintf("%s: %d clicks in the minute of %s so far", ctx.Key(), n, start.UTC().Format("15:04")))
}

func saramaConfig() *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Producer.Return.Successes = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	return cfg
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// base is the event time of the first click.
var base = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func run() error {
	ctx, stop := exampleenv.SignalContext()
	defer stop()
	// One partition: stream time is per partition, so one closing click
	// closes everybody's windows.
	brokers, closeBroker, err := exampleenv.Brokers(1)
	if err != nil {
		return err
	}
	defer closeBroker()
	tmc := exampleenv.Configure()
	if err := exampleenv.EnsureStreams(brokers, tmc, 1, clicks, perMin, reports); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "goka-11-windows-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	proc, err := goka.NewProcessor(brokers, Graph(),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithStorageBuilder(storage.DefaultBuilder(dir)))
	if err != nil {
		return err
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- proc.Run(pctx) }()
	if err := proc.WaitForReadyContext(ctx); err != nil {
		cancel()
		return errors.Join(err, <-done)
	}
	defer func() { cancel(); <-done }() //nolint:errcheck // Run's error after the output is complete does not change it

	// Clicks with event times: minute 12:00 alice 3, bob 1; 12:01 alice 1;
	// then bob at 12:02:15 moves stream time past 12:01 + 1 min + 10 s.
	prod, err := sarama.NewSyncProducer(brokers, saramaConfig())
	if err != nil {
		return err
	}
	defer func() { _ = prod.Close() }()
	for _, c := range []struct {
		user string
		at   time.Duration
	}{{"alice", 5 * time.Second}, {"bob", 20 * time.Second}, {"alice", 30 * time.Second}, {"alice", 59 * time.Second},
		{"alice", 75 * time.Second}, {"bob", 135 * time.Second}} {
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: string(clicks), Key: sarama.StringEncoder(c.user),
			Value: sarama.StringEncoder("click"), Timestamp: base.Add(c.at)}); err != nil {
			return err
		}
	}
	// 3 final counts (alice 12:00, bob 12:00, alice 12:01) and 4 reports.
	cons, err := sarama.NewConsumer(brokers, saramaConfig())
	if err != nil {
		return err
	}
	defer func() { _ = cons.Close() }()
	read := func(topic goka.Stream, n int, show func(m *sarama.ConsumerMessage) string) error {
		pc, err := cons.ConsumePartition(string(topic), 0, sarama.OffsetOldest)
		if err != nil {
			return err
		}
		defer func() { _ = pc.Close() }()
		timeout := time.After(30 * time.Second)
		for i := 0; i < n; i++ {
			select {
			case m := <-pc.Messages():
				fmt.Println(show(m))
			case <-timeout:
				return errors.New("timed out waiting for " + string(topic))
			}
		}
		return nil
	}
	if err := read(perMin, 3, func(m *sarama.ConsumerMessage) string {
		h := goka.HeadersFromSarama(m.Headers)
		ms, _ := strconv.ParseInt(string(h[goka.HeaderWindowStart]), 10, 64)
		v, _ := new(codec.Int64).Decode(m.Value)
		return fmt.Sprintf("final: %s clicked %d times in the minute of %s", m.Key, v, time.UnixMilli(ms).UTC().Format("15:04"))
	}); err != nil {
		return err
	}
	return read(reports, 4, func(m *sarama.ConsumerMessage) string { return "report: " + string(m.Value) })
}
