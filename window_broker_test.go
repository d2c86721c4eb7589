package goka_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/internal/kafka"
	"github.com/e3793d55/goka/kafkatest"
)

// produceAt writes events to topic, each to the partition of its key
// (Goka's hash) with its timestamp.
func produceAt(t *testing.T, brokers []string, topic string, n int, events []modelEvent) {
	t.Helper()
	cfg := testConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	prod, err := sarama.NewSyncProducer(brokers, cfg)
	require.NoError(t, err)
	defer prod.Close()
	for _, e := range events {
		_, _, err := prod.SendMessage(&sarama.ProducerMessage{
			Topic: topic, Key: sarama.StringEncoder(e.key), Value: sarama.StringEncoder("x"),
			Partition: kafka.PartitionOf(goka.DefaultHasher(), e.key, n), Timestamp: time.UnixMilli(e.ts),
		})
		require.NoError(t, err)
	}
}

// readAll reads every message of topic: key@header(start) or key@at -> value.
func readAll(t *testing.T, brokers []string, topic string) []*sarama.ConsumerMessage {
	t.Helper()
	cons, err := sarama.NewConsumer(brokers, testConfig())
	require.NoError(t, err)
	defer cons.Close()
	parts, err := cons.Partitions(topic)
	require.NoError(t, err)
	var out []*sarama.ConsumerMessage
	client, err := sarama.NewClient(brokers, testConfig())
	require.NoError(t, err)
	defer client.Close()
	for _, p := range parts {
		hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		require.NoError(t, err)
		if hwm == 0 {
			continue
		}
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		require.NoError(t, err)
		for m := range pc.Messages() {
			out = append(out, m)
			if m.Offset == hwm-1 {
				break
			}
		}
		require.NoError(t, pc.Close())
	}
	return out
}

// TestWindowRestartAndRebalance runs a random stream through tumbling
// windows on the embedded broker, with a restart or a rebalance to a
// second instance in the middle: the final results equal the reference
// model's, each emitted once, and every stream-time timer fires once.
func TestWindowRestartAndRebalance(t *testing.T) {
	for _, mode := range []string{"restart", "restart with a tiny window cache", "restart from a store written without the cache", "rebalance", "exactly-once restart with failed commits"} {
		t.Run(mode, func(t *testing.T) {
			const parts = 4
			const size, grace = 60_000, 10_000
			events := make([]modelEvent, 0, 400)
			r := rand.New(rand.NewPCG(42, 1))
			var base int64 = 1_000_000
			for range 400 {
				base += r.Int64N(4000)
				events = append(events, modelEvent{key: "k" + strconv.Itoa(r.IntN(12)), ts: base - r.Int64N(90_000)})
			}
			// The model per partition: stream time is a partition's.
			want, wantLate := map[string]int64{}, 0
			wantTimers := map[string]bool{}
			for p := int32(0); p < parts; p++ {
				var pe []modelEvent
				stream := int64(0)
				for _, e := range events {
					if kafka.PartitionOf(goka.DefaultHasher(), e.key, parts) == p {
						pe = append(pe, e)
						stream = max(stream, e.ts)
					}
				}
				m, late := windowModel("tumbling", size, size, 0, grace, pe)
				for k, v := range m {
					want[k] = v
				}
				wantLate += late
				// Timers at ts+2 min of non-late messages, due by the end.
				s := int64(0)
				for _, e := range pe {
					s = max(s, e.ts)
					end := e.ts - e.ts%size + size
					if end+grace > s && e.ts+120_000 <= stream {
						wantTimers[e.key+"@"+strconv.FormatInt(e.ts+120_000, 10)] = true
					}
				}
			}

			require.NotEmpty(t, want)
			require.NotEmpty(t, wantTimers)
			kc, err := kafkatest.New(kafkatest.Partitions(parts), kafkatest.Topic("win-in", parts), kafkatest.Topic("win-out", parts), kafkatest.Topic("win-fired", parts))
			require.NoError(t, err)
			t.Cleanup(kc.Close)
			brokers := kc.Brokers()
			eos := strings.HasPrefix(mode, "exactly-once")
			var extra []goka.ProcessorOption
			if eos {
				extra = append(extra, goka.WithProcessingGuarantee(goka.ExactlyOnce))
				// The first commits fail after their records were
				// produced: nothing of them may show in the outputs.
				var failed atomic.Int32
				kc.Fake().ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
					kc.Fake().KeepControl()
					end := req.(*kmsg.EndTxnRequest)
					if !end.Commit || failed.Add(1) > 3 {
						return nil, nil, false
					}
					resp := end.ResponseKind().(*kmsg.EndTxnResponse)
					resp.ErrorCode = kerr.InvalidTxnState.Code
					return resp, nil, true
				})
			}
			winOpts := []goka.WindowOption{goka.Tumbling(size * time.Millisecond), goka.Grace(grace * time.Millisecond), goka.EmitFinal("win-out", new(codec.Int64))}
			if strings.Contains(mode, "tiny") {
				// Evicts all the time: windows are read and closed
				// from the store as well as from the cache.
				winOpts = append(winOpts, goka.WindowCache(300))
			}
			group := goka.Group("win-" + strings.ReplaceAll(mode, " ", "-"))
			graph := func(winOpts ...goka.WindowOption) *goka.GroupGraph {
				return goka.DefineGroup(group,
					goka.Windowed("win-in", new(codec.String), new(codec.Int64), func(ctx goka.TimeContext, msg any) {
						count(ctx, msg)
						ctx.SetTimer(goka.StreamTime, ctx.Timestamp().Add(2*time.Minute), nil)
					}, winOpts...),
					goka.OnTimer(func(ctx goka.TimeContext, _ []byte) {
						ctx.Emit("win-fired", ctx.Key(), strconv.FormatInt(ctx.Timestamp().UnixMilli(), 10))
					}),
					goka.Output("win-fired", new(codec.String)),
				)
			}
			gg := graph(winOpts...)
			first := gg
			if strings.Contains(mode, "without the cache") {
				// The second instance finds index entries for every
				// window and must drop them as it loads its cache.
				first = graph(append(winOpts, goka.WindowCache(0))...)
			}
			started := 0
			newProc := func(dir string) (*goka.Processor, *runner) {
				g := gg
				if started++; started == 1 {
					g = first
				}
				p, err := goka.NewProcessor(brokers, g, procOpts(t, dir, extra...)...)
				require.NoError(t, err)
				return p, run(t, p.Run)
			}
			waitCommitted := func(n int) {
				eventually(t, 60*time.Second, func() bool {
					sum := int64(0)
					for _, o := range committed(t, brokers, string(group), "win-in") {
						sum += o
					}
					return sum == int64(n)
				}, "%d messages committed", n)
			}
			half := len(events) / 2
			produceAt(t, brokers, "win-in", parts, events[:half])
			dirA := t.TempDir()
			pa, ra := newProc(dirA)
			require.NoError(t, pa.WaitForReadyContext(context.Background()))
			waitCommitted(half)
			late := int64(0)
			var runners []*runner
			switch {
			case eos:
				require.NoError(t, ra.stop(t))
				pb, rb := newProc(dirA)
				require.NoError(t, pb.WaitForReadyContext(context.Background()))
				runners = []*runner{rb}
				produceAt(t, brokers, "win-in", parts, events[half:])
				waitCommitted(len(events))
				late = -1 // the aborted transactions' messages were seen twice
			case strings.HasPrefix(mode, "restart"):
				late += pa.LateMessages()
				require.NoError(t, ra.stop(t))
				pb, rb := newProc(dirA)
				require.NoError(t, pb.WaitForReadyContext(context.Background()))
				runners = []*runner{rb}
				produceAt(t, brokers, "win-in", parts, events[half:])
				waitCommitted(len(events))
				late += pb.LateMessages()
			case mode == "rebalance":
				pb, rb := newProc(t.TempDir())
				eventually(t, 60*time.Second, func() bool {
					_, errA := pa.Windows("k0", time.Time{}, time.Now())
					_, errB := pb.Windows("k0", time.Time{}, time.Now())
					return pb.Recovered() && pa.Recovered() && (errA == nil) != (errB == nil)
				}, "partitions split over two instances")
				produceAt(t, brokers, "win-in", parts, events[half:])
				waitCommitted(len(events))
				late = -1 // late counts live in the instance that saw them
				runners = []*runner{ra, rb}
			}
			for _, r := range runners {
				require.NoError(t, r.stop(t))
			}
			got := map[string]int64{}
			read := readAll
			if eos {
				read = readAllCommitted
			}
			for _, m := range read(t, brokers, "win-out") {
				h := goka.HeadersFromSarama(m.Headers)
				id := string(m.Key) + "@" + string(h[goka.HeaderWindowStart])
				_, dup := got[id]
				require.False(t, dup, "window %s emitted twice", id)
				v, err := new(codec.Int64).Decode(m.Value)
				require.NoError(t, err)
				got[id] = v.(int64)
			}
			require.Equal(t, sorted(want), sorted(got))
			if late >= 0 {
				require.EqualValues(t, wantLate, late)
			}
			fired := map[string]bool{}
			for _, m := range read(t, brokers, "win-fired") {
				id := fmt.Sprintf("%s@%s", m.Key, m.Value)
				require.False(t, fired[id], "timer %s fired twice", id)
				fired[id] = true
			}
			require.Equal(t, wantTimers, fired)
		})
	}
}

// TestWallClockTimerSurvivesRestart: a wall-clock timer set by one
// instance fires once, by the instance started after it stopped, with no
// input arriving.
func TestWallClockTimerSurvivesRestart(t *testing.T) {
	brokers := cluster(t, map[string]int{"wt-in": 2, "wt-fired": 2})
	gg := goka.DefineGroup("wt-restart",
		goka.Input("wt-in", new(codec.String), func(ctx goka.Context, msg any) {
			goka.TimeOf(ctx).SetTimer(goka.WallClock, time.Now().Add(3*time.Second), []byte(msg.(string)))
		}),
		goka.OnTimer(func(ctx goka.TimeContext, payload []byte) {
			ctx.Emit("wt-fired", ctx.Key(), string(payload))
		}),
		goka.Output("wt-fired", new(codec.String)),
	)
	dir := t.TempDir()
	pa, err := goka.NewProcessor(brokers, gg, procOpts(t, dir)...)
	require.NoError(t, err)
	ra := run(t, pa.Run)
	require.NoError(t, pa.WaitForReadyContext(context.Background()))
	em := emitter(t, brokers, "wt-in", new(codec.String))
	for i := range 6 {
		require.NoError(t, em.EmitSync(key(i), "p"+strconv.Itoa(i)))
	}
	eventually(t, 30*time.Second, func() bool {
		sum := int64(0)
		for _, o := range committed(t, brokers, "wt-restart", "wt-in") {
			sum += o
		}
		return sum == 6
	}, "6 messages committed")
	require.NoError(t, ra.stop(t))
	require.Empty(t, readAll(t, brokers, "wt-fired"), "stopped before the timers were due")

	pb, err := goka.NewProcessor(brokers, gg, procOpts(t, dir)...)
	require.NoError(t, err)
	rb := run(t, pb.Run)
	eventually(t, 30*time.Second, func() bool { return len(readAll(t, brokers, "wt-fired")) >= 6 }, "6 timers fired")
	time.Sleep(500 * time.Millisecond) // a duplicate would come right after
	require.NoError(t, rb.stop(t))
	fired := map[string]string{}
	for _, m := range readAll(t, brokers, "wt-fired") {
		_, dup := fired[string(m.Key)]
		require.False(t, dup, "timer of %s fired twice", m.Key)
		fired[string(m.Key)] = string(m.Value)
	}
	require.Len(t, fired, 6)
}

// readAllCommitted reads every committed record of topic, until no record
// came for a second (a read_committed consumer never sees the commit
// marker that ends a partition written by transactions).
func readAllCommitted(t *testing.T, brokers []string, topic string) []*sarama.ConsumerMessage {
	t.Helper()
	cfg := testConfig()
	cfg.Version = sarama.V2_5_0_0
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cons, err := sarama.NewConsumer(brokers, cfg)
	require.NoError(t, err)
	defer cons.Close()
	parts, err := cons.Partitions(topic)
	require.NoError(t, err)
	var out []*sarama.ConsumerMessage
	for _, p := range parts {
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		require.NoError(t, err)
	read:
		for {
			select {
			case m := <-pc.Messages():
				out = append(out, m)
			case <-time.After(time.Second):
				break read
			}
		}
		require.NoError(t, pc.Close())
	}
	return out
}
