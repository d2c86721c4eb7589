package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/storage"
)

// Exactly-once workloads:
//
//   - process-leveldb-eos, process-memory-eos: process-leveldb and
//     process-memory with goka.ExactlyOnce at the default commit interval.
//   - latency-leveldb, latency-leveldb-eos: an emitter writes latencyN
//     messages at latencyRate msgs/s carrying their emit time; a counting
//     processor (at-least-once, exactly-once) also emits every message to
//     an output topic, which a read_committed consumer reads: the latency
//     is from the emit to the output being readable, that is committed
//     (p50 and p99). The first latencyWarmup messages, paced the same,
//     are not measured (their largest latency, and the largest time the
//     emitter waited for an acknowledgement, are reported apart): on
//     Kafka 4.4 the first second after the topics are created takes up
//     to 0.5-1 s per message under either guarantee, which alone decided
//     the p99 of a 10 s run. The broker causes it (its appends stall
//     when the new partitions write their first index entries, and the
//     emitter's acknowledgements wait as long; see README). msgs/s counts
//     from the first measured message; CPU µs/msg includes the warm-up.

const (
	latencyN      = 100_000
	latencyRate   = 10_000 // msgs/s
	latencyWarmup = 2 * latencyRate
)

// eosOptions are procOptions for exactly-once, which builds its clients
// itself from WithSaramaConfig.
func eosOptions(sb storage.Builder) []goka.ProcessorOption {
	return []goka.ProcessorOption{
		goka.WithStorageBuilder(sb),
		goka.WithSaramaConfig(config()),
		goka.WithTopicManagerBuilder(topicManager()),
		goka.WithProcessingGuarantee(goka.ExactlyOnce),
	}
}

func processEOS(ctx context.Context, p params, kind string, sb storage.Builder) (result, error) {
	c := newClock()
	group := p.processGroup(kind)
	proc, err := goka.NewProcessor(p.brokers, counter(group, p, c), eosOptions(sb)...)
	if err != nil {
		return result{}, err
	}
	c.start = time.Now()
	run := runInBackground(context.Background(), proc.Run)
	// The table topic's end offsets count commit markers too: processed
	// is when every callback ran, committed when the offsets are.
	if err := waitCount(ctx, &c.count, int64(p.n), run); err != nil {
		_ = run.stop()
		return result{}, err
	}
	res := result{Messages: p.n, Seconds: c.since(false), FirstMessageMs: c.firstMs()}
	if err := waitCommitted(ctx, p, group, p.input(), int64(p.n), run); err != nil {
		_ = run.stop()
		return result{}, err
	}
	res.CommittedSeconds = c.since(false)
	res.endMeasurement()
	// Local storage gets a transaction's writes just after its commit,
	// which the committed offsets already show.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := sumCounts(p, proc.Get); err == nil {
			break
		}
	}
	if err := verifyCounts(p, proc.Get, run, "counts"); err != nil {
		return result{}, err
	}
	return res, nil
}

func latency(ctx context.Context, p params, eos bool) (result, error) {
	kind := "latency"
	if eos {
		kind += "-eos"
	}
	group := p.processGroup(kind)
	in, out := group+"-in", group+"-out"
	tmb := topicManager()
	tm, err := tmb(p.brokers)
	if err != nil {
		return result{}, err
	}
	for _, t := range []string{in, out} {
		if err := tm.EnsureStreamExists(t, p.partitions); err != nil {
			_ = tm.Close()
			return result{}, err
		}
	}
	_ = tm.Close()

	g := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(in), new(codec.Bytes), func(ctx goka.Context, msg interface{}) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
			ctx.Emit(goka.Stream(out), ctx.Key(), msg)
		}),
		goka.Output(goka.Stream(out), new(codec.Bytes)),
		goka.Persist(new(codec.Int64)),
	)
	opts := procOptions(levelDBBuilder(p))
	if eos {
		opts = eosOptions(levelDBBuilder(p))
	}
	proc, err := goka.NewProcessor(p.brokers, g, opts...)
	if err != nil {
		return result{}, err
	}
	run := runInBackground(context.Background(), proc.Run)
	if err := waitReady(ctx, proc, run); err != nil {
		return result{}, errors.Join(err, run.stop())
	}

	cfg := config()
	cfg.Version = sarama.V2_5_0_0
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer(p.brokers, cfg)
	if err != nil {
		return result{}, errors.Join(err, run.stop())
	}
	defer func() { _ = consumer.Close() }()
	lat := make(chan sample, latencyN+latencyWarmup)
	for part := range int32(p.partitions) {
		pc, err := consumer.ConsumePartition(out, part, sarama.OffsetOldest)
		if err != nil {
			return result{}, errors.Join(err, run.stop())
		}
		defer func() { _ = pc.Close() }()
		go func() {
			for msg := range pc.Messages() {
				sent := int64(binary.BigEndian.Uint64(msg.Value))
				lat <- sample{time.Duration(time.Now().UnixNano() - sent), msg.Value[8] == 1}
			}
		}()
	}

	em, err := goka.NewEmitter(p.brokers, goka.Stream(in), new(codec.Bytes),
		goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(config())))
	if err != nil {
		return result{}, errors.Join(err, run.stop())
	}
	// The emitter's acknowledgements tell the broker's share of a warm-up
	// latency from the processor's: the emitter does nothing but batch.
	var ackMax maxDuration
	began := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	perTick := latencyRate / 100
	for i := 0; i < latencyWarmup+latencyN; {
		<-tick.C
		for j := 0; j < perTick && i < latencyWarmup+latencyN; j, i = j+1, i+1 {
			v := make([]byte, 9)
			binary.BigEndian.PutUint64(v, uint64(time.Now().UnixNano()))
			if i == latencyWarmup {
				began = time.Now()
			}
			if i >= latencyWarmup {
				v[8] = 1 // measured
			}
			pr, err := em.Emit("key-"+strconv.Itoa(i%p.keys), v)
			if err != nil {
				tick.Stop()
				return result{}, errors.Join(err, em.Finish(), run.stop())
			}
			if i < latencyWarmup {
				sent := time.Now()
				pr.Then(func(error) { ackMax.raise(time.Since(sent)) })
			}
		}
	}
	tick.Stop()
	if err := em.Finish(); err != nil {
		return result{}, errors.Join(err, run.stop())
	}
	all := make([]time.Duration, 0, latencyN)
	var warmMax time.Duration
	timeout := time.After(workloadTimeout)
	for read := 0; read < latencyWarmup+latencyN; read++ {
		select {
		case s := <-lat:
			if s.measured {
				all = append(all, s.d)
			} else {
				warmMax = max(warmMax, s.d)
			}
		case <-timeout:
			return result{}, errors.Join(fmt.Errorf("%d of %d outputs read", read, latencyWarmup+latencyN), run.stop())
		}
	}
	res := result{Messages: latencyN, Seconds: time.Since(began).Seconds()}
	res.endMeasurement()
	slices.Sort(all)
	res.LatencyP50Ms = float64(all[len(all)/2]) / float64(time.Millisecond)
	res.LatencyP99Ms = float64(all[len(all)*99/100]) / float64(time.Millisecond)
	res.WarmupMaxMs = float64(warmMax) / float64(time.Millisecond)
	res.WarmupMaxAckMs = float64(ackMax.load()) / float64(time.Millisecond)
	return res, run.stop()
}

// maxDuration is the largest duration raised from any goroutine.
type maxDuration struct{ v atomic.Int64 }

func (m *maxDuration) raise(d time.Duration) {
	for {
		old := m.v.Load()
		if int64(d) <= old || m.v.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

func (m *maxDuration) load() time.Duration { return time.Duration(m.v.Load()) }

// sample is the latency of one output message of the latency workloads.
type sample struct {
	d        time.Duration
	measured bool // false: a warm-up message
}

// waitReady waits until proc processes.
func waitReady(ctx context.Context, proc *goka.Processor, run *bgRun) error {
	ready := make(chan error, 1)
	go func() { ready <- proc.WaitForReadyContext(ctx) }()
	select {
	case err := <-ready:
		return err
	case <-run.done:
		return errOrNil(run.err)
	}
}
