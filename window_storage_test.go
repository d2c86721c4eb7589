package goka_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/storage"
	"github.com/e3793d55/goka/tester"
)

// recordingBuilder wraps a builder and records the topics it was called
// with.
type recordingBuilder struct {
	mu     sync.Mutex
	topics []string
	build  storage.Builder
}

func (r *recordingBuilder) builder(topic string, partition int32) (storage.Storage, error) {
	r.mu.Lock()
	if !slices.Contains(r.topics, topic) {
		r.topics = append(r.topics, topic)
	}
	r.mu.Unlock()
	return r.build(topic, partition)
}

func (r *recordingBuilder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.topics))
}

// timeStorageGroup counts the messages of "ts-in" per key in its table and
// those of "ts-win" per key and hour window.
func timeStorageGroup(group goka.Group) *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input("ts-in", new(codec.String), func(ctx goka.Context, _ any) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Windowed("ts-win", new(codec.String), new(codec.Int64), count, goka.Tumbling(time.Hour)),
		goka.Persist(new(codec.Int64)),
	)
}

// TestTimeStorageBuilder: with WithTimeStorageBuilder the time stores are
// built by that builder, in its directory, and the group table by the one
// of WithStorageBuilder; a restarted processor finds its windows in the
// time storage; without the option both use WithStorageBuilder.
func TestTimeStorageBuilder(t *testing.T) {
	const group = "ts-builder"
	brokers := cluster(t, map[string]int{"ts-in": 2, "ts-win": 2})
	gg := timeStorageGroup(group)
	windowTopic, tableTopic := string(goka.WindowTable(group)), string(goka.GroupTable(group))
	// committedBoth is the sum of the offsets a group committed on both inputs.
	committedBoth := func(g string) (sum int64) {
		for _, topic := range []string{"ts-in", "ts-win"} {
			for _, o := range committed(t, brokers, g, topic) {
				sum += o
			}
		}
		return sum
	}
	tableDir, timeDir := t.TempDir(), t.TempDir()
	tables := &recordingBuilder{build: storage.DefaultBuilder(tableDir)}
	times := &recordingBuilder{build: storage.LevelDBBuilder(timeDir, storage.WithMemoryBudget(4<<20, 2))}
	opts := func() []goka.ProcessorOption {
		return procOpts(t, "", goka.WithStorageBuilder(tables.builder), goka.WithTimeStorageBuilder(times.builder))
	}
	// Every message is in the hour window [0, 1h).
	events := []modelEvent{{"a", 1000}, {"b", 2000}, {"a", 3000}, {"b", 4000}, {"a", 5000}, {"b", 6000}}
	for round, want := range []int64{3, 6} {
		p, err := goka.NewProcessor(brokers, gg, opts()...)
		require.NoError(t, err)
		r := run(t, p.Run)
		produceAt(t, brokers, "ts-in", 2, events)
		produceAt(t, brokers, "ts-win", 2, events)
		eventually(t, 30*time.Second, func() bool { return committedBoth(group) == int64(12*(round+1)) }, "round %d committed", round)
		ws, err := p.Windows("a", time.UnixMilli(0), time.UnixMilli(0))
		require.NoError(t, err)
		require.Len(t, ws, 1, "round %d: windows of a", round)
		require.EqualValues(t, want, ws[0].Value, "round %d: window count of a", round)
		v, err := p.Get("a")
		require.NoError(t, err)
		require.EqualValues(t, want, v, "round %d: table count of a", round)
		require.NoError(t, r.stop(t))
	}
	require.Equal(t, []string{windowTopic}, times.seen(), "topics of the time storage builder")
	require.Equal(t, []string{tableTopic}, tables.seen(), "topics of the table storage builder")
	dirsOf := func(dir string) (names []string) {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			names = append(names, strings.SplitN(e.Name(), ".", 2)[0])
		}
		slices.Sort(names)
		return slices.Compact(names)
	}
	require.Equal(t, []string{windowTopic}, dirsOf(timeDir))
	require.Equal(t, []string{tableTopic}, dirsOf(tableDir))
	_, err := os.Stat(filepath.Join(timeDir, windowTopic+".0"))
	require.NoError(t, err)

	// Without the option, the group's builder builds both.
	const plain = "ts-builder-default"
	shared := &recordingBuilder{build: storage.DefaultBuilder(t.TempDir())}
	p, err := goka.NewProcessor(brokers, timeStorageGroup(plain), procOpts(t, "", goka.WithStorageBuilder(shared.builder))...)
	require.NoError(t, err)
	r := run(t, p.Run)
	eventually(t, 30*time.Second, func() bool { return committedBoth(plain) == 24 }, "the default group committed both inputs")
	ws, err := p.Windows("a", time.UnixMilli(0), time.UnixMilli(0))
	require.NoError(t, err)
	require.Len(t, ws, 1)
	require.EqualValues(t, 6, ws[0].Value, "window count of a")
	require.NoError(t, r.stop(t))
	require.Equal(t, []string{string(goka.GroupTable(plain)), string(goka.WindowTable(plain))}, shared.seen(),
		"topics of the group's builder without WithTimeStorageBuilder")
}

// TestTimeStorageBuilderTester: under WithTester the time stores use the
// tester's storage, whatever WithTimeStorageBuilder says, in either order
// of the options.
func TestTimeStorageBuilderTester(t *testing.T) {
	failing := func(string, int32) (storage.Storage, error) { return nil, errors.New("must not be called") }
	for _, name := range []string{"tester first", "tester last"} {
		t.Run(name, func(t *testing.T) {
			gkt := tester.New(t)
			gg := goka.DefineGroup("ts-tester",
				goka.Windowed("clicks", new(codec.String), new(codec.Int64), count, goka.Tumbling(time.Minute)),
			)
			opts := []goka.ProcessorOption{goka.WithTester(gkt), goka.WithTimeStorageBuilder(failing)}
			if name == "tester last" {
				slices.Reverse(opts)
			}
			p, err := goka.NewProcessor(nil, gg, opts...)
			require.NoError(t, err)
			r := run(t, p.Run)
			gkt.Consume("clicks", "u", "a", tester.WithTime(time.UnixMilli(1000)))
			gkt.Consume("clicks", "u", "a", tester.WithTime(time.UnixMilli(2000)))
			ws, err := p.Windows("u", time.UnixMilli(0), time.UnixMilli(60000))
			require.NoError(t, err)
			require.Len(t, ws, 1)
			require.EqualValues(t, 2, ws[0].Value)
			require.NoError(t, r.stop(t))
		})
	}
}
