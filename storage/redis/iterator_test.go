package redis_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/storage"
	gokaredis "github.com/e3793d55/goka/storage/redis"
)

// keys drains an iterator over [start, limit) and checks that every key is
// returned once, in strictly increasing byte order.
func keys(t *testing.T, st storage.Storage, start, limit []byte) []string {
	t.Helper()
	it, err := st.IteratorWithRange(start, limit)
	require.NoError(t, err)
	defer it.Release()
	return drain(t, it)
}

func drain(t *testing.T, it storage.Iterator) []string {
	t.Helper()
	var out []string
	for it.Next() {
		k := string(it.Key())
		if len(out) > 0 {
			require.Less(t, out[len(out)-1], k, "keys must come in strictly increasing byte order")
		}
		out = append(out, k)
	}
	require.NoError(t, it.Err())
	if out == nil {
		out = []string{}
	}
	return out
}

// writeRaw fills the hash with HSET batches, as another writer (or Goka) would.
func writeRaw(t *testing.T, f *fixture, kv map[string]string) {
	t.Helper()
	ctx := context.Background()
	pipe := f.client.Pipeline()
	args := make([]any, 0, 2000)
	for k, v := range kv {
		args = append(args, k, v)
		if len(args) == 2000 {
			pipe.HSet(ctx, f.hash, args...)
			args = make([]any, 0, 2000)
		}
	}
	if len(args) > 0 {
		pipe.HSet(ctx, f.hash, args...)
	}
	_, err := pipe.Exec(ctx)
	require.NoError(t, err)
}

func TestIteratorWholeHash(t *testing.T) {
	const n = 12_345 // far more than one HSCAN batch
	f := newFixture(t)
	rec := &recorder{}
	f.client.AddHook(rec)

	kv := make(map[string]string, n+1)
	for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(n) {
		kv[fmt.Sprintf("key-%06d", i)] = fmt.Sprintf("value-%d", i)
	}
	kv["__offset"] = "99"
	writeRaw(t, f, kv)
	delete(kv, "__offset")

	st := f.open(t)
	rec.reset()
	it, err := st.Iterator()
	require.NoError(t, err)
	defer it.Release()
	assert.Greater(t, rec.count("hscan"), 1, "the iterator must follow the HSCAN cursor over several batches")

	var got []string
	for it.Next() {
		k := string(it.Key())
		v, err := it.Value()
		require.NoError(t, err)
		require.Equal(t, kv[k], string(v), "value of %q", k)
		got = append(got, k)
	}
	require.NoError(t, it.Err())
	want := slices.Sorted(func(yield func(string) bool) {
		for k := range kv {
			if !yield(k) {
				return
			}
		}
	})
	require.Len(t, got, n, "every key exactly once, no __offset")
	require.Equal(t, want, got, "sorted byte order")
	assert.False(t, it.Next(), "exhausted")
	assert.Nil(t, it.Key())

	t.Run("range over many batches", func(t *testing.T) {
		got := keys(t, st, []byte("key-001000"), []byte("key-003000"))
		require.Len(t, got, 2000)
		assert.Equal(t, "key-001000", got[0])
		assert.Equal(t, "key-002999", got[len(got)-1])
	})
	t.Run("prefix over many batches", func(t *testing.T) {
		got := keys(t, st, []byte("key-0112"), nil)
		require.Len(t, got, 100)
		assert.Equal(t, "key-011200", got[0])
	})
}

func TestIteratorRange(t *testing.T) {
	all := []string{"", "a", "a*b", "a?", "a[x]", "a\\", "ab", "abc", "abd", "b", "ba", "c", "\x00", "\xff\xfe", "_", "__", "__offset2"}
	f := newFixture(t)
	kv := map[string]string{"__offset": "7"}
	for _, k := range all {
		kv[k] = "v" + k
	}
	writeRaw(t, f, kv)
	sorted := slices.Clone(all)
	slices.Sort(sorted)

	tests := []struct {
		name         string
		start, limit []byte
	}{
		{"everything", nil, nil},
		{"empty start and limit slices", []byte{}, []byte{}},
		{"prefix", []byte("ab"), nil},
		{"prefix a", []byte("a"), nil},
		{"prefix with star", []byte("a*"), nil},
		{"prefix with question mark", []byte("a?"), nil},
		{"prefix with bracket", []byte("a["), nil},
		{"prefix with backslash", []byte("a\\"), nil},
		{"prefix of the offset key", []byte("__"), nil},
		{"prefix of nothing", []byte("zzz"), nil},
		{"binary prefix", []byte("\xff"), nil},
		{"range", []byte("ab"), []byte("b")},
		{"range of one", []byte("abc"), []byte("abd")},
		{"range from the start", nil, []byte("ab")},
		{"range to beyond the end", []byte("b"), []byte("\xff\xff")},
		{"range without common prefix", []byte("a?"), []byte("c")},
		{"range with glob characters", []byte("a*"), []byte("a\\")},
		{"limit equals start", []byte("b"), []byte("b")},
		{"limit before start", []byte("c"), []byte("a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := []string{}
			for _, k := range sorted {
				var in bool
				if len(tt.limit) == 0 {
					in = strings.HasPrefix(k, string(tt.start))
				} else {
					in = k >= string(tt.start) && k < string(tt.limit)
				}
				if in {
					want = append(want, k)
				}
			}
			st := f.open(t)
			assert.Equal(t, want, keys(t, st, tt.start, tt.limit))
		})
	}
	t.Run("Iterator equals the nil range", func(t *testing.T) {
		st := f.open(t)
		it, err := st.Iterator()
		require.NoError(t, err)
		defer it.Release()
		assert.Equal(t, sorted, drain(t, it))
	})
}

// TestIteratorSeesBufferedWrites checks that iterators overlay writes that
// were not flushed yet.
func TestIteratorSeesBufferedWrites(t *testing.T) {
	f := newFixture(t)
	writeRaw(t, f, map[string]string{"a": "1", "b": "2", "c": "3"})
	st := f.open(t)
	require.NoError(t, st.Set("b", []byte("two")))
	require.NoError(t, st.Delete("c"))
	require.NoError(t, st.Set("d", []byte("4")))
	require.NoError(t, st.Delete("zz")) // deleting a missing key

	assert.Equal(t, map[string]string{"a": "1", "b": "2", "c": "3"}, f.raw(t), "still buffered")
	got := map[string]string{}
	it, err := st.Iterator()
	require.NoError(t, err)
	for it.Next() {
		v, err := it.Value()
		require.NoError(t, err)
		got[string(it.Key())] = string(v)
	}
	it.Release()
	assert.Equal(t, map[string]string{"a": "1", "b": "two", "d": "4"}, got)
	assert.Equal(t, []string{"b"}, keys(t, st, []byte("b"), []byte("c")))
	assert.Equal(t, []string{"d"}, keys(t, st, []byte("d"), nil))
}

func TestSeek(t *testing.T) {
	f := newFixture(t)
	writeRaw(t, f, map[string]string{"b": "1", "d": "2", "f": "3", "__offset": "1"})
	st := f.open(t)

	tests := []struct {
		name       string
		start      []byte // range start (prefix when limit is nil)
		limit      []byte
		before     int // Next calls before the seek
		seek       string
		wantFound  bool
		wantResult []string // keys returned by Next after the seek
	}{
		{"exact key", nil, nil, 0, "d", true, []string{"d", "f"}},
		{"between keys", nil, nil, 0, "c", true, []string{"d", "f"}},
		{"before the first", nil, nil, 0, "a", true, []string{"b", "d", "f"}},
		{"empty key", nil, nil, 0, "", true, []string{"b", "d", "f"}},
		{"after the last", nil, nil, 0, "g", false, []string{}},
		{"the last", nil, nil, 0, "f", true, []string{"f"}},
		{"backwards", nil, nil, 3, "b", true, []string{"b", "d", "f"}},
		{"after exhaustion", nil, nil, 4, "e", true, []string{"f"}},
		{"forward past the current", nil, nil, 1, "e", true, []string{"f"}},
		{"inside a range", []byte("c"), []byte("f"), 0, "a", true, []string{"d"}},
		{"beyond a range", []byte("c"), []byte("f"), 0, "e", false, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := st.IteratorWithRange(tt.start, tt.limit)
			require.NoError(t, err)
			defer it.Release()
			for range tt.before {
				it.Next()
			}
			assert.Equal(t, tt.wantFound, it.Seek([]byte(tt.seek)))
			assert.Nil(t, it.Key(), "Key is valid only after Next")
			assert.Equal(t, tt.wantResult, drain(t, it))
		})
	}
	t.Run("after Release", func(t *testing.T) {
		it, err := st.Iterator()
		require.NoError(t, err)
		require.True(t, it.Next())
		it.Release()
		assert.False(t, it.Next())
		assert.Nil(t, it.Key())
		assert.False(t, it.Seek([]byte("a")))
		assert.False(t, it.Next())
	})
}

// TestMergePartitions checks that the sorted iterators of two partitions
// merge into one sorted stream, as a View does with
// storage.NewMultiIterator.
func TestMergePartitions(t *testing.T) {
	srv := sharedServer(t)
	client := newClient(t, srv.addr())
	build := gokaredis.RedisBuilder(client, "merge-test")
	ctx := context.Background()
	var all []string
	var parts []storage.Storage
	for p := range int32(2) {
		require.NoError(t, client.Del(ctx, fmt.Sprintf("merge-test:table:%d", p)).Err())
		st, err := build("table", p)
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = st.Close()
			client.Del(context.Background(), fmt.Sprintf("merge-test:table:%d", p))
		})
		for i := range 3000 {
			if i%2 == int(p) { // interleaved key sets
				k := fmt.Sprintf("user-%05d", i)
				require.NoError(t, st.Set(k, []byte(k)))
				all = append(all, k)
			}
		}
		require.NoError(t, st.SetOffset(int64(p)))
		require.NoError(t, st.MarkRecovered())
		parts = append(parts, st)
	}
	slices.Sort(all)

	iters := make([]storage.Iterator, len(parts))
	for i, st := range parts {
		it, err := st.Iterator()
		require.NoError(t, err)
		iters[i] = it
	}
	merged := mergeIterators(iters)
	defer merged.Release()
	assert.Equal(t, all, drain(t, merged))
}

// mergeIterators is a k-way merge by bytes.Compare, the contract of
// storage.NewMultiIterator.
func mergeIterators(iters []storage.Iterator) storage.Iterator {
	return &merger{iters: iters, cur: -1}
}

type merger struct {
	iters []storage.Iterator
	live  []bool
	cur   int
}

func (m *merger) Next() bool {
	if m.live == nil {
		m.live = make([]bool, len(m.iters))
		for i, it := range m.iters {
			m.live[i] = it.Next()
		}
	} else if m.cur >= 0 {
		m.live[m.cur] = m.iters[m.cur].Next()
	}
	m.cur = -1
	for i, it := range m.iters {
		if m.live[i] && (m.cur < 0 || bytes.Compare(it.Key(), m.iters[m.cur].Key()) < 0) {
			m.cur = i
		}
	}
	return m.cur >= 0
}

func (m *merger) Err() error { return nil }

func (m *merger) Key() []byte {
	if m.cur < 0 {
		return nil
	}
	return m.iters[m.cur].Key()
}

func (m *merger) Value() ([]byte, error) {
	if m.cur < 0 {
		return nil, nil
	}
	return m.iters[m.cur].Value()
}

func (m *merger) Release() {
	for _, it := range m.iters {
		it.Release()
	}
}

func (m *merger) Seek([]byte) bool { panic("not needed") }
