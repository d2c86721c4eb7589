package redis_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/storage"
	gokaredis "github.com/e3793d55/goka/storage/redis"
)

const testTimeout = 500 * time.Millisecond

// errBound tells a call that failed by its timeout (testTimeout) from one
// that hangs. It is a hang guard, not a speed check: far above the timeout,
// so that no load on the machine can make it fail.
const errBound = testTimeout + 30*time.Second

// TestRedisRestart kills Redis under open storages, checks that calls fail
// fast with clear errors, starts Redis again on the same port and checks that
// calls work again. The server has no persistence, so the data is gone: a
// storage that had stored an offset reports ErrDataLost, and a new storage
// (the restarted processor) finds no offset and so recovers from Kafka.
func TestRedisRestart(t *testing.T) {
	srv := ownServer(t)
	client := newClient(t, srv.addr())
	opts := []gokaredis.Option{gokaredis.WithTimeout(testTimeout)}

	// plain never stored an offset; withOffset did.
	plain, err := gokaredis.New(client, "restart:plain", append(opts, gokaredis.WithWriteBuffer(0))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = plain.Close() })
	withOffset, err := gokaredis.New(client, "restart:offset", opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = withOffset.Close() })

	require.NoError(t, plain.Set("k", []byte("v")))
	require.NoError(t, withOffset.Set("k", []byte("v")))
	require.NoError(t, withOffset.SetOffset(100))
	require.NoError(t, withOffset.MarkRecovered())

	srv.kill()

	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := plain.Get("k"); return err }},
		{"Has", func() error { _, err := plain.Has("k"); return err }},
		{"Set write-through", func() error { return plain.Set("k2", []byte("v2")) }},
		{"GetOffset", func() error { _, err := plain.GetOffset(-1); return err }},
		{"Iterator", func() error { _, err := plain.Iterator(); return err }},
		{"Flush", func() error {
			if err := withOffset.Set("k3", []byte("v3")); err != nil {
				return err
			}
			return withOffset.(storage.Flusher).Flush()
		}},
	}
	for _, c := range calls {
		t.Run("dead/"+c.name, func(t *testing.T) {
			start := time.Now()
			err := c.call()
			elapsed := time.Since(start)
			require.Error(t, err)
			t.Logf("after %v: %v", elapsed.Round(time.Millisecond), err)
			assert.Less(t, elapsed, errBound, "a dead Redis must give an error within the timeout")
			assert.Contains(t, err.Error(), "redis storage: hash \"restart:")
			assert.Contains(t, err.Error(), srv.addr(), "the error names the address")
			assert.True(t, errorsIsAny(err, syscall.ECONNREFUSED, syscall.ECONNRESET, context.DeadlineExceeded) || isNetErr(err),
				"the cause is a network error: %v", err)
		})
	}
	_, err = gokaredis.New(client, "restart:new")
	require.ErrorContains(t, err, "redis storage: ping "+srv.addr())

	require.NoError(t, srv.start())

	// go-redis redials within about a second; until then calls fail fast.
	require.Eventually(t, func() bool {
		_, err := plain.Get("k")
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "calls work again after Redis is back")

	v, err := plain.Get("k")
	require.NoError(t, err)
	assert.Nil(t, v, "without persistence the data is gone")
	require.NoError(t, plain.Set("k", []byte("again")))
	v, err = plain.Get("k")
	require.NoError(t, err)
	assert.Equal(t, []byte("again"), v)

	// The storage that had stored an offset knows its data is gone.
	_, err = withOffset.Get("k")
	require.ErrorIs(t, err, gokaredis.ErrDataLost)
	assert.ErrorIs(t, withOffset.Set("x", nil), gokaredis.ErrDataLost, "the lost state is sticky")
	require.NoError(t, withOffset.Close(), "Close after a data loss drops the buffer")

	// The processor restarts the partition: a new storage finds no offset, so
	// recovery reads the table topic from the oldest offset.
	fresh, err := gokaredis.New(client, "restart:offset", opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = fresh.Close() })
	off, err := fresh.GetOffset(-2)
	require.NoError(t, err)
	assert.Equal(t, int64(-2), off)
	require.NoError(t, fresh.Set("k", []byte("recovered")))
	require.NoError(t, fresh.SetOffset(100))
	require.NoError(t, fresh.MarkRecovered())
	v, err = fresh.Get("k")
	require.NoError(t, err)
	assert.Equal(t, []byte("recovered"), v)
}

// TestRedisHung stops Redis with SIGSTOP: the socket stays open but nothing
// answers. Calls must time out instead of hanging.
func TestRedisHung(t *testing.T) {
	srv := ownServer(t)
	client := newClient(t, srv.addr())
	st, err := gokaredis.New(client, "hung", gokaredis.WithTimeout(testTimeout), gokaredis.WithWriteBuffer(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Set("k", []byte("v")))

	require.NoError(t, srv.signal(syscall.SIGSTOP))
	stopped := true
	t.Cleanup(func() {
		if stopped {
			_ = srv.signal(syscall.SIGCONT)
		}
	})

	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := st.Get("k"); return err }},
		{"Set", func() error { return st.Set("k", []byte("w")) }},
		{"Iterator", func() error { _, err := st.Iterator(); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			err := c.call()
			elapsed := time.Since(start)
			require.Error(t, err)
			t.Logf("after %v: %v", elapsed.Round(time.Millisecond), err)
			assert.Less(t, elapsed, errBound)
			assert.Contains(t, err.Error(), "no answer within 500ms")
			assert.Contains(t, err.Error(), srv.addr())
		})
	}

	require.NoError(t, srv.signal(syscall.SIGCONT))
	stopped = false
	require.Eventually(t, func() bool {
		v, err := st.Get("k")
		return err == nil && v != nil
	}, 10*time.Second, 50*time.Millisecond, "calls work again once Redis answers")
}

func isNetErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return asErr(err, &ne) || asErr(err, &oe)
}

func asErr[T any](err error, target *T) bool { return errors.As(err, target) }
