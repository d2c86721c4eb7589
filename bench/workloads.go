package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	"github.com/e3793d55/goka/storage"
)

// Topic and group names of a run.
func (p params) input() string          { return p.run + "-input" }
func (p params) ceilingProduce() string { return p.run + "-ceiling-produce" }
func (p params) ceilingOutput() string  { return p.run + "-ceiling-output" }
func (p params) group(kind string) string {
	return p.run + "-count-" + kind
}

// emitTopic is the input for the first emit run, a topic of its own for
// the repetitions.
func (p params) emitTopic() string {
	if p.rep == 0 {
		return p.input()
	}
	return fmt.Sprintf("%s-r%d", p.input(), p.rep)
}

// processGroup is the group of a processing run; repetitions use groups of
// their own, so that they read the input from the start again.
func (p params) processGroup(kind string) string {
	if p.rep == 0 {
		return p.group(kind)
	}
	return fmt.Sprintf("%s-r%d", p.group(kind), p.rep)
}
func (p params) key(i int) string { return "key-" + strconv.Itoa(i%p.keys) }

// workloadTimeout bounds every workload, so that a bug shows as an error
// rather than a hung benchmark.
const workloadTimeout = 30 * time.Minute

// clock measures a workload: from start (or the first message) to the end.
type clock struct {
	start time.Time
	first atomic.Int64 // unix nanos of the first message
	count atomic.Int64 // messages processed (the counter's callbacks)
}

func newClock() *clock { return &clock{start: time.Now()} }

// tick records the first message.
func (c *clock) tick() {
	if c.first.Load() == 0 {
		c.first.CompareAndSwap(0, time.Now().UnixNano())
	}
}

func (c *clock) firstMs() float64 {
	f := c.first.Load()
	if f == 0 {
		return 0
	}
	return float64(f-c.start.UnixNano()) / 1e6
}

// since returns the seconds from the first message (or the start, if
// fromStart) to now.
func (c *clock) since(fromStart bool) float64 {
	from := c.start
	if f := c.first.Load(); f != 0 && !fromStart {
		from = time.Unix(0, f)
	}
	return time.Since(from).Seconds()
}

func config() *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.ClientID = "goka-bench"
	return cfg
}

func topicManager() goka.TopicManagerBuilder {
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	return goka.TopicManagerBuilderWithConfig(config(), tmc)
}

// heapProfile is called by a workload when its measurement ends.
var heapProfile = func() {}

func runChild(name string, p params, cpuprof, memprof string) error {
	if memprof != "" {
		heapProfile = func() {
			f, err := os.Create(memprof + "." + name)
			if err != nil {
				return
			}
			defer func() { _ = f.Close() }()
			_ = pprof.Lookup("heap").WriteTo(f, 0)
		}
	}
	if cpuprof != "" {
		f, err := os.Create(cpuprof + "." + name)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithTimeout(context.Background(), workloadTimeout)
	defer cancel()
	var (
		res result
		err error
	)
	switch name {
	case "ceiling-produce":
		res, err = ceilingProduce(p)
	case "emit":
		res, err = emit(p, p.emitTopic())
	case "ceiling-consume-produce":
		res, err = ceilingConsumeProduce(ctx, p)
	case "process-leveldb":
		res, err = process(ctx, p, "leveldb", levelDBBuilder(p))
	case "process-leveldb-cache":
		res, err = process(ctx, p, "leveldb-cache", levelDBBuilder(p), goka.WithTableWriteCache(goka.DefaultTableWriteCacheBytes))
	case "process-memory":
		res, err = process(ctx, p, "memory", storage.MemoryBuilder())
	case "process-leveldb-eos":
		res, err = processEOS(ctx, p, "leveldb-eos", levelDBBuilder(p))
	case "process-memory-eos":
		res, err = processEOS(ctx, p, "memory-eos", storage.MemoryBuilder())
	case "latency-leveldb":
		res, err = latency(ctx, p, false)
	case "latency-leveldb-eos":
		res, err = latency(ctx, p, true)
	case "window-plain-count":
		res, err = windowPlainCount(ctx, p)
	case "window-tumbling-count":
		res, err = windowTumblingCount(ctx, p)
	case "ceiling-consume":
		res, err = ceilingConsume(ctx, p, string(goka.GroupTable(goka.Group(p.group("leveldb")))))
	case "view-recovery-leveldb":
		res, err = viewRecovery(ctx, p)
	case "processor-recovery-leveldb":
		res, err = processorRecovery(ctx, p)
	default:
		return fmt.Errorf("unknown workload %q", name)
	}
	if err != nil {
		return err
	}
	if res.AllocBytes == 0 {
		res.AllocBytes, res.Allocs = selfAllocs()
	}
	res.Name = name
	return json.NewEncoder(os.Stdout).Encode(res)
}

// ---------------------------------------------------------------------------
// Raw Sarama ceilings

func newProducer(p params) (sarama.AsyncProducer, error) {
	cfg := config()
	cfg.Producer.Partitioner = sarama.NewCustomHashPartitioner(goka.DefaultHasher())
	return sarama.NewAsyncProducer(p.brokers, cfg)
}

// acks counts a producer's results until want successes arrived.
func acks(prod sarama.AsyncProducer, want int, c *clock) <-chan error {
	done := make(chan error, 1)
	go func() {
		ok := 0
		for ok < want {
			select {
			case <-prod.Successes():
				c.tick()
				ok++
			case err := <-prod.Errors():
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

func ceilingProduce(p params) (result, error) {
	prod, err := newProducer(p)
	if err != nil {
		return result{}, err
	}
	defer func() { _ = prod.Close() }()
	value := make([]byte, p.valueSize)
	c := newClock()
	done := acks(prod, p.n, c)
	for i := 0; i < p.n; i++ {
		prod.Input() <- &sarama.ProducerMessage{Topic: p.ceilingProduce(), Key: sarama.StringEncoder(p.key(i)), Value: sarama.ByteEncoder(value)}
	}
	if err := <-done; err != nil {
		return result{}, err
	}
	return result{Messages: p.n, Seconds: c.since(true), FirstMessageMs: c.firstMs()}, nil
}

// consumeAll reads every partition of topic from the oldest offset to the
// current end and calls fn for each message, concurrently per partition. It
// returns the number of messages and the time the last one arrived: closing
// a partition consumer waits for the broker consumer's current fetch (up to
// Consumer.MaxWaitTime), which is not reading time.
func consumeAll(ctx context.Context, p params, topic string, fn func(*sarama.ConsumerMessage)) (int, time.Time, error) {
	client, err := sarama.NewClient(p.brokers, config())
	if err != nil {
		return 0, time.Time{}, err
	}
	defer func() { _ = client.Close() }()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer func() { _ = consumer.Close() }()
	parts, err := client.Partitions(topic)
	if err != nil {
		return 0, time.Time{}, err
	}
	var (
		wg    sync.WaitGroup
		total atomic.Int64
		last  atomic.Int64 // unix nanos
		errs  = make(chan error, len(parts))
	)
	// Offsets first, so that the clock, started by the first message, does
	// not include the set-up of the other partitions.
	oldest := make([]int64, len(parts))
	newest := make([]int64, len(parts))
	for i, part := range parts {
		if newest[i], err = client.GetOffset(topic, part, sarama.OffsetNewest); err != nil {
			return 0, time.Time{}, err
		}
		if oldest[i], err = client.GetOffset(topic, part, sarama.OffsetOldest); err != nil {
			return 0, time.Time{}, err
		}
	}
	// One goroutine per partition from the start: ConsumePartition asks the
	// broker for offsets, and doing that in turn would count the set-up of
	// the last partitions in the time of the first.
	for i, part := range parts {
		hwm := newest[i]
		if hwm <= oldest[i] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc, err := consumer.ConsumePartition(topic, part, oldest[i])
			if err != nil {
				errs <- err
				return
			}
			defer func() { _ = pc.Close() }()
			for {
				select {
				case m := <-pc.Messages():
					fn(m)
					total.Add(1)
					if m.Offset >= hwm-1 {
						now := time.Now().UnixNano()
						for {
							l := last.Load()
							if now <= l || last.CompareAndSwap(l, now) {
								break
							}
						}
						return
					}
				case err := <-pc.Errors():
					errs <- err
					return
				case <-ctx.Done():
					errs <- ctx.Err()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return int(total.Load()), time.Unix(0, last.Load()), errors.Join(collect(errs)...)
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

func ceilingConsumeProduce(ctx context.Context, p params) (result, error) {
	prod, err := newProducer(p)
	if err != nil {
		return result{}, err
	}
	defer func() { _ = prod.Close() }()
	c := newClock()
	done := acks(prod, p.n, c)
	value := make([]byte, 8)
	n, _, err := consumeAll(ctx, p, p.input(), func(m *sarama.ConsumerMessage) {
		c.tick()
		prod.Input() <- &sarama.ProducerMessage{Topic: p.ceilingOutput(), Key: sarama.ByteEncoder(m.Key), Value: sarama.ByteEncoder(value)}
	})
	if err != nil {
		return result{}, err
	}
	if n != p.n {
		return result{}, fmt.Errorf("consumed %d messages, want %d", n, p.n)
	}
	if err := <-done; err != nil {
		return result{}, err
	}
	return result{Messages: p.n, Seconds: c.since(false), FirstMessageMs: c.firstMs()}, nil
}

func ceilingConsume(ctx context.Context, p params, topic string) (result, error) {
	c := newClock()
	n, last, err := consumeAll(ctx, p, topic, func(*sarama.ConsumerMessage) { c.tick() })
	if err != nil {
		return result{}, err
	}
	return result{Messages: n, Seconds: last.Sub(time.Unix(0, c.first.Load())).Seconds(), FirstMessageMs: c.firstMs()}, nil
}

// ---------------------------------------------------------------------------
// Library workloads

func emit(p params, topic string) (result, error) {
	em, err := goka.NewEmitter(p.brokers, goka.Stream(topic), new(codec.Bytes),
		goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(config())))
	if err != nil {
		return result{}, err
	}
	value := make([]byte, p.valueSize)
	var failed atomic.Pointer[error]
	check := func(err error) {
		if err != nil {
			failed.CompareAndSwap(nil, &err)
		}
	}
	c := newClock()
	for i := 0; i < p.n; i++ {
		prom, err := em.Emit(p.key(i), value)
		if err != nil {
			_ = em.Finish()
			return result{}, err
		}
		if i == 0 {
			prom.Then(func(error) { c.tick() })
		}
		prom.Then(check)
	}
	if err := em.Finish(); err != nil {
		return result{}, err
	}
	if e := failed.Load(); e != nil {
		return result{}, *e
	}
	return result{Messages: p.n, Seconds: c.since(true), FirstMessageMs: c.firstMs()}, nil
}

// counter is the processor of the processing workloads: it counts the
// messages per key.
func counter(group string, p params, c *clock) *goka.GroupGraph {
	return goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(p.input()), new(codec.Bytes), func(ctx goka.Context, _ interface{}) {
			c.tick()
			c.count.Add(1)
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
}

// errOrNil names a Run that returned nil although nobody stopped it.
func errOrNil(err error) error {
	if err == nil {
		return errors.New("returned nil without being stopped")
	}
	return err
}

// waitEndOffsets polls the sum of the end offsets of topic until it reaches
// want. It runs in the measured process, so a poll is one ListOffsets
// request per leader for all of its partitions: asking per partition, as
// Client.GetOffset does, made 100 round trips every 10 ms at 100
// partitions, 6 % of the processor's CPU and more of the broker's, which
// the ceilings, counting their acknowledgements in process, never paid.
func waitEndOffsets(ctx context.Context, p params, topic string, want int64, run *bgRun) error {
	client, err := sarama.NewClient(p.brokers, config())
	if err != nil {
		return err
	}
	defer func() { _ = client.Close() }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-run.done:
			return fmt.Errorf("processor stopped: %w", errOrNil(run.err))
		case <-tick.C:
		}
		parts, err := client.Partitions(topic)
		if err != nil {
			continue // not created yet
		}
		if sum, err := sumEndOffsets(client, topic, parts); err == nil && sum >= want {
			return nil
		}
	}
}

// sumEndOffsets returns the sum of the end offsets of parts of topic,
// asking each leader once for all of its partitions.
func sumEndOffsets(client sarama.Client, topic string, parts []int32) (int64, error) {
	byLeader := map[*sarama.Broker][]int32{}
	for _, part := range parts {
		b, err := client.Leader(topic, part)
		if err != nil {
			return 0, err
		}
		byLeader[b] = append(byLeader[b], part)
	}
	var sum int64
	for b, led := range byLeader {
		req := sarama.NewOffsetRequest(client.Config().Version)
		for _, part := range led {
			req.AddBlock(topic, part, sarama.OffsetNewest, 1)
		}
		resp, err := b.GetAvailableOffsets(req)
		if err != nil {
			return 0, err
		}
		for _, part := range led {
			block := resp.GetBlock(topic, part)
			switch {
			case block == nil:
				return 0, fmt.Errorf("end offset of %s/%d: %w", topic, part, sarama.ErrIncompleteResponse)
			case !errors.Is(block.Err, sarama.ErrNoError):
				return 0, fmt.Errorf("end offset of %s/%d: %w", topic, part, block.Err)
			case len(block.Offsets) != 1:
				return 0, fmt.Errorf("end offset of %s/%d: %d offsets", topic, part, len(block.Offsets))
			}
			sum += block.Offsets[0]
		}
	}
	return sum, nil
}

func procOptions(sb storage.Builder, extra ...goka.ProcessorOption) []goka.ProcessorOption {
	return append([]goka.ProcessorOption{
		goka.WithStorageBuilder(sb),
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(config())),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(config())),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(config())),
		goka.WithTopicManagerBuilder(topicManager()),
	}, extra...)
}

// bgRun is a processor's or view's Run in a goroutine. Its result can be
// read any number of times: a wait that sees Run end early must not leave
// stop blocked.
type bgRun struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // Run's result, set before done closes
}

func runInBackground(ctx context.Context, run func(context.Context) error) *bgRun {
	ctx, cancel := context.WithCancel(ctx)
	r := &bgRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = run(ctx)
	}()
	return r
}

// stop cancels Run and returns its result.
func (r *bgRun) stop() error {
	r.cancel()
	<-r.done
	return r.err
}

func process(ctx context.Context, p params, kind string, sb storage.Builder, extra ...goka.ProcessorOption) (result, error) {
	c := newClock()
	group := p.processGroup(kind)
	proc, err := goka.NewProcessor(p.brokers, counter(group, p, c), procOptions(sb, extra...)...)
	if err != nil {
		return result{}, err
	}
	c.start = time.Now()
	run := runInBackground(context.Background(), proc.Run)
	table := string(goka.GroupTable(goka.Group(group)))
	wait := waitEndOffsets
	if len(extra) > 0 {
		// With the write cache the table gets fewer records than
		// inputs: processed is when every callback ran.
		wait = func(ctx context.Context, _ params, _ string, want int64, run *bgRun) error {
			return waitCount(ctx, &c.count, want, run)
		}
	}
	if err := wait(ctx, p, table, int64(p.n), run); err != nil {
		_ = run.stop()
		return result{}, err
	}
	res := result{Messages: p.n, Seconds: c.since(false), FirstMessageMs: c.firstMs()}
	if err := waitCommitted(ctx, p, group, p.input(), int64(p.n), run); err != nil {
		_ = run.stop()
		return result{}, err
	}
	// CPU until the inputs are committed: with the write cache most of
	// the table work happens after the last callback.
	res.CommittedSeconds = c.since(false)
	res.endMeasurement()
	if err := verifyCounts(p, proc.Get, run, "counts"); err != nil {
		return result{}, err
	}
	return res, nil
}

// verifyCounts writes the heap profile, sums the counts through get, stops
// run and checks that the counts add up to the input; what names the counts
// in the error.
func verifyCounts(p params, get goka.Getter, run *bgRun, what string) error {
	heapProfile()
	sum, err := sumCounts(p, get)
	if err := errors.Join(err, run.stop()); err != nil {
		return err
	}
	if sum != int64(p.n) {
		return fmt.Errorf("%s add up to %d, want %d", what, sum, p.n)
	}
	return nil
}

// sumCounts checks that every key holds its expected count and returns
// their sum.
func sumCounts(p params, get func(string) (interface{}, error)) (int64, error) {
	var sum int64
	for k := 0; k < p.keys && k < p.n; k++ {
		v, err := get(p.key(k))
		if err != nil {
			return 0, err
		}
		var c int64
		if v != nil {
			c = v.(int64)
		}
		if c != expectedCount(p, k) {
			return 0, fmt.Errorf("key %s counts %d, want %d", p.key(k), c, expectedCount(p, k))
		}
		sum += c
	}
	return sum, nil
}

// recordCounter counts records per partition: one shared atomic counter
// would be contended by the partitions' goroutines and slow the very
// recovery it measures.
type recordCounter struct {
	parts [maxPartitions]struct {
		n int64
		_ [56]byte // own cache line
	}
}

const maxPartitions = 1024

func (r *recordCounter) add(part int32) { r.parts[part%maxPartitions].n++ }

// total is read after the recovery finished (Recovered happens after the
// records were applied).
func (r *recordCounter) total() int {
	var n int64
	for i := range r.parts {
		n += atomic.LoadInt64(&r.parts[i].n)
	}
	return int(n)
}

// firstUpdate wraps DefaultUpdate to time the first applied record and
// count the records.
func firstUpdate(c *clock, records *recordCounter) goka.UpdateCallback {
	return func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		c.tick()
		records.add(ctx.Partition())
		return goka.DefaultUpdate(ctx, s, key, value)
	}
}

func viewRecovery(ctx context.Context, p params) (result, error) {
	c := newClock()
	var records recordCounter
	view, err := goka.NewView(p.brokers, goka.GroupTable(goka.Group(p.group("leveldb"))), new(codec.Int64),
		goka.WithViewStorageBuilder(levelDBBuilder(p)),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(config())),
		goka.WithViewTopicManagerBuilder(topicManager()),
		goka.WithViewCallback(firstUpdate(c, &records)),
	)
	if err != nil {
		return result{}, err
	}
	c.start = time.Now()
	run := runInBackground(ctx, view.Run)
	if err := waitRecovered(ctx, view.Recovered, run); err != nil {
		return result{}, errors.Join(err, run.stop())
	}
	res := result{Messages: records.total(), Seconds: c.since(false), FirstMessageMs: c.firstMs()}
	res.endMeasurement()
	if err := verifyCounts(p, view.Get, run, "view counts"); err != nil {
		return result{}, err
	}
	return res, nil
}

func processorRecovery(ctx context.Context, p params) (result, error) {
	c := newClock()
	var records recordCounter
	proc, err := goka.NewProcessor(p.brokers, counter(p.group("leveldb"), p, c),
		procOptions(levelDBBuilder(p), goka.WithUpdateCallback(firstUpdate(c, &records)))...)
	if err != nil {
		return result{}, err
	}
	c.start = time.Now()
	run := runInBackground(context.Background(), proc.Run)
	if err := waitRecovered(ctx, proc.Recovered, run); err != nil {
		return result{}, errors.Join(err, run.stop())
	}
	res := result{Messages: records.total(), Seconds: c.since(false), FirstMessageMs: c.firstMs()}
	res.endMeasurement()
	if err := verifyCounts(p, proc.Get, run, "recovered counts"); err != nil {
		return result{}, err
	}
	return res, nil
}

func waitRecovered(ctx context.Context, recovered func() bool, run *bgRun) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !recovered() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-run.done:
			return fmt.Errorf("stopped before recovery: %w", errOrNil(run.err))
		case <-tick.C:
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Embedded broker

// serveBroker runs the embedded broker until stdin closes.
func serveBroker(p params) error {
	cluster, err := kafkatest.New(kafkatest.Partitions(p.partitions))
	if err != nil {
		return err
	}
	defer cluster.Close()
	fmt.Printf("BROKERS %s\n", strings.Join(cluster.Brokers(), ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// levelDBBuilder is the storage of the LevelDB workloads: the default, or
// under -memory-budget.
func levelDBBuilder(p params) storage.Builder {
	if p.budget > 0 {
		return storage.LevelDBBuilder(p.dir, storage.WithMemoryBudget(p.budget, p.partitions))
	}
	return storage.DefaultBuilder(p.dir)
}

// waitCount polls n until it reaches want.
func waitCount(ctx context.Context, n *atomic.Int64, want int64, run *bgRun) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for n.Load() < want {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-run.done:
			return fmt.Errorf("processor stopped: %w", errOrNil(run.err))
		case <-tick.C:
		}
	}
	return nil
}

// endMeasurement records what the child used until its measurement ended:
// CPU time and heap allocations.
func (r *result) endMeasurement() {
	r.CPUSeconds = selfCPU()
	r.AllocBytes, r.Allocs = selfAllocs()
}

// selfAllocs returns the heap bytes and objects this process allocated so
// far.
func selfAllocs() (bytes, objects uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc, ms.Mallocs
}
