package goka_test

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
)

func TestHeaders(t *testing.T) {
	require.Nil(t, goka.Headers(nil).Merged())
	require.Nil(t, goka.Headers{}.Merged(nil, goka.Headers{}))
	merged := goka.Headers{"a": []byte("1"), "b": []byte("1")}.Merged(goka.Headers{"b": []byte("2")}, goka.Headers{"c": []byte("3")})
	require.Equal(t, goka.Headers{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")}, merged)

	require.Nil(t, goka.Headers(nil).ToSarama())
	require.Nil(t, goka.Headers(nil).ToSaramaPtr())
	h := goka.Headers{"k": []byte("v")}
	require.Equal(t, []sarama.RecordHeader{{Key: []byte("k"), Value: []byte("v")}}, h.ToSarama())
	require.Equal(t, h, goka.HeadersFromSarama(h.ToSaramaPtr()))
	require.NotNil(t, goka.HeadersFromSarama(nil))
}

func TestPromise(t *testing.T) {
	p, finish := goka.NewPromiseWithFinisher()
	var order []int
	p.Then(func(err error) { order = append(order, 1) })
	p.ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
		require.Equal(t, "t", msg.Topic)
		order = append(order, 2)
	})
	boom := errors.New("boom")
	finish(&sarama.ProducerMessage{Topic: "t"}, boom)
	finish(nil, nil) // a second finish is ignored
	var late error
	p.Then(func(err error) { late = err; order = append(order, 3) })
	require.Equal(t, []int{1, 2, 3}, order)
	require.ErrorIs(t, late, boom)
}

func TestPromiseConcurrent(t *testing.T) {
	p, finish := goka.NewPromiseWithFinisher()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		count int
	)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Then(func(error) { mu.Lock(); count++; mu.Unlock() })
		}()
	}
	go finish(nil, nil)
	wg.Wait()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return count == 50 }, 5*time.Second, time.Millisecond)
}

func TestSimpleBackoff(t *testing.T) {
	b := goka.NewSimpleBackoff(time.Second, 3*time.Second)
	var got []time.Duration
	for i := 0; i < 5; i++ {
		got = append(got, b.Duration())
	}
	require.Equal(t, []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}, got)
	b.Reset()
	require.Equal(t, time.Duration(0), b.Duration())
}

func TestSignal(t *testing.T) {
	s := goka.NewSignal(0, 1, 2, 3)
	require.Equal(t, goka.State(0), s.State())
	min2 := s.WaitForStateMin(2)
	exact1 := s.WaitForState(1)
	obs := s.ObserveStateChange()
	require.Equal(t, goka.State(0), <-obs.C())

	s.SetState(1)
	<-exact1
	require.Equal(t, goka.State(1), <-obs.C())
	select {
	case <-min2:
		t.Fatal("min 2 reached at 1")
	default:
	}
	s.SetState(3)
	<-min2
	require.Equal(t, goka.State(3), <-obs.C())
	s.SetState(3) // same state: nobody is notified
	select {
	case st := <-obs.C():
		t.Fatalf("unexpected state %d", st)
	default:
	}
	require.True(t, s.IsState(3))
	require.Panics(t, func() { s.SetState(7) })

	// An observer that is not drained blocks nobody and sees the newest state.
	obs2 := s.ObserveStateChange()
	s.SetState(0)
	s.SetState(1)
	require.Equal(t, goka.State(1), <-obs2.C())
	obs2.Stop()
	_, open := <-obs2.C()
	require.False(t, open)
	obs.Stop()
	obs.Stop()

	c, cleanup := s.WaitForStateMinWithCleanup(2)
	cleanup()
	select {
	case <-c:
		t.Fatal("closed after cleanup")
	default:
	}
}

// Goka's partition choice (goka-api.md §1.10): FNV-1a, sarama's hash
// partitioner.
func TestDefaultHasherVectors(t *testing.T) {
	part := func(key string, n int32) int32 {
		p, err := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("t").Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
		require.NoError(t, err)
		return p
	}
	for _, tt := range []struct {
		key  string
		n    int32
		want int32
	}{{"", 10, 5}, {"a", 10, 6}, {"user-1", 10, 6}, {"key1", 10, 3}, {"key2", 10, 2}, {"key1", 2, 1}, {"key2", 2, 0}} {
		require.Equal(t, tt.want, part(tt.key, tt.n), "key %q n %d", tt.key, tt.n)
	}
	h := goka.DefaultHasher()()
	_, _ = h.Write([]byte("x"))
	f := fnv.New32a()
	_, _ = f.Write([]byte("x"))
	require.Equal(t, f.Sum32(), h.Sum32())
}

func TestCopartitioningStrategy(t *testing.T) {
	members := func(n int, topics ...string) map[string]sarama.ConsumerGroupMemberMetadata {
		m := map[string]sarama.ConsumerGroupMemberMetadata{}
		for i := 0; i < n; i++ {
			m[fmt.Sprintf("m%d", i)] = sarama.ConsumerGroupMemberMetadata{Topics: topics}
		}
		return m
	}
	parts := func(n int) []int32 {
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(i)
		}
		return out
	}
	tests := []struct {
		name    string
		members int
		parts   int
		want    map[string][]int32 // per member, for every topic
	}{
		{"one member", 1, 4, map[string][]int32{"m0": {0, 1, 2, 3}}},
		{"even", 2, 4, map[string][]int32{"m0": {0, 1}, "m1": {2, 3}}},
		{"uneven", 3, 10, map[string][]int32{"m0": {0, 1, 2}, "m1": {3, 4, 5, 6}, "m2": {7, 8, 9}}},
		{"more members than partitions", 3, 2, map[string][]int32{"m0": {0}, "m1": nil, "m2": {1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := goka.CopartitioningStrategy.Plan(members(tt.members, "a", "b"),
				map[string][]int32{"a": parts(tt.parts), "b": parts(tt.parts)})
			require.NoError(t, err)
			for m, want := range tt.want {
				for _, topic := range []string{"a", "b"} {
					require.Equal(t, want, plan[m][topic], "member %s topic %s", m, topic)
				}
			}
		})
	}
	_, err := goka.CopartitioningStrategy.Plan(members(2, "a", "b"), map[string][]int32{"a": parts(2), "b": parts(3)})
	require.ErrorIs(t, err, goka.ErrNotCopartitioned)

	m := members(1, "a")
	m["other"] = sarama.ConsumerGroupMemberMetadata{Topics: []string{"b"}}
	_, err = goka.StrictCopartitioningStrategy.Plan(m, map[string][]int32{"a": parts(2), "b": parts(2)})
	require.ErrorContains(t, err, "different topics")
	require.Equal(t, "copartition", goka.CopartitioningStrategy.Name())
}

func TestGraphAccessors(t *testing.T) {
	cb := func(ctx goka.Context, msg interface{}) {}
	c := new(stringCodec)
	g := goka.DefineGroup("g",
		goka.Inputs(goka.StringsToStreams("a", "b"), c, cb),
		goka.Inputs(nil, c, cb),
		goka.Loop(c, cb),
		goka.Join("j-table", c),
		goka.Lookup("l-table", c),
		goka.Output("out", c),
		goka.Persist(c),
		goka.Visitor("v", cb),
	)
	require.NoError(t, g.Validate())
	require.Equal(t, goka.Group("g"), g.Group())
	require.Equal(t, []string{"a", "b"}, g.InputStreams().Topics())
	require.Equal(t, "g-loop", g.LoopStream().Topic())
	require.Equal(t, "g-table", g.GroupTable().Topic())
	require.Equal(t, []string{"j-table"}, g.JointTables().Topics())
	require.Equal(t, []string{"l-table"}, g.LookupTables().Topics())
	require.Equal(t, []string{"out"}, g.OutputStreams().Topics())
	require.Equal(t, []string{"j-table", "l-table", "a", "b", "out", "g-loop", "g-table", "v"}, g.AllEdges().Topics())
	require.Equal(t, "a/*goka_test.stringCodec", g.InputStreams()[0].String())
	require.Nil(t, goka.DefineGroup("s", goka.Input("a", c, cb)).GroupTable())

	goka.SetTableSuffix("-state")
	goka.SetLoopSuffix("-again")
	defer goka.ResetSuffixes()
	g = goka.DefineGroup("g", goka.Input("a", c, cb), goka.Loop(c, cb), goka.Persist(c))
	require.Equal(t, "g-state", g.GroupTable().Topic())
	require.Equal(t, "g-again", g.LoopStream().Topic())
	require.Equal(t, goka.Table("g-state"), goka.GroupTable("g"))
}

type stringCodec struct{}

func (*stringCodec) Encode(v interface{}) ([]byte, error) { return []byte(v.(string)), nil }
func (*stringCodec) Decode(b []byte) (interface{}, error) { return string(b), nil }

func TestReplaceGlobalConfig(t *testing.T) {
	require.Panics(t, func() { goka.ReplaceGlobalConfig(nil) })
	d := goka.DefaultConfig()
	require.Equal(t, sarama.V2_0_0_0, d.Version)
	require.Equal(t, sarama.OffsetNewest, d.Consumer.Offsets.Initial)
	require.Equal(t, sarama.CompressionSnappy, d.Producer.Compression)
	require.Equal(t, sarama.WaitForLocal, d.Producer.RequiredAcks)
	require.True(t, d.Producer.Return.Successes)
	require.Equal(t, 10, d.Producer.Retry.Max)
	// The memory bounds that differ from Goka's (sarama's) defaults.
	require.Equal(t, int32(256<<10), d.Consumer.Fetch.Default)
	require.Equal(t, int32(1<<20), d.Consumer.Fetch.MaxBytes)
	require.Equal(t, 10_000, d.Producer.Flush.MaxMessages)
	require.NoError(t, d.Validate())
}
