package goka_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
)

// eosCounter is the reference workload of the exactly-once tests: a
// non-idempotent counter per key, and one output message per input
// message carrying the input's ID. Exactly-once holds when every key's
// count equals its number of input messages and the output, read
// committed, holds every input ID once.
type eosCounter struct {
	group  goka.Group
	input  string
	output string
	// fail, if set, is called with every input ID; an error fails the
	// callback.
	fail func(id string) error
}

func (w *eosCounter) graph() *goka.GroupGraph {
	return goka.DefineGroup(w.group,
		goka.Input(goka.Stream(w.input), new(codec.String), func(ctx goka.Context, msg interface{}) {
			id := msg.(string)
			if w.fail != nil {
				if err := w.fail(id); err != nil {
					ctx.Fail(err)
				}
			}
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
			ctx.Emit(goka.Stream(w.output), ctx.Key(), id)
		}),
		goka.Output(goka.Stream(w.output), new(codec.String)),
		goka.Persist(new(codec.Int64)),
	)
}

func (w *eosCounter) processor(t *testing.T, brokers []string, dir string, extra ...goka.ProcessorOption) *goka.Processor {
	t.Helper()
	opts := procOpts(t, dir, append([]goka.ProcessorOption{goka.WithProcessingGuarantee(goka.ExactlyOnce)}, extra...)...)
	p, err := goka.NewProcessor(brokers, w.graph(), opts...)
	require.NoError(t, err)
	return p
}

// emitInputs emits n messages with IDs from..from+n-1 over keys keys and
// returns the number of messages per key.
func emitInputs(t *testing.T, brokers []string, topic string, from, n, keys int, perKey map[string]int) {
	t.Helper()
	e := emitter(t, brokers, topic, new(codec.String))
	for i := from; i < from+n; i++ {
		k := key(i % keys)
		perKey[k]++
		_, err := e.Emit(k, "m-"+strconv.Itoa(i))
		require.NoError(t, err)
	}
	require.NoError(t, e.Finish())
}

// readCommitted reads every committed record of topic (values by key, in
// order), stopping once no record arrived for a second on any partition.
func readCommitted(t *testing.T, brokers []string, topic string) map[string][][]byte {
	t.Helper()
	cfg := testConfig()
	cfg.Version = sarama.V2_5_0_0
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer(brokers, cfg)
	require.NoError(t, err)
	defer consumer.Close()
	parts, err := consumer.Partitions(topic)
	require.NoError(t, err)
	out := map[string][][]byte{}
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		require.NoError(t, err)
	read:
		for {
			select {
			case msg := <-pc.Messages():
				out[string(msg.Key)] = append(out[string(msg.Key)], msg.Value)
			case <-time.After(time.Second):
				break read
			}
		}
		require.NoError(t, pc.Close())
	}
	return out
}

// checkExactlyOnce compares the output and the table, read committed, and
// the processor p (if running) with the inputs.
func (w *eosCounter) checkExactlyOnce(t *testing.T, brokers []string, perKey map[string]int, total int) {
	t.Helper()
	out := readCommitted(t, brokers, w.output)
	seen := map[string]int{}
	n := 0
	for k, vals := range out {
		for _, v := range vals {
			seen[string(v)]++
			n++
		}
		require.Len(t, vals, perKey[k], "outputs of key %s", k)
	}
	for id, c := range seen {
		require.Equal(t, 1, c, "output of input %s", id)
	}
	require.Equal(t, total, n, "outputs")
	table := readCommitted(t, brokers, string(goka.GroupTable(w.group)))
	for k, want := range perKey {
		vals := table[k]
		require.NotEmpty(t, vals, "table writes of key %s", k)
		got, err := new(codec.Int64).Decode(vals[len(vals)-1])
		require.NoError(t, err)
		require.Equal(t, int64(want), got, "count of key %s", k)
	}
}

// outputsDone waits until the output holds total committed records.
func waitOutputs(t *testing.T, brokers []string, topic string, total int) {
	t.Helper()
	cfg := testConfig()
	client, err := sarama.NewClient(brokers, cfg)
	require.NoError(t, err)
	defer client.Close()
	eventually(t, 60*time.Second, func() bool {
		parts, err := client.Partitions(topic)
		if err != nil {
			return false
		}
		// The high-water marks count records and commit markers: at least
		// total records plus a marker per transaction.
		sum := int64(0)
		for _, p := range parts {
			hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				return false
			}
			sum += hwm
		}
		if sum < int64(total) {
			return false
		}
		got := 0
		for _, vals := range readCommitted(t, brokers, topic) {
			got += len(vals)
		}
		return got >= total
	}, "%d outputs in %s", total, topic)
}

func eosCluster(t *testing.T, w *eosCounter) (*kafkatest.Cluster, []string) {
	t.Helper()
	c, err := kafkatest.New(kafkatest.Partitions(4), kafkatest.Topic(w.input, 4), kafkatest.Topic(w.output, 4))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c, c.Brokers()
}

func TestExactlyOnceCounter(t *testing.T) {
	const keys, half = 20, 600
	tests := []struct {
		name string
		// run processes the first half of the inputs (already emitted)
		// and the second half (emitted by emitRest) with its faults.
		run func(t *testing.T, w *eosCounter, c *kafkatest.Cluster, brokers []string, emitRest func())
	}{
		{"steady", func(t *testing.T, w *eosCounter, c *kafkatest.Cluster, brokers []string, emitRest func()) {
			p := w.processor(t, brokers, "")
			r := run(t, p.Run)
			emitRest()
			waitOutputs(t, brokers, w.output, 2*half)
			st := p.Stats()
			commits := int64(0)
			for _, ps := range st.Group {
				require.NotNil(t, ps.Transactions)
				commits += ps.Transactions.Commits
			}
			require.Positive(t, commits)
			require.NoError(t, r.stop(t))
		}},
		{"rebalance: a second instance joins and leaves", func(t *testing.T, w *eosCounter, c *kafkatest.Cluster, brokers []string, emitRest func()) {
			p1 := w.processor(t, brokers, "")
			r1 := run(t, p1.Run)
			eventually(t, 30*time.Second, func() bool { return p1.Recovered() }, "p1 running")
			p2 := w.processor(t, brokers, "")
			r2 := run(t, p2.Run)
			emitRest()
			eventually(t, 30*time.Second, func() bool { return p2.Recovered() }, "p2 running")
			require.NoError(t, r2.stop(t))
			waitOutputs(t, brokers, w.output, 2*half)
			require.NoError(t, r1.stop(t))
		}},
		{"restart on the same storage", func(t *testing.T, w *eosCounter, c *kafkatest.Cluster, brokers []string, emitRest func()) {
			dir := t.TempDir()
			r1 := run(t, w.processor(t, brokers, dir).Run)
			waitOutputs(t, brokers, w.output, half/2)
			require.NoError(t, r1.stop(t))
			emitRest()
			r2 := run(t, w.processor(t, brokers, dir).Run)
			waitOutputs(t, brokers, w.output, 2*half)
			require.NoError(t, r2.stop(t))
		}},
		{"commits fail after the records were produced", func(t *testing.T, w *eosCounter, c *kafkatest.Cluster, brokers []string, emitRest func()) {
			// The first commits end like a crash between produce and
			// commit: the records are in the topics, the transaction is
			// never committed; the processor must abort, rejoin and
			// process those messages again, once.
			var failed atomic.Int32
			c.Fake().ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.Fake().KeepControl()
				end := req.(*kmsg.EndTxnRequest)
				if !end.Commit || failed.Load() >= 3 {
					return nil, nil, false
				}
				failed.Add(1)
				resp := end.ResponseKind().(*kmsg.EndTxnResponse)
				resp.ErrorCode = kerr.InvalidTxnState.Code
				return resp, nil, true
			})
			p := w.processor(t, brokers, "", goka.WithLogger(tlog{t}))
			r := run(t, p.Run)
			emitRest()
			waitOutputs(t, brokers, w.output, 2*half)
			require.NoError(t, r.stop(t))
			require.EqualValues(t, 3, failed.Load())
		}},
		{"a failing callback aborts its transaction", func(t *testing.T, w *eosCounter, c *kafkatest.Cluster, brokers []string, emitRest func()) {
			var once sync.Once
			boom := errors.New("boom")
			w.fail = func(id string) error {
				var err error
				if id == "m-"+strconv.Itoa(half+half/2) {
					once.Do(func() { err = boom })
				}
				return err
			}
			dir := t.TempDir()
			r1 := run(t, w.processor(t, brokers, dir).Run)
			emitRest()
			require.ErrorIs(t, r1.wait(t, 60*time.Second), boom)
			r2 := run(t, w.processor(t, brokers, dir).Run)
			waitOutputs(t, brokers, w.output, 2*half)
			require.NoError(t, r2.stop(t))
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &eosCounter{group: goka.Group(fmt.Sprintf("eos-%d", i)), input: fmt.Sprintf("eos-in-%d", i), output: fmt.Sprintf("eos-out-%d", i)}
			c, brokers := eosCluster(t, w)
			perKey := map[string]int{}
			emitInputs(t, brokers, w.input, 0, half, keys, perKey)
			tt.run(t, w, c, brokers, func() { emitInputs(t, brokers, w.input, half, half, keys, perKey) })
			w.checkExactlyOnce(t, brokers, perKey, 2*half)
		})
	}
}

func TestExactlyOnceOptions(t *testing.T) {
	g := goka.DefineGroup("g", goka.Input("in", new(codec.String), func(goka.Context, interface{}) {}))
	tests := []struct {
		name string
		opts []goka.ProcessorOption
		want string
	}{
		{"custom consumer group", []goka.ProcessorOption{goka.WithProcessingGuarantee(goka.ExactlyOnce), goka.WithConsumerGroupBuilder(goka.DefaultConsumerGroupBuilder)}, "WithConsumerGroupBuilder"},
		{"custom producer", []goka.ProcessorOption{goka.WithProducerBuilder(goka.DefaultProducerBuilder), goka.WithProcessingGuarantee(goka.ExactlyOnce)}, "WithProducerBuilder"},
		{"bad guarantee", []goka.ProcessorOption{goka.WithProcessingGuarantee(7)}, "WithProcessingGuarantee"},
		{"negative interval", []goka.ProcessorOption{goka.WithCommitInterval(-time.Second)}, "WithCommitInterval"},
		{"interval with a custom consumer group", []goka.ProcessorOption{goka.WithCommitInterval(time.Second), goka.WithConsumerGroupBuilder(goka.DefaultConsumerGroupBuilder)}, "Consumer.Offsets.AutoCommit.Interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := goka.NewProcessor([]string{"127.0.0.1:1"}, g, tt.opts...)
			require.ErrorContains(t, err, tt.want)
		})
	}
	for _, opts := range [][]goka.ProcessorOption{
		{goka.WithProcessingGuarantee(goka.ExactlyOnce)},
		{goka.WithProcessingGuarantee(goka.ExactlyOnce), goka.WithCommitInterval(time.Second), goka.WithSaramaConfig(testConfig())},
		{goka.WithCommitInterval(time.Second)},
	} {
		_, err := goka.NewProcessor([]string{"127.0.0.1:1"}, g, opts...)
		require.NoError(t, err)
	}
	require.Equal(t, "exactly-once", goka.ExactlyOnce.String())
	require.Equal(t, "at-least-once", goka.AtLeastOnce.String())
}

type tlog struct{ t *testing.T }

func (l tlog) Print(v ...interface{})                 { l.t.Log(v...) }
func (l tlog) Println(v ...interface{})               { l.t.Log(v...) }
func (l tlog) Printf(format string, v ...interface{}) { l.t.Logf(format, v...) }

// DeferCommit holds the transaction open until it is called; visits are
// done once their transaction committed; a read_committed View sees the
// committed table.
func TestExactlyOnceDeferCommitAndVisit(t *testing.T) {
	const n, keys = 200, 10
	group := goka.Group("eos-defer")
	brokers := cluster(t, map[string]int{"eos-defer-in": 4})
	var deferred sync.WaitGroup
	defer deferred.Wait()
	g := goka.DefineGroup(group,
		goka.Input("eos-defer-in", new(codec.String), func(ctx goka.Context, msg interface{}) {
			var c int64
			if v := ctx.Value(); v != nil {
				c = v.(int64)
			}
			ctx.SetValue(c + 1)
			commit := ctx.DeferCommit()
			deferred.Go(func() {
				time.Sleep(time.Millisecond)
				commit(nil)
			})
		}),
		goka.Visitor("add", func(ctx goka.Context, meta interface{}) {
			ctx.SetValue(ctx.Value().(int64) + meta.(int64))
		}),
		goka.Persist(new(codec.Int64)),
	)
	p, err := goka.NewProcessor(brokers, g, procOpts(t, "", goka.WithProcessingGuarantee(goka.ExactlyOnce))...)
	require.NoError(t, err)
	r := run(t, p.Run)
	perKey := map[string]int{}
	emitInputs(t, brokers, "eos-defer-in", 0, n, keys, perKey)
	eventually(t, 60*time.Second, func() bool {
		// Until the first commit the group may not exist yet.
		admin, err := sarama.NewClusterAdmin(brokers, testConfig())
		require.NoError(t, err)
		defer admin.Close()
		resp, err := admin.ListConsumerGroupOffsets(string(group), nil)
		if err != nil {
			return false
		}
		sum := int64(0)
		for _, b := range resp.Blocks["eos-defer-in"] {
			sum += max(b.Offset, 0)
		}
		return sum == n
	}, "input offsets committed")
	require.NoError(t, p.VisitAll(context.Background(), "add", int64(1000)))
	// VisitAll returned: the visits' writes are committed, so a
	// read_committed view recovers them.
	v, err := goka.NewView(brokers, goka.GroupTable(group), new(codec.Int64), viewOpts(t, "", goka.WithViewReadCommitted())...)
	require.NoError(t, err)
	vr := run(t, v.Run)
	eventually(t, 30*time.Second, v.Recovered, "view recovered")
	for k, want := range perKey {
		got, err := v.Get(k)
		require.NoError(t, err)
		require.Equal(t, int64(want+1000), got, "key %s", k)
		pv, err := p.Get(k)
		require.NoError(t, err)
		require.Equal(t, int64(want+1000), pv, "processor, key %s", k)
	}
	require.NoError(t, vr.stop(t))
	require.NoError(t, r.stop(t))
}

func TestViewReadCommittedOptions(t *testing.T) {
	_, err := goka.NewView([]string{"127.0.0.1:1"}, "t", new(codec.Int64), goka.WithViewReadCommitted(),
		goka.WithViewConsumerSaramaBuilder(goka.DefaultSaramaConsumerBuilder))
	require.ErrorContains(t, err, "WithViewReadCommitted")
	_, err = goka.NewView([]string{"127.0.0.1:1"}, "t", new(codec.Int64), goka.WithViewReadCommitted())
	require.NoError(t, err)
}
