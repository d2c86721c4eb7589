package systemtest

// Goka's own system tests (goka-api.md §9), on the real broker, in this
// process.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	goka "github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/storage"
	"github.com/e3793d55/goka/systemtest/internal/stcfg"
	"github.com/e3793d55/goka/systemtest/kafkaenv"
)

// tmBuilder creates topics with replication 1 and logs into lb (nil: default).
func tmBuilder(lb goka.Logger, mode goka.TMConfigMismatchBehavior) goka.TopicManagerBuilder {
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication = 1, 1
	tmc.MismatchBehavior = mode
	if lb != nil {
		tmc.Logger = lb
	}
	return goka.TopicManagerBuilderWithTopicManagerConfig(tmc)
}

// procOpts are the options of the processors of these tests; extra come last.
func procOpts(extra ...goka.ProcessorOption) []goka.ProcessorOption {
	return append([]goka.ProcessorOption{
		goka.WithTopicManagerBuilder(tmBuilder(nil, goka.TMConfigMismatchBehaviorIgnore)),
		goka.WithStorageBuilder(storage.MemoryBuilder()),
		goka.WithBackoffBuilder(stcfg.Backoff),
	}, extra...)
}

// running is a processor running in a goroutine.
type running struct {
	p    *goka.Processor
	errc chan error
	once sync.Once
	err  error
}

func runProcessor(t *testing.T, p *goka.Processor) *running {
	t.Helper()
	r := &running{p: p, errc: make(chan error, 1)}
	go func() { r.errc <- p.Run(context.Background()) }()
	t.Cleanup(func() { _ = r.stop(t) })
	return r
}

// stop stops the processor and returns Run's error.
func (r *running) stop(t *testing.T) error {
	r.once.Do(func() {
		r.p.Stop()
		select {
		case r.err = <-r.errc:
		case <-time.After(60 * time.Second):
			r.err = errors.New("Run did not return within 60s after Stop")
			t.Error(r.err)
		}
	})
	return r.err
}

// wait returns Run's error once it returned by itself.
func (r *running) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-r.errc:
		r.once.Do(func() { r.err = err })
		return err
	case <-time.After(timeout):
		t.Fatalf("Run did not return within %v", timeout)
		return nil
	}
}

func (r *running) ready(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.p.WaitForReadyContext(ctx); err != nil {
		t.Fatalf("processor not ready: %v", err)
	}
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func emitSync(t *testing.T, brokers []string, topic string, c goka.Codec, kv ...interface{}) {
	t.Helper()
	em, err := goka.NewEmitter(brokers, goka.Stream(topic), c)
	if err != nil {
		t.Fatal(err)
	}
	// Emit asynchronously and wait for every acknowledgement: one message
	// at a time would take a producer flush interval (100 ms) each.
	var (
		wg   sync.WaitGroup
		errs atomic.Int64
	)
	for i := 0; i+1 < len(kv); i += 2 {
		prom, err := em.Emit(kv[i].(string), kv[i+1])
		if err != nil {
			t.Fatalf("Emit: %v", err)
		}
		wg.Add(1)
		prom.Then(func(err error) {
			if err != nil {
				errs.Add(1)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err := em.Finish(); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if errs.Load() > 0 {
		t.Fatalf("%d emits to %s failed", errs.Load(), topic)
	}
}

// stream creates an input topic with n partitions.
func stream(t *testing.T, brokers []string, what string, n int32) string {
	t.Helper()
	topic := uniqueName(what)
	createTopic(t, brokers, topic, n, 1, nil)
	return topic
}

// AutoCommit: with auto-commit off nothing is committed, so a restarted
// processor reads every message again.
func TestGoka_AutoCommit(t *testing.T) {
	b := brokers(t)
	input := stream(t, b, "h-autocommit", 1)
	group := goka.Group(input + "-g")
	deleteTopics(t, b, string(goka.GroupTable(group)))
	emitSync(t, b, input, new(codec.String), "a", "1", "b", "2", "c", "3")
	cfg := stcfg.Config(false)
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	var seen atomic.Int64
	gg := goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
		seen.Add(1)
	}))
	for round := 1; round <= 2; round++ {
		p, err := goka.NewProcessor(b, gg, procOpts(goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(cfg)))...)
		if err != nil {
			t.Fatal(err)
		}
		r := runProcessor(t, p)
		eventually(t, time.Minute, "all 3 messages read", func() bool { return seen.Load() >= int64(3*round) })
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("RESULT h AutoCommit: 3 messages in, %d callbacks over 2 runs (all reread)", seen.Load())
	if seen.Load() != 6 {
		t.Fatalf("%d callbacks, want 6", seen.Load())
	}
}

// UnmarkedMessages: a callback failing on the second message stops the
// processor; a restarted one gets only that message again.
func TestGoka_UnmarkedMessages(t *testing.T) {
	b := brokers(t)
	input := stream(t, b, "h-unmarked", 1)
	group := goka.Group(input + "-g")
	emitSync(t, b, input, new(codec.String), "k", "1", "k", "2")
	var (
		mu   sync.Mutex
		got  []string
		fail atomic.Bool
	)
	fail.Store(true)
	gg := goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
		mu.Lock()
		got = append(got, msg.(string))
		mu.Unlock()
		if msg == "2" && fail.Load() {
			ctx.Fail(errors.New("failing on message 2"))
		}
	}))
	p, err := goka.NewProcessor(b, gg, procOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	err = runProcessor(t, p).wait(t, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "failing on message 2") {
		t.Fatalf("Run = %v, want the callback's failure", err)
	}
	fail.Store(false)
	mu.Lock()
	first := fmt.Sprint(got)
	got = nil
	mu.Unlock()
	p, err = goka.NewProcessor(b, gg, procOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	r := runProcessor(t, p)
	r.ready(t)
	eventually(t, time.Minute, "message 2 again", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 })
	time.Sleep(time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("RESULT h UnmarkedMessages: first run got %s, restart got %v", first, got)
	if fmt.Sprint(got) != "[2]" {
		t.Fatalf("restarted processor got %v, want only [2]", got)
	}
}

// Emitter_KafkaDisconnect: with the connections cut, emits fail through
// their promises and Finish still returns nil.
func TestGoka_EmitterKafkaDisconnect(t *testing.T) {
	b := brokers(t)
	managedSingle(t)
	px, pb := proxyFor(t)
	topic := stream(t, b, "h-emitdisc", 2)
	cfg := gokaRetries(goka.DefaultConfig()) // Goka's defaults: few retries
	em, err := goka.NewEmitter(pb, goka.Stream(topic), new(codec.String), goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := em.EmitSync(fmt.Sprint(i), "v"); err != nil {
			t.Fatalf("EmitSync before the cut: %v", err)
		}
	}
	px.cut(15 * time.Second)
	var failed, ok atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		prom, err := em.Emit(fmt.Sprint(i), "v")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		prom.Then(func(err error) {
			defer wg.Done()
			if err != nil {
				failed.Add(1)
			} else {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	start := time.Now()
	if err := em.Finish(); err != nil {
		t.Fatalf("Finish = %v, want nil", err)
	}
	t.Logf("RESULT h Emitter_KafkaDisconnect: 50 emits during the cut: %d failed, %d succeeded; Finish nil after %v",
		failed.Load(), ok.Load(), time.Since(start).Round(time.Millisecond))
	if failed.Load() == 0 {
		t.Fatal("no emit failed during the cut")
	}
}

// EmitterOffset: the acknowledged offsets of 100k emits to one partition
// increase monotonically.
func TestGoka_EmitterOffset(t *testing.T) {
	b := brokers(t)
	topic := stream(t, b, "h-emitoffset", 1)
	em, err := goka.NewEmitter(b, goka.Stream(topic), new(codec.String))
	if err != nil {
		t.Fatal(err)
	}
	const n = 100000
	var (
		mu      sync.Mutex
		last    int64 = -1
		bad     int
		acked   int
		started = time.Now()
	)
	for i := 0; i < n; i++ {
		prom, err := em.Emit("key", "value")
		if err != nil {
			t.Fatal(err)
		}
		prom.ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("emit: %v", err)
				return
			}
			if msg.Offset <= last {
				bad++
			}
			last = msg.Offset
			acked++
		})
	}
	if err := em.Finish(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("RESULT h EmitterOffset: %d acks in %v, last offset %d, %d out of order", acked, time.Since(started).Round(time.Millisecond), last, bad)
	if acked != n || bad != 0 || last != n-1 {
		t.Fatalf("%d acks, %d not increasing, last offset %d; want %d, 0, %d", acked, bad, last, n, n-1)
	}
}

// MultiTopics: a processor with 5 inputs sums them; Get on the processor
// and on a view reach the sum.
func TestGoka_MultiTopics(t *testing.T) {
	b := brokers(t)
	var inputs goka.Streams
	for i := 0; i < 5; i++ {
		inputs = append(inputs, goka.Stream(stream(t, b, fmt.Sprintf("h-multi%d", i), 2)))
	}
	group := goka.Group(string(inputs[0]) + "-g")
	deleteTopics(t, b, string(goka.GroupTable(group)))
	gg := goka.DefineGroup(group,
		goka.Inputs(inputs, new(codec.Int64), func(ctx goka.Context, msg interface{}) {
			var sum int64
			if v := ctx.Value(); v != nil {
				sum = v.(int64)
			}
			ctx.SetValue(sum + msg.(int64))
		}),
		goka.Persist(new(codec.Int64)))
	p, err := goka.NewProcessor(b, gg, procOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	r := runProcessor(t, p)
	r.ready(t)
	v, err := goka.NewView(b, goka.GroupTable(group), new(codec.Int64), goka.WithViewStorageBuilder(storage.MemoryBuilder()))
	if err != nil {
		t.Fatal(err)
	}
	vctx, vcancel := context.WithCancel(context.Background())
	vdone := make(chan error, 1)
	go func() { vdone <- v.Run(vctx) }()
	defer func() {
		vcancel()
		if err := <-vdone; err != nil {
			t.Errorf("view: %v", err)
		}
	}()
	var want int64
	for i, in := range inputs {
		var kv []interface{}
		for j := 1; j <= 10; j++ {
			kv = append(kv, "sum", int64(i*10+j))
			want += int64(i*10 + j)
		}
		emitSync(t, b, string(in), new(codec.Int64), kv...)
	}
	get := func(g goka.Getter) int64 {
		val, err := g("sum")
		if err != nil || val == nil {
			return -1
		}
		return val.(int64)
	}
	eventually(t, time.Minute, "processor sum", func() bool { return get(p.Get) == want })
	eventually(t, time.Minute, "view sum", func() bool { return get(v.Get) == want })
	t.Logf("RESULT h MultiTopics: 50 messages over 5 inputs, sum %d in processor and view", want)
}

// ProcessorShutdown_KafkaDisconnect: with Goka's default retries, a
// processor whose table writes fail while the connections are cut stops
// with an error.
func TestGoka_ProcessorShutdownKafkaDisconnect(t *testing.T) {
	b := brokers(t)
	managedSingle(t)
	px, pb := proxyFor(t)
	input := stream(t, b, "h-procdisc", 2)
	group := goka.Group(input + "-g")
	deleteTopics(t, b, string(goka.GroupTable(group)))
	cfg := gokaRetries(goka.DefaultConfig())
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	gg := goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
		ctx.SetValue(msg)
		time.Sleep(10 * time.Millisecond) // keeps messages in flight for the cut
	}), goka.Persist(new(codec.String)))
	p, err := goka.NewProcessor(pb, gg, procOpts(goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(cfg)))...)
	if err != nil {
		t.Fatal(err)
	}
	r := runProcessor(t, p)
	r.ready(t)
	l := newLoad(t, b, input, 20)
	defer l.finish()
	done := runLoad(l, 3000)
	defer func() { <-done }()
	time.Sleep(time.Second)
	px.cut(30 * time.Second)
	start := time.Now()
	err = r.wait(t, 45*time.Second)
	t.Logf("RESULT h ProcessorShutdown_KafkaDisconnect: Run returned %v after the cut: %.200v", time.Since(start).Round(time.Millisecond), err)
	if err == nil {
		t.Fatal("Run = nil, want an error")
	}
}

// HotStandby: an instance with hot standby keeps the partitions it is not
// assigned up to date: its Get serves every key.
func TestGoka_HotStandby(t *testing.T) {
	b := brokers(t)
	input := stream(t, b, "h-standby", 2)
	group := goka.Group(input + "-g")
	deleteTopics(t, b, string(goka.GroupTable(group)))
	gg := func() *goka.GroupGraph {
		return goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(msg)
		}), goka.Persist(new(codec.String)))
	}
	p1, err := goka.NewProcessor(b, gg(), procOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	r1 := runProcessor(t, p1)
	r1.ready(t)
	p2, err := goka.NewProcessor(b, gg(), procOpts(goka.WithHotStandby())...)
	if err != nil {
		t.Fatal(err)
	}
	r2 := runProcessor(t, p2)
	r2.ready(t)
	eventually(t, time.Minute, "both instances assigned", func() bool {
		return len(p1.Stats().Group) >= 1 && len(p2.Stats().Group) == 2
	})
	var kv []interface{}
	for i := 0; i < 20; i++ {
		kv = append(kv, fmt.Sprintf("key-%d", i), fmt.Sprintf("value-%d", i))
	}
	emitSync(t, b, input, new(codec.String), kv...)
	eventually(t, time.Minute, "standby instance serves every key", func() bool {
		for i := 0; i < 20; i++ {
			if v, err := p2.Get(fmt.Sprintf("key-%d", i)); err != nil || v != fmt.Sprintf("value-%d", i) {
				return false
			}
		}
		return true
	})
	modes := map[int32]goka.PPRunMode{}
	for part, s := range p2.Stats().Group {
		if s.TableStats != nil {
			modes[part] = s.TableStats.RunMode
		}
	}
	t.Logf("RESULT h HotStandby: 20 keys on 2 partitions, all served by the standby instance; its run modes %v", modes)
}

// RecoverAhead: two instances with recover-ahead over a 1-partition table:
// both recover it, the one without the partition too.
func TestGoka_RecoverAhead(t *testing.T) {
	b := brokers(t)
	input := stream(t, b, "h-recahead", 1)
	group := goka.Group(input + "-g")
	table := string(goka.GroupTable(group))
	createTopic(t, b, table, 1, 1, map[string]string{"cleanup.policy": "compact"})
	emitSync(t, b, table, new(codec.String), "a", "1", "b", "2", "c", "3")
	gg := func() *goka.GroupGraph {
		return goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(msg)
		}), goka.Persist(new(codec.String)))
	}
	var sets [2]atomic.Int64
	var rs [2]*running
	for i := range rs {
		i := i
		mem := storage.MemoryBuilder()
		counting := func(topic string, part int32) (storage.Storage, error) {
			st, err := mem(topic, part)
			return &countingStorage{Storage: st, sets: &sets[i]}, err
		}
		p, err := goka.NewProcessor(b, gg(), procOpts(goka.WithRecoverAhead(), goka.WithStorageBuilder(counting))...)
		if err != nil {
			t.Fatal(err)
		}
		rs[i] = runProcessor(t, p)
	}
	for _, r := range rs {
		r.ready(t)
	}
	eventually(t, time.Minute, "both instances recovered the table", func() bool { return sets[0].Load() >= 3 && sets[1].Load() >= 3 })
	t.Logf("RESULT h RecoverAhead: 3 table records; instances applied %d and %d", sets[0].Load(), sets[1].Load())
}

type countingStorage struct {
	storage.Storage
	sets *atomic.Int64
}

func (s *countingStorage) Set(key string, value []byte) error {
	s.sets.Add(1)
	return s.Storage.Set(key, value)
}

// Rebalance: instances join and leave one after the other under load; every
// Run ends cleanly and nothing is lost.
func TestGoka_Rebalance(t *testing.T) {
	b := brokers(t)
	input := stream(t, b, "h-rebalance", 4)
	group := goka.Group(input + "-g")
	deleteTopics(t, b, string(goka.GroupTable(group)))
	var processed atomic.Int64
	gg := func() *goka.GroupGraph {
		return goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
			processed.Add(1)
			ctx.SetValue(msg)
		}), goka.Persist(new(codec.String)))
	}
	l := newLoad(t, b, input, 40)
	defer l.finish()
	done := runLoad(l, 8000)
	var rs []*running
	for i := 0; i < 3; i++ {
		p, err := goka.NewProcessor(b, gg(), procOpts()...)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, runProcessor(t, p))
		time.Sleep(time.Second)
	}
	for _, r := range rs[:2] {
		if err := r.stop(t); err != nil {
			t.Fatalf("Run after Stop = %v, want nil", err)
		}
		time.Sleep(time.Second)
	}
	<-done
	acked, _ := l.stats()
	eventually(t, time.Minute, "all messages processed", func() bool { return processed.Load() >= acked })
	if err := rs[2].stop(t); err != nil {
		t.Fatalf("Run after Stop = %v, want nil", err)
	}
	t.Logf("RESULT h Rebalance: %d messages in, %d processed over 3 instances joining and leaving", acked, processed.Load())
}

// RebalanceSharePartitions: two hot-standby instances share the partitions
// half active, half passive; when one stops the other runs all actively.
func TestGoka_RebalanceSharePartitions(t *testing.T) {
	b := brokers(t)
	input := stream(t, b, "h-share", 4)
	group := goka.Group(input + "-g")
	deleteTopics(t, b, string(goka.GroupTable(group)))
	gg := func() *goka.GroupGraph {
		return goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(msg)
		}), goka.Persist(new(codec.String)))
	}
	var ps []*goka.Processor
	var rs []*running
	for i := 0; i < 2; i++ {
		p, err := goka.NewProcessor(b, gg(), procOpts(goka.WithHotStandby())...)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
		rs = append(rs, runProcessor(t, p))
	}
	modes := func(p *goka.Processor) (active, passive int) {
		for _, s := range p.Stats().Group {
			if s.TableStats == nil {
				continue
			}
			switch s.TableStats.RunMode {
			case 0:
				active++
			case 1:
				passive++
			}
		}
		return active, passive
	}
	eventually(t, time.Minute, "2 active and 2 passive partitions each", func() bool {
		a0, p0 := modes(ps[0])
		a1, p1 := modes(ps[1])
		return a0 == 2 && p0 == 2 && a1 == 2 && p1 == 2
	})
	if err := rs[0].stop(t); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the remaining instance runs all 4 partitions actively", func() bool {
		a, p := modes(ps[1])
		return a == 4 && p == 0
	})
	t.Logf("RESULT h RebalanceSharePartitions: 2+2 active/passive per instance, then 4 active on the remaining one")
}

// CallbackFail: emitting to an undeclared topic fails the processor.
func TestGoka_CallbackFail(t *testing.T) {
	b := brokers(t)
	input := stream(t, b, "h-cbfail", 1)
	group := goka.Group(input + "-g")
	gg := goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
		ctx.Emit("undeclared-topic", "key", "value")
	}))
	p, err := goka.NewProcessor(b, gg, procOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	r := runProcessor(t, p)
	r.ready(t)
	emitSync(t, b, input, new(codec.String), "k", "v")
	err = r.wait(t, time.Minute)
	t.Logf("RESULT h CallbackFail: Run = %.150v", err)
	if err == nil || !strings.Contains(err.Error(), "error processing message") {
		t.Fatalf("Run = %v, want an error processing message", err)
	}
}

// ProcessorSlowStuck: a slow callback that then panics stops the processor
// with "panic in callback" instead of getting stuck.
func TestGoka_ProcessorSlowStuck(t *testing.T) {
	b := brokers(t)
	input := stream(t, b, "h-slow", 2)
	group := goka.Group(input + "-g")
	var n atomic.Int64
	gg := goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
		time.Sleep(200 * time.Millisecond)
		if n.Add(1) == 3 {
			panic("slow callback gives up")
		}
	}))
	p, err := goka.NewProcessor(b, gg, procOpts(goka.WithPartitionChannelSize(1))...)
	if err != nil {
		t.Fatal(err)
	}
	r := runProcessor(t, p)
	r.ready(t)
	var kv []interface{}
	for i := 0; i < 50; i++ {
		kv = append(kv, fmt.Sprint(i), "v")
	}
	emitSync(t, b, input, new(codec.String), kv...)
	start := time.Now()
	err = r.wait(t, time.Minute)
	t.Logf("RESULT h ProcessorSlowStuck: Run returned after %v: %.80v", time.Since(start).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), "panic in callback") {
		t.Fatalf("Run = %v, want panic in callback", err)
	}
}

// MessageCommit: after a clean stop nothing is processed twice: a count
// stays at 10 over 3 restarts.
func TestGoka_MessageCommit(t *testing.T) {
	b := brokers(t)
	input := stream(t, b, "h-commit", 1)
	group := goka.Group(input + "-g")
	deleteTopics(t, b, string(goka.GroupTable(group)))
	var kv []interface{}
	for i := 0; i < 10; i++ {
		kv = append(kv, "key", "v")
	}
	emitSync(t, b, input, new(codec.String), kv...)
	gg := goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
		var c int64
		if v := ctx.Value(); v != nil {
			c = v.(int64)
		}
		ctx.SetValue(c + 1)
	}), goka.Persist(new(codec.Int64)))
	dir := t.TempDir()
	for run := 1; run <= 3; run++ {
		p, err := goka.NewProcessor(b, gg, procOpts(goka.WithStorageBuilder(storage.DefaultBuilder(dir)))...)
		if err != nil {
			t.Fatal(err)
		}
		r := runProcessor(t, p)
		r.ready(t)
		eventually(t, time.Minute, "count 10", func() bool { v, _ := p.Get("key"); return v == int64(10) })
		time.Sleep(time.Second) // a second chance for a wrong recount
		if v, _ := p.Get("key"); v != int64(10) {
			t.Fatalf("run %d: count %v, want 10", run, v)
		}
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("RESULT h MessageCommit: 10 messages, count 10 after 3 runs")
}

// GracefulShutdownContinue: a stopped processor cannot run again; a new one
// continues where it stopped and the values never regress.
func TestGoka_GracefulShutdownContinue(t *testing.T) {
	b := brokers(t)
	input := stream(t, b, "h-graceful", 2)
	group := goka.Group(input + "-g")
	deleteTopics(t, b, string(goka.GroupTable(group)))
	gg := goka.DefineGroup(group, goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg interface{}) {
		var c int64
		if v := ctx.Value(); v != nil {
			c = v.(int64)
		}
		ctx.SetValue(c + 1)
	}), goka.Persist(new(codec.Int64)))
	l := newLoad(t, b, input, 10)
	defer l.finish()
	done := runLoad(l, 6000)
	dir := t.TempDir()
	last := map[string]int64{}
	for run := 1; run <= 3; run++ {
		p, err := goka.NewProcessor(b, gg, procOpts(goka.WithStorageBuilder(storage.DefaultBuilder(dir)))...)
		if err != nil {
			t.Fatal(err)
		}
		r := runProcessor(t, p)
		r.ready(t)
		time.Sleep(time.Second)
		for _, k := range l.keys {
			v, _ := p.Get(k)
			c, _ := v.(int64)
			if c < last[k] {
				t.Fatalf("run %d: %s regressed from %d to %d", run, k, last[k], c)
			}
			last[k] = c
		}
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background()); err == nil {
			t.Fatal("second Run of a stopped processor = nil, want an error")
		}
	}
	<-done
	t.Logf("RESULT h GracefulShutdownContinue: 3 runs, values never regressed (e.g. %s = %d), second Run errors", l.keys[0], last[l.keys[0]])
}

// ProcessorVisit: VisitAll visits every key; a panicking visitor kills the
// processor; a cancelled context ends the visit with context.Canceled.
func TestGoka_ProcessorVisit(t *testing.T) {
	b := brokers(t)
	newVisitProc := func(t *testing.T, visit goka.ProcessCallback) (*goka.Processor, *running, string) {
		input := stream(t, b, "h-visit", 2)
		group := goka.Group(input + "-g")
		deleteTopics(t, b, string(goka.GroupTable(group)))
		gg := goka.DefineGroup(group,
			goka.Input(goka.Stream(input), new(codec.Int64), func(ctx goka.Context, msg interface{}) { ctx.SetValue(msg) }),
			goka.Visitor("visit", visit),
			goka.Persist(new(codec.Int64)))
		p, err := goka.NewProcessor(b, gg, procOpts()...)
		if err != nil {
			t.Fatal(err)
		}
		r := runProcessor(t, p)
		r.ready(t)
		var kv []interface{}
		for i := 0; i < 100; i++ {
			kv = append(kv, fmt.Sprintf("key-%d", i), int64(1))
		}
		emitSync(t, b, input, new(codec.Int64), kv...)
		eventually(t, time.Minute, "100 keys", func() bool { v, _ := p.Get("key-99"); return v == int64(1) })
		return p, r, input
	}
	t.Run("success", func(t *testing.T) {
		p, _, _ := newVisitProc(t, func(ctx goka.Context, meta interface{}) { ctx.SetValue(meta) })
		n, err := p.VisitAllWithStats(context.Background(), "visit", int64(2))
		if err != nil || n != 100 {
			t.Fatalf("VisitAllWithStats = %d, %v; want 100, nil", n, err)
		}
		eventually(t, 30*time.Second, "visited values", func() bool { v, _ := p.Get("key-50"); return v == int64(2) })
		t.Logf("RESULT h ProcessorVisit/success: visited %d keys", n)
	})
	t.Run("panic", func(t *testing.T) {
		p, r, _ := newVisitProc(t, func(ctx goka.Context, meta interface{}) { panic("visitor panics") })
		_ = p.VisitAll(context.Background(), "visit", nil)
		err := r.wait(t, time.Minute)
		if err == nil || !strings.Contains(err.Error(), "visitor panics") {
			t.Fatalf("Run = %v, want the visitor's panic", err)
		}
		t.Logf("RESULT h ProcessorVisit/panic: Run = %.100v", err)
	})
	t.Run("cancel", func(t *testing.T) {
		p, _, _ := newVisitProc(t, func(ctx goka.Context, meta interface{}) { time.Sleep(50 * time.Millisecond) })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		time.AfterFunc(500*time.Millisecond, cancel)
		n, err := p.VisitAllWithStats(ctx, "visit", nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("VisitAllWithStats after cancel = %d, %v; want context.Canceled", n, err)
		}
		if n >= 100 {
			t.Fatalf("visited %d keys despite the cancel", n)
		}
		t.Logf("RESULT h ProcessorVisit/cancel: %d keys visited, %v", n, err)
	})
	t.Run("stop", func(t *testing.T) {
		p, r, _ := newVisitProc(t, func(ctx goka.Context, meta interface{}) { time.Sleep(50 * time.Millisecond) })
		errc := make(chan error, 1)
		go func() { errc <- p.VisitAll(context.Background(), "visit", nil) }()
		time.Sleep(300 * time.Millisecond)
		_ = r.stop(t)
		err := <-errc
		if !errors.Is(err, goka.ErrVisitAborted) {
			t.Fatalf("VisitAll after Stop = %v, want ErrVisitAborted", err)
		}
		t.Logf("RESULT h ProcessorVisit/stop: %v", err)
	})
}

// TopicManager: on the real broker, a partition-count mismatch fails in
// Fail mode, a missing topic says "requested topic was not found", and a
// topic with 123 partitions is created.
func TestGoka_TopicManager(t *testing.T) {
	b := brokers(t)
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication = 1, 1
	tmc.MismatchBehavior = goka.TMConfigMismatchBehaviorFail
	tm, err := goka.NewTopicManager(b, stcfg.Config(false), tmc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tm.Close() }()
	topic := stream(t, b, "h-tm", 2)
	if err := tm.EnsureStreamExists(topic, 3); err == nil {
		t.Error("EnsureStreamExists with 3 partitions on a 2-partition topic = nil, want an error")
	} else {
		t.Logf("repartition: %v", err)
	}
	if _, err := tm.Partitions(uniqueName("missing")); err == nil || !strings.Contains(err.Error(), "requested topic was not found") {
		t.Errorf("Partitions of a missing topic = %v, want requested topic was not found", err)
	}
	big := uniqueName("h-tm123")
	deleteTopics(t, b, big)
	if err := tm.EnsureStreamExists(big, 123); err != nil {
		t.Fatal(err)
	}
	parts, err := tm.Partitions(big)
	if err != nil || len(parts) != 123 {
		t.Fatalf("Partitions = %d, %v; want 123", len(parts), err)
	}
	t.Logf("RESULT h TopicManager: mismatch fails, missing topic named, 123 partitions created")
}

// View_Reconnect: a view with auto-reconnect goes to Connecting when the
// connections are cut, runs again afterwards and follows new values.
func TestGoka_ViewReconnect(t *testing.T) {
	b := brokers(t)
	managedSingle(t)
	px, pb := proxyFor(t)
	table := uniqueName("h-viewrc") + "-table"
	createTopic(t, b, table, 2, 1, map[string]string{"cleanup.policy": "compact"})
	emitSync(t, b, table, new(codec.Int64), "key", int64(1))
	v, err := goka.NewView(pb, goka.Table(table), new(codec.Int64), goka.WithViewAutoReconnect(),
		goka.WithViewStorageBuilder(storage.MemoryBuilder()), goka.WithViewBackoffBuilder(stcfg.Backoff))
	if err != nil {
		t.Fatal(err)
	}
	obs := v.ObserveStateChanges()
	defer obs.Stop()
	var (
		mu     sync.Mutex
		states []goka.ViewState
	)
	go func() {
		for s := range obs.C() {
			mu.Lock()
			states = append(states, goka.ViewState(s))
			mu.Unlock()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("view: %v", err)
		}
	}()
	eventually(t, time.Minute, "view running with value 1", func() bool { val, _ := v.Get("key"); return val == int64(1) })
	px.cut(10 * time.Second)
	start := time.Now()
	// Goka's view returns the first consumer error of a partition, so with
	// auto-reconnect it shows Connecting during the cut. The test requires
	// the same: it fails if the view does not reach Connecting within 12s
	// of the start of the 10s cut.
	connecting := false
	for time.Since(start) < 12*time.Second && !connecting {
		connecting = v.CurrentState() == goka.ViewStateConnecting
		time.Sleep(50 * time.Millisecond)
	}
	if !connecting {
		t.Fatalf("the view did not go to Connecting during the 10s cut (state %v)", v.CurrentState())
	}
	eventually(t, time.Minute, "view running again", func() bool { return v.CurrentState() == goka.ViewStateRunning })
	emitSync(t, b, table, new(codec.Int64), "key", int64(2))
	eventually(t, time.Minute, "view follows again", func() bool { val, _ := v.Get("key"); return val == int64(2) })
	back := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("RESULT h View_Reconnect: new value seen %v after the start of a 10s cut; states %v", back.Round(100*time.Millisecond), states)
}

// proxyFor starts the TCP proxy in front of the single broker's PROXY
// listener and returns it with the bootstrap address to use.
func proxyFor(t *testing.T) (*proxy, []string) {
	t.Helper()
	addr, err := kafkaenv.ProxyBrokers()
	if err != nil {
		t.Fatal(err)
	}
	target, err := kafkaenv.ProxyTarget()
	if err != nil {
		t.Fatal(err)
	}
	return startProxy(t, addr, target), []string{addr}
}

// gokaRetries sets the retries of Goka's DefaultConfig, as documented in
// DefaultConfig: goka's producer rides out about 3 s without a leader, and
// Goka's behaviour these tests check is to fail within a cut.
func gokaRetries(cfg *sarama.Config) *sarama.Config {
	cfg.Metadata.Retry.Max = 3
	cfg.Net.DialTimeout = 30 * time.Second
	return cfg
}
