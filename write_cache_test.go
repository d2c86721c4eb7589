package goka_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
)

// idsGroup keeps per key the sorted set of message ids it has seen: the
// model is idempotent, so replays after a restart change nothing and a lost
// message shows as a missing id.
func idsGroup(group goka.Group, input goka.Stream) *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(input, new(codec.String), func(ctx goka.Context, msg any) {
			s, _ := ctx.Value().(string)
			ids := strings.FieldsFunc(s, func(r rune) bool { return r == ',' })
			if id := msg.(string); !slices.Contains(ids, id) {
				ids = append(ids, id)
				slices.SortFunc(ids, func(a, b string) int {
					x, _ := strconv.Atoi(a)
					y, _ := strconv.Atoi(b)
					return x - y
				})
			}
			ctx.SetValue(strings.Join(ids, ","))
		}),
		goka.Persist(new(codec.String)),
	)
}

func idsModel(n, keys int) map[string]string {
	m := map[string][]string{}
	for i := range n {
		m[key(i%keys)] = append(m[key(i%keys)], strconv.Itoa(i))
	}
	out := map[string]string{}
	for k, ids := range m {
		out[k] = strings.Join(ids, ",")
	}
	return out
}

// TestWriteCacheSameTables: with and without the write cache, a processor
// that is restarted and joined by a second instance (a rebalance) ends with
// the same table, the model's, in its storage and in the table topic; with
// the cache the table topic holds fewer records.
func TestWriteCacheSameTables(t *testing.T) {
	const (
		input = "wc-input"
		keys  = 8
		batch = 150
	)
	records := map[bool]int{}
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cached), func(t *testing.T) {
			brokers := cluster(t, map[string]int{input: 4})
			group := goka.Group(fmt.Sprintf("wc-same-%v", cached))
			em := emitter(t, brokers, input, new(codec.String))
			next := 0
			emit := func() {
				for range batch {
					require.NoError(t, em.EmitSync(key(next%keys), strconv.Itoa(next)))
					next++
				}
			}
			var extra []goka.ProcessorOption
			if cached {
				extra = append(extra, goka.WithTableWriteCache(1<<20), goka.WithStorageFlushInterval(100*time.Millisecond))
			}
			newProc := func(dir string) *goka.Processor {
				p, err := goka.NewProcessor(brokers, idsGroup(group, input), procOpts(t, dir, extra...)...)
				require.NoError(t, err)
				return p
			}
			upToDate := func(p ...*goka.Processor) func() bool {
				return func() bool {
					for k, want := range idsModel(next, keys) {
						found := false
						for _, q := range p {
							if v, err := q.Get(k); err == nil && v != nil && v.(string) == want {
								found = true
							}
						}
						if !found {
							return false
						}
					}
					return true
				}
			}
			dirA, dirB := t.TempDir(), t.TempDir()
			a := newProc(dirA)
			ra := run(t, a.Run)
			emit()
			eventually(t, 30*time.Second, upToDate(a), "first instance up to date")

			// Restart on the same storage.
			require.NoError(t, ra.stop(t))
			emit()
			a = newProc(dirA)
			ra = run(t, a.Run)
			eventually(t, 30*time.Second, upToDate(a), "restarted instance up to date")

			// A second instance takes some partitions over.
			b := newProc(dirB)
			rb := run(t, b.Run)
			emit()
			eventually(t, 60*time.Second, upToDate(a, b), "both instances up to date")
			emit()
			eventually(t, 30*time.Second, upToDate(a, b), "both instances up to date after more input")
			require.NoError(t, rb.stop(t))
			require.NoError(t, ra.stop(t))

			table, n := readTopic(t, brokers, string(goka.GroupTable(group)))
			want := idsModel(next, keys)
			require.Len(t, table, len(want))
			for k, v := range want {
				require.Equal(t, v, string(table[k]), "table topic value of %s", k)
			}
			records[cached] = n
		})
	}
	t.Logf("table topic records: %d without the cache, %d with", records[false], records[true])
	if records[true] == 0 || records[true] >= records[false] {
		t.Fatalf("table topic records with the cache %d, without %d: want fewer with", records[true], records[false])
	}
}

// TestWriteCacheCommitsOnlyWritten: with the cache on, whenever the offsets
// of the input are committed, the table topic already holds the writes of
// every message below them; a crash right after any commit therefore loses
// nothing, since the messages after it are processed again.
func TestWriteCacheCommitsOnlyWritten(t *testing.T) {
	const (
		input = "wc-commit-input"
		keys  = 5
		n     = 600
	)
	brokers := cluster(t, map[string]int{input: 2})
	group := goka.Group("wc-commit")
	p, err := goka.NewProcessor(brokers, idsGroup(group, input),
		procOpts(t, "", goka.WithTableWriteCache(1<<20), goka.WithStorageFlushInterval(300*time.Millisecond))...)
	require.NoError(t, err)
	r := run(t, p.Run)
	em := emitter(t, brokers, input, new(codec.String))

	// At each sample, the committed offsets first and the table topic
	// after them: the writes of the committed messages must be in it.
	type sample struct {
		committed map[int32]int64
		table     map[string][]byte
	}
	var samples []sample
	take := func() {
		c := committed(t, brokers, string(group), input)
		if c[0]+c[1] == 0 {
			return
		}
		table, _ := readTopic(t, brokers, string(goka.GroupTable(group)))
		samples = append(samples, sample{c, table})
	}
	for i := range n {
		require.NoError(t, em.EmitSync(key(i%keys), strconv.Itoa(i)))
		if i%25 == 0 {
			take()
		}
	}
	eventually(t, 30*time.Second, func() bool {
		c := committed(t, brokers, string(group), input)
		return c[0]+c[1] == n
	}, "all offsets committed")
	take()
	require.NoError(t, r.stop(t))

	// Which id each input offset carries.
	ids := map[int32][]string{}
	client, err := sarama.NewClient(brokers, testConfig())
	require.NoError(t, err)
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	defer consumer.Close()
	keyOf := map[string]string{}
	for part := range int32(2) {
		hwm, err := client.GetOffset(input, part, sarama.OffsetNewest)
		require.NoError(t, err)
		pc, err := consumer.ConsumePartition(input, part, sarama.OffsetOldest)
		require.NoError(t, err)
		for int64(len(ids[part])) < hwm {
			msg := <-pc.Messages()
			ids[part] = append(ids[part], string(msg.Value))
			keyOf[string(msg.Value)] = string(msg.Key)
		}
		require.NoError(t, pc.Close())
	}
	checked := 0
	for _, sm := range samples {
		for part, off := range sm.committed {
			for _, id := range ids[part][:off] {
				have := strings.Split(string(sm.table[keyOf[id]]), ",")
				require.Contains(t, have, id, "message %s committed before its write reached the table topic", id)
				checked++
			}
		}
	}
	require.Positive(t, checked)
}
