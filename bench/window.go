package main

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/storage"
)

// The window workloads read an input of their own whose timestamps spread
// the messages evenly over a synthetic hour per million messages (3.6 ms
// apart), so that -n 4000000 is a run 4 times as long in event time:
// window-plain-count counts it with Persist, window-tumbling-count with
// 1-minute tumbling windows (grace 0, default retention = size). The
// harness pairs them, so the reported ratio is windowed / plain, in one
// run.

func (p params) windowInput() string { return p.run + "-window-input" }

// windowEpoch is the event time of the first message.
var windowEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// produceWindowInput writes the input once (the first repetition of the
// plain count); it is not measured.
func produceWindowInput(p params) error {
	prod, err := newProducer(p)
	if err != nil {
		return err
	}
	defer func() { _ = prod.Close() }()
	value := make([]byte, p.valueSize)
	done := acks(prod, p.n, newClock())
	for i := 0; i < p.n; i++ {
		ts := time.UnixMilli(windowEpoch + int64(i)*36/10)
		prod.Input() <- &sarama.ProducerMessage{Topic: p.windowInput(), Key: sarama.StringEncoder(p.key(i)), Value: sarama.ByteEncoder(value), Timestamp: ts}
	}
	return <-done
}

func windowPlainCount(ctx context.Context, p params) (result, error) {
	if p.rep == 0 {
		if err := produceWindowInput(p); err != nil {
			return result{}, fmt.Errorf("producing the window input: %w", err)
		}
	}
	c := newClock()
	group := p.processGroup("window-plain")
	gg := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(p.windowInput()), new(codec.Bytes), func(ctx goka.Context, _ any) {
			c.tick()
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	return runWindowWorkload(ctx, p, gg, group, c, nil)
}

func windowTumblingCount(ctx context.Context, p params) (result, error) {
	c := newClock()
	group := p.processGroup("window-tumbling")
	gg := goka.DefineGroup(goka.Group(group),
		goka.Windowed(goka.Stream(p.windowInput()), new(codec.Bytes), new(codec.Int64), func(ctx goka.TimeContext, _ any) {
			c.tick()
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}, goka.Tumbling(time.Minute)),
	)
	return runWindowWorkload(ctx, p, gg, group, c, func(proc *goka.Processor) error {
		if late := proc.LateMessages(); late != 0 {
			return fmt.Errorf("%d late messages in an input without disorder", late)
		}
		// The last minute's windows are live: their counts are the
		// messages of that minute (about n/60 per synthetic hour).
		last := time.UnixMilli(windowEpoch + int64(p.n-1)*36/10)
		var sum int64
		for k := 0; k < p.keys && k < p.n; k++ {
			ws, err := proc.Windows(p.key(k), last.Truncate(time.Minute), last)
			if err != nil {
				return err
			}
			for _, w := range ws {
				sum += w.Value.(int64)
			}
		}
		if sum == 0 {
			return fmt.Errorf("no live window counts")
		}
		return nil
	})
}

// runWindowWorkload runs gg until its group committed every input message.
func runWindowWorkload(ctx context.Context, p params, gg *goka.GroupGraph, group string, c *clock, verify func(*goka.Processor) error) (result, error) {
	var extra []goka.ProcessorOption
	if p.timeBudget > 0 {
		// A time store holds only open windows, written a few times
		// each: goleveldb's 4 MiB write buffers are what its memory is.
		extra = append(extra, goka.WithTimeStorageBuilder(storage.LevelDBBuilder(p.dir,
			storage.WithMemoryBudget(p.timeBudget*int64(p.partitions), p.partitions))))
	}
	proc, err := goka.NewProcessor(p.brokers, gg, procOptions(storage.DefaultBuilder(p.dir), extra...)...)
	if err != nil {
		return result{}, err
	}
	c.start = time.Now()
	run := runInBackground(context.Background(), proc.Run)
	admin, err := sarama.NewClusterAdmin(p.brokers, config())
	if err != nil {
		_ = run.stop()
		return result{}, err
	}
	defer func() { _ = admin.Close() }()
	for {
		select {
		case <-ctx.Done():
			_ = run.stop()
			return result{}, ctx.Err()
		case <-run.done:
			return result{}, fmt.Errorf("processor stopped: %w", errOrNil(run.err))
		case <-time.After(20 * time.Millisecond):
		}
		resp, err := admin.ListConsumerGroupOffsets(group, nil)
		if err != nil {
			continue
		}
		var sum int64
		for _, b := range resp.Blocks[p.windowInput()] {
			if b.Offset > 0 {
				sum += b.Offset
			}
		}
		if sum >= int64(p.n) {
			break
		}
	}
	res := result{Messages: p.n, Seconds: c.since(false), FirstMessageMs: c.firstMs()}
	heapProfile()
	if verify != nil {
		if err := verify(proc); err != nil {
			_ = run.stop()
			return result{}, err
		}
	}
	return res, run.stop()
}
