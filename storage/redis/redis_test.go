package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/storage"
	gokaredis "github.com/e3793d55/goka/storage/redis"
)

// fixture is a client of the shared server and a hash of the test's own.
type fixture struct {
	client *goredis.Client
	hash   string
	addr   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := sharedServer(t)
	f := &fixture{client: newClient(t, srv.addr()), addr: srv.addr()}
	f.hash = "test:" + strings.NewReplacer("/", ":", " ", "_").Replace(t.Name())
	ctx := context.Background()
	require.NoError(t, f.client.Del(ctx, f.hash).Err())
	t.Cleanup(func() { _ = f.client.Del(context.Background(), f.hash).Err() })
	return f
}

// open opens a storage on the fixture's hash and closes it at the end.
func (f *fixture) open(t *testing.T, opts ...gokaredis.Option) storage.Storage {
	t.Helper()
	st, err := gokaredis.New(f.client, f.hash, opts...)
	require.NoError(t, err)
	require.NoError(t, st.Open())
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// raw returns the raw hash as Redis holds it.
func (f *fixture) raw(t *testing.T) map[string]string {
	t.Helper()
	m, err := f.client.HGetAll(context.Background(), f.hash).Result()
	require.NoError(t, err)
	return m
}

func flush(t *testing.T, st storage.Storage) {
	t.Helper()
	fl, ok := st.(storage.Flusher)
	require.True(t, ok, "the redis storage implements storage.Flusher")
	require.NoError(t, fl.Flush())
}

// modes are the two write modes every behaviour must hold in.
var modes = []struct {
	name string
	opts []gokaredis.Option
}{
	{"buffered", nil},
	{"write-through", []gokaredis.Option{gokaredis.WithWriteBuffer(0)}},
}

func TestNewValidation(t *testing.T) {
	// None of these needs a server: they fail before the ping.
	closedAddr := closedPort(t)
	client := newClient(t, closedAddr)
	unbounded := goredis.NewClient(&goredis.Options{Addr: closedAddr, ReadTimeout: -1})
	t.Cleanup(func() { _ = unbounded.Close() })

	tests := []struct {
		name    string
		client  *goredis.Client
		hash    string
		opts    []gokaredis.Option
		wantErr string
	}{
		{"nil client", nil, "h", nil, "redis storage: nil client"},
		{"empty hash", client, "", nil, "redis storage: empty hash name"},
		{"zero timeout", client, "h", []gokaredis.Option{gokaredis.WithTimeout(0)}, "WithTimeout(0s): the timeout must be positive"},
		{"negative timeout", client, "h", []gokaredis.Option{gokaredis.WithTimeout(-time.Second)}, "WithTimeout(-1s)"},
		{"negative buffer", client, "h", []gokaredis.Option{gokaredis.WithWriteBuffer(-1)}, "WithWriteBuffer(-1): the buffer size must not be negative"},
		{"client that can block forever", unbounded, "h", nil, "client for " + closedAddr + " can block forever"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := gokaredis.New(tt.client, tt.hash, tt.opts...)
			require.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, st)
		})
	}
}

func TestBuilderValidation(t *testing.T) {
	client := newClient(t, closedPort(t))
	tests := []struct {
		name      string
		client    *goredis.Client
		namespace string
		topic     string
		partition int32
		wantErr   string
	}{
		{"empty namespace", client, "", "t", 0, "redis storage: empty namespace"},
		{"empty topic", client, "ns", "", 0, `redis storage: namespace "ns": empty topic`},
		{"negative partition", client, "ns", "t", -1, `topic "t": negative partition -1`},
		{"nil client", nil, "ns", "t", 0, "redis storage: nil client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			build := gokaredis.RedisBuilder(tt.client, tt.namespace)
			require.NotNil(t, build, "RedisBuilder itself never fails; the builder call does")
			st, err := build(tt.topic, tt.partition)
			require.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, st)
		})
	}
}

func TestBuilderLayout(t *testing.T) {
	srv := sharedServer(t)
	client := newClient(t, srv.addr())
	ctx := context.Background()
	const hash = "layout-ns:my-group-table:3"
	require.NoError(t, client.Del(ctx, hash).Err())
	t.Cleanup(func() { client.Del(context.Background(), hash) })

	st, err := gokaredis.RedisBuilder(client, "layout-ns")("my-group-table", 3)
	require.NoError(t, err)
	require.NoError(t, st.Open())
	require.NoError(t, st.Set("key", []byte("value")))
	require.NoError(t, st.SetOffset(17))
	require.NoError(t, st.Close())

	got, err := client.HGetAll(ctx, hash).Result()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"key": "value", "__offset": "17"}, got)
	require.NoError(t, client.Ping(ctx).Err(), "Close must not close the user's client")
}

// closedPort returns the address of a 127.0.0.1 port nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	require.NoError(t, err)
	return "127.0.0.1:" + strconv.Itoa(port)
}

func TestWrongAddress(t *testing.T) {
	addr := closedPort(t)
	client := newClient(t, addr)
	tests := []struct {
		name string
		open func() (storage.Storage, error)
	}{
		{"New", func() (storage.Storage, error) {
			return gokaredis.New(client, "h", gokaredis.WithTimeout(2*time.Second))
		}},
		{"RedisBuilder", func() (storage.Storage, error) { return gokaredis.RedisBuilder(client, "ns")("t", 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			st, err := tt.open()
			require.Error(t, err)
			assert.Nil(t, st)
			assert.Contains(t, err.Error(), "redis storage: ping "+addr)
			assert.Contains(t, err.Error(), "connection refused")
			assert.ErrorIs(t, err, syscall.ECONNREFUSED)
			// A hang guard, not a speed check: far above the timeout.
			assert.Less(t, time.Since(start), gokaredis.DefaultTimeout+30*time.Second)
		})
	}
}

func TestGetSetDeleteHas(t *testing.T) {
	type step struct {
		op    string // set, delete, get, has
		key   string
		value []byte // set: value to write; get: want (nil = missing)
		has   bool   // has: want
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"get missing", []step{{op: "get", key: "nope"}, {op: "has", key: "nope", has: false}}},
		{"set get", []step{{op: "set", key: "k", value: []byte("v")}, {op: "get", key: "k", value: []byte("v")}, {op: "has", key: "k", has: true}}},
		{"overwrite", []step{{op: "set", key: "k", value: []byte("1")}, {op: "set", key: "k", value: []byte("2")}, {op: "get", key: "k", value: []byte("2")}}},
		{"empty value exists", []step{{op: "set", key: "k", value: nil}, {op: "get", key: "k", value: []byte{}}, {op: "has", key: "k", has: true}}},
		{"binary and glob key", []step{{op: "set", key: "\x00\xff*?[a]\\", value: []byte{0, 1, 2}}, {op: "get", key: "\x00\xff*?[a]\\", value: []byte{0, 1, 2}}, {op: "get", key: "\x00\xff", value: nil}}},
		{"delete", []step{{op: "set", key: "k", value: []byte("v")}, {op: "delete", key: "k"}, {op: "get", key: "k"}, {op: "has", key: "k", has: false}}},
		{"delete missing", []step{{op: "delete", key: "nope"}, {op: "get", key: "nope"}}},
		{"set after delete", []step{{op: "set", key: "k", value: []byte("1")}, {op: "delete", key: "k"}, {op: "set", key: "k", value: []byte("2")}, {op: "get", key: "k", value: []byte("2")}}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					f := newFixture(t)
					st := f.open(t, mode.opts...)
					check := func(st storage.Storage, s step) {
						t.Helper()
						switch s.op {
						case "get":
							got, err := st.Get(s.key)
							require.NoError(t, err)
							if s.value == nil {
								assert.Nil(t, got, "Get(%q) of a missing key", s.key)
							} else {
								assert.Equal(t, s.value, got, "Get(%q)", s.key)
							}
						case "has":
							got, err := st.Has(s.key)
							require.NoError(t, err)
							assert.Equal(t, s.has, got, "Has(%q)", s.key)
						}
					}
					for _, s := range tt.steps {
						switch s.op {
						case "set":
							require.NoError(t, st.Set(s.key, s.value))
						case "delete":
							require.NoError(t, st.Delete(s.key))
						default:
							check(st, s)
						}
					}
					// The same state after a close and a reopen.
					require.NoError(t, st.Close())
					reopened := f.open(t, mode.opts...)
					for _, s := range tt.steps {
						check(reopened, s)
					}
				})
			}
		})
	}
}

func TestGetReturnsCopy(t *testing.T) {
	f := newFixture(t)
	st := f.open(t)
	value := []byte("abc")
	require.NoError(t, st.Set("k", value))
	value[0] = 'X' // the storage copied the value
	got, err := st.Get("k")
	require.NoError(t, err)
	assert.Equal(t, []byte("abc"), got)
	got[1] = 'Y' // and returns a copy of its buffer
	got, err = st.Get("k")
	require.NoError(t, err)
	assert.Equal(t, []byte("abc"), got)
}

func TestReservedKey(t *testing.T) {
	f := newFixture(t)
	st := f.open(t)
	ops := map[string]func() error{
		"Get":    func() error { _, err := st.Get("__offset"); return err },
		"Has":    func() error { _, err := st.Has("__offset"); return err },
		"Set":    func() error { return st.Set("__offset", []byte("1")) },
		"Delete": func() error { return st.Delete("__offset") },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			err := op()
			require.ErrorIs(t, err, gokaredis.ErrReservedKey)
			assert.Contains(t, err.Error(), f.hash)
		})
	}
}

func TestWriteVisibility(t *testing.T) {
	t.Run("buffered writes reach Redis on Flush", func(t *testing.T) {
		f := newFixture(t)
		st := f.open(t)
		require.NoError(t, st.Set("a", []byte("1")))
		require.NoError(t, st.SetOffset(5))
		assert.Empty(t, f.raw(t), "nothing written before Flush")
		flush(t, st)
		assert.Equal(t, map[string]string{"a": "1", "__offset": "5"}, f.raw(t))
		require.NoError(t, st.Delete("a"))
		require.NoError(t, st.SetOffset(6))
		require.NoError(t, st.MarkRecovered(), "MarkRecovered flushes")
		assert.Equal(t, map[string]string{"__offset": "6"}, f.raw(t))
	})
	t.Run("a full buffer flushes by itself", func(t *testing.T) {
		f := newFixture(t)
		st := f.open(t, gokaredis.WithWriteBuffer(3))
		require.NoError(t, st.Set("a", []byte("1")))
		require.NoError(t, st.SetOffset(1))
		require.NoError(t, st.Delete("b"))
		assert.Empty(t, f.raw(t))
		require.NoError(t, st.Set("c", []byte("3"))) // third write
		assert.Equal(t, map[string]string{"a": "1", "c": "3", "__offset": "1"}, f.raw(t))
	})
	t.Run("write-through writes every call", func(t *testing.T) {
		f := newFixture(t)
		st := f.open(t, gokaredis.WithWriteBuffer(0))
		require.NoError(t, st.Set("a", []byte("1")))
		assert.Equal(t, map[string]string{"a": "1"}, f.raw(t))
		require.NoError(t, st.SetOffset(9))
		assert.Equal(t, map[string]string{"a": "1", "__offset": "9"}, f.raw(t))
		require.NoError(t, st.Delete("a"))
		assert.Equal(t, map[string]string{"__offset": "9"}, f.raw(t))
	})
	t.Run("a large flush", func(t *testing.T) {
		f := newFixture(t)
		st := f.open(t, gokaredis.WithWriteBuffer(10_000))
		want := map[string]string{"__offset": "2999"}
		for i := range 3000 {
			k := fmt.Sprintf("k%d", i)
			require.NoError(t, st.Set(k, []byte(k)))
			require.NoError(t, st.SetOffset(int64(i)))
			want[k] = k
		}
		for i := range 1500 {
			require.NoError(t, st.Delete(fmt.Sprintf("k%d", 2*i)))
			delete(want, fmt.Sprintf("k%d", 2*i))
		}
		assert.Empty(t, f.raw(t))
		flush(t, st)
		assert.Equal(t, want, f.raw(t))
	})
	t.Run("Close flushes", func(t *testing.T) {
		f := newFixture(t)
		st := f.open(t)
		require.NoError(t, st.Set("a", []byte("1")))
		require.NoError(t, st.SetOffset(3))
		require.NoError(t, st.Close())
		assert.Equal(t, map[string]string{"a": "1", "__offset": "3"}, f.raw(t))
	})
}

// TestFlushIsOneTransaction checks that values and offset travel in one
// MULTI/EXEC.
func TestFlushIsOneTransaction(t *testing.T) {
	f := newFixture(t)
	rec := &recorder{}
	f.client.AddHook(rec)
	st := f.open(t)
	for i, want := range [][]string{
		{"multi", "hdel", "hset", "exec"},            // no offset stored yet
		{"multi", "hexists", "hdel", "hset", "exec"}, // checks the offset is still there
	} {
		require.NoError(t, st.Set("a", []byte("1")))
		require.NoError(t, st.Delete("b"))
		require.NoError(t, st.SetOffset(int64(i)))
		rec.reset()
		flush(t, st)
		var pipes [][]string
		for _, p := range rec.pipelines() {
			if p[0] != "client" && p[0] != "hello" { // connection setup
				pipes = append(pipes, p)
			}
		}
		require.Len(t, pipes, 1, "one round trip")
		assert.Equal(t, want, pipes[0])
	}
}

func TestOffset(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Run("none stored returns default", func(t *testing.T) {
				f := newFixture(t)
				st := f.open(t, mode.opts...)
				got, err := st.GetOffset(-2)
				require.NoError(t, err)
				assert.Equal(t, int64(-2), got)
			})
			t.Run("set get reopen", func(t *testing.T) {
				f := newFixture(t)
				st := f.open(t, mode.opts...)
				for _, off := range []int64{0, 41, 42, 1 << 40} {
					require.NoError(t, st.SetOffset(off))
					got, err := st.GetOffset(-1)
					require.NoError(t, err)
					assert.Equal(t, off, got)
				}
				require.NoError(t, st.Close())
				assert.Equal(t, strconv.FormatInt(1<<40, 10), f.raw(t)["__offset"], "ASCII decimal")
				got, err := f.open(t, mode.opts...).GetOffset(-1)
				require.NoError(t, err)
				assert.Equal(t, int64(1<<40), got)
			})
		})
	}
	t.Run("opens a hash in Goka's layout", func(t *testing.T) {
		f := newFixture(t)
		// What Goka's storage/redis writes: HSET fields and __offset.
		require.NoError(t, f.client.HSet(context.Background(), f.hash, "__offset", "1234", "a", "1", "b", "2").Err())
		st := f.open(t)
		off, err := st.GetOffset(-1)
		require.NoError(t, err)
		assert.Equal(t, int64(1234), off)
		v, err := st.Get("a")
		require.NoError(t, err)
		assert.Equal(t, []byte("1"), v)
		assert.Equal(t, []string{"a", "b"}, keys(t, st, nil, nil))
		// And Goka reads what we write: the same fields, offset as decimal.
		require.NoError(t, st.Set("c", []byte("3")))
		require.NoError(t, st.SetOffset(1235))
		flush(t, st)
		assert.Equal(t, map[string]string{"__offset": "1235", "a": "1", "b": "2", "c": "3"}, f.raw(t))
	})
	t.Run("garbage offset is an error naming the hash", func(t *testing.T) {
		f := newFixture(t)
		require.NoError(t, f.client.HSet(context.Background(), f.hash, "__offset", "twelve").Err())
		st := f.open(t)
		_, err := st.GetOffset(-1)
		require.Error(t, err)
		assert.Contains(t, err.Error(), f.hash)
		assert.Contains(t, err.Error(), `"twelve"`)
	})
	t.Run("not a hash", func(t *testing.T) {
		f := newFixture(t)
		require.NoError(t, f.client.Set(context.Background(), f.hash, "a string", 0).Err())
		_, err := gokaredis.New(f.client, f.hash)
		require.Error(t, err)
		assert.Contains(t, err.Error(), f.hash)
		assert.Contains(t, err.Error(), "WRONGTYPE")
	})
}

func TestClose(t *testing.T) {
	f := newFixture(t)
	st := f.open(t)
	require.NoError(t, st.Set("a", []byte("1")))
	require.NoError(t, st.Close())
	require.NoError(t, st.Close(), "closing twice is fine")
	require.NoError(t, f.client.Ping(context.Background()).Err(), "the client stays open")

	ops := map[string]func() error{
		"Open":              st.Open,
		"Get":               func() error { _, err := st.Get("a"); return err },
		"Has":               func() error { _, err := st.Has("a"); return err },
		"Set":               func() error { return st.Set("a", nil) },
		"Delete":            func() error { return st.Delete("a") },
		"GetOffset":         func() error { _, err := st.GetOffset(0); return err },
		"SetOffset":         func() error { return st.SetOffset(1) },
		"MarkRecovered":     st.MarkRecovered,
		"Flush":             st.(storage.Flusher).Flush,
		"Iterator":          func() error { _, err := st.Iterator(); return err },
		"IteratorWithRange": func() error { _, err := st.IteratorWithRange([]byte("a"), []byte("b")); return err },
		"empty range":       func() error { _, err := st.IteratorWithRange([]byte("b"), []byte("a")); return err },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			err := op()
			require.ErrorIs(t, err, gokaredis.ErrClosed)
			assert.Contains(t, err.Error(), f.hash)
		})
	}
}

// TestDataLost checks that a storage notices that Redis lost its hash and
// that a new storage on it starts from scratch (recovery from Kafka).
func TestDataLost(t *testing.T) {
	ops := []struct {
		name string
		op   func(st storage.Storage) error
	}{
		{"Get", func(st storage.Storage) error { _, err := st.Get("a"); return err }},
		{"Has", func(st storage.Storage) error { _, err := st.Has("a"); return err }},
		{"GetOffset", func(st storage.Storage) error { _, err := st.GetOffset(-1); return err }},
		{"Iterator", func(st storage.Storage) error { _, err := st.Iterator(); return err }},
		{"prefix iterator", func(st storage.Storage) error { _, err := st.IteratorWithRange([]byte("a"), nil); return err }},
		{"Flush", func(st storage.Storage) error {
			if err := st.Set("b", []byte("2")); err != nil {
				return err
			}
			if err := st.SetOffset(11); err != nil {
				return err
			}
			return st.(storage.Flusher).Flush()
		}},
		{"write-through Set", func(st storage.Storage) error { return st.Set("b", []byte("2")) }},
	}
	for _, tt := range ops {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var opts []gokaredis.Option
			if strings.HasPrefix(tt.name, "write-through") {
				opts = append(opts, gokaredis.WithWriteBuffer(0))
			}
			st := f.open(t, opts...)
			require.NoError(t, st.Set("a", []byte("1")))
			require.NoError(t, st.SetOffset(10))
			flush(t, st)

			require.NoError(t, f.client.Del(context.Background(), f.hash).Err()) // Redis loses the hash

			err := tt.op(st)
			require.ErrorIs(t, err, gokaredis.ErrDataLost)
			assert.Contains(t, err.Error(), f.hash)
			assert.Contains(t, err.Error(), "recover the partition from Kafka")
			_, hasOffset := f.raw(t)["__offset"]
			assert.False(t, hasOffset, "no offset may survive without its values")

			// A new storage (the restarted processor) starts from scratch.
			fresh := f.open(t)
			off, err := fresh.GetOffset(-2)
			require.NoError(t, err)
			assert.Equal(t, int64(-2), off, "GetOffset returns the default: recovery starts at the oldest offset")
		})
	}
}

func TestConcurrentReadersOneWriter(t *testing.T) {
	f := newFixture(t)
	st := f.open(t, gokaredis.WithWriteBuffer(50))
	const n = 2000
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("k%05d", (i*7+r)%n)
				v, err := st.Get(key)
				if err != nil {
					errs <- err
					return
				}
				if v != nil && string(v) != key {
					errs <- fmt.Errorf("Get(%q) = %q", key, v)
					return
				}
				if i%200 == 0 {
					it, err := st.IteratorWithRange([]byte("k00"), nil)
					if err != nil {
						errs <- err
						return
					}
					prev := ""
					for it.Next() {
						if k := string(it.Key()); k <= prev {
							errs <- fmt.Errorf("iterator out of order: %q after %q", k, prev)
						} else {
							prev = k
						}
					}
					it.Release()
				}
			}
		}()
	}
	for i := range n {
		key := fmt.Sprintf("k%05d", i)
		require.NoError(t, st.Set(key, []byte(key)))
		require.NoError(t, st.SetOffset(int64(i)))
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	flush(t, st)
	raw := f.raw(t)
	assert.Len(t, raw, n+1)
	assert.Equal(t, strconv.Itoa(n-1), raw["__offset"])
}

// recorder is a go-redis hook that records command names.
type recorder struct {
	mu    sync.Mutex
	cmds  []string
	pipes [][]string
}

func (r *recorder) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (r *recorder) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		r.mu.Lock()
		r.cmds = append(r.cmds, cmd.Name())
		r.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (r *recorder) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		r.mu.Lock()
		r.pipes = append(r.pipes, names)
		r.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds, r.pipes = nil, nil
}

func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.cmds {
		if c == name {
			n++
		}
	}
	return n
}

func (r *recorder) pipelines() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.pipes...)
}

// errorsIsAny reports whether err matches one of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
