package redis_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	gokaredis "github.com/e3793d55/goka/storage/redis"
)

// These tests run processors whose tables live in Redis on the embedded
// broker: the end-to-end path of a goka program using this package.

const (
	e2eInput      = "e2e-input"
	e2ePartitions = 4
	e2eKeys       = 4
)

var configureGoka sync.Once

// e2eSetup starts a broker with the input topic and sets goka's global
// config for quick tests that read topics from the start.
func e2eSetup(t *testing.T) []string {
	t.Helper()
	configureGoka.Do(func() {
		cfg := goka.DefaultConfig()
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
		cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
		cfg.Producer.Flush.Frequency = 5 * time.Millisecond
		cfg.Net.DialTimeout = 2 * time.Second
		goka.ReplaceGlobalConfig(cfg)
	})
	c, err := kafkatest.New(kafkatest.Partitions(e2ePartitions), kafkatest.Topic(e2eInput, e2ePartitions))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c.Brokers()
}

type quietGoka struct{}

func (quietGoka) Print(...interface{})          {}
func (quietGoka) Println(...interface{})        {}
func (quietGoka) Printf(string, ...interface{}) {}

// idsGraph keeps, per key, the ids of the messages it has seen, as a sorted
// comma-separated list. Being idempotent, it shows both lost messages (an
// id missing) and the replays of at-least-once delivery (which change
// nothing).
func idsGraph(group goka.Group) *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(e2eInput, new(codec.String), func(ctx goka.Context, msg interface{}) {
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

func newRedisProcessor(t *testing.T, brokers []string, group goka.Group, client *goredis.Client, opts ...gokaredis.Option) *goka.Processor {
	t.Helper()
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	tmc.Logger = quietGoka{}
	p, err := goka.NewProcessor(brokers, idsGraph(group),
		goka.WithStorageBuilder(gokaredis.RedisBuilder(client, "e2e", opts...)),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithLogger(quietGoka{}),
	)
	require.NoError(t, err)
	return p
}

// running is a processor's Run in a goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // Run's error, set before done is closed
}

func runProcessor(t *testing.T, p *goka.Processor) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = p.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(60 * time.Second):
			t.Errorf("Run did not return 60 s after cancel")
		}
	})
	return r
}

// stop cancels Run and returns its error.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		return r.err
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return 60 s after cancel")
		return nil
	}
}

// emitIDs emits the ids from..to-1 round-robin over the keys and waits for
// their acknowledgements.
func emitIDs(t *testing.T, brokers []string, from, to int) {
	t.Helper()
	e, err := goka.NewEmitter(brokers, e2eInput, new(codec.String), goka.WithEmitterLogger(quietGoka{}))
	require.NoError(t, err)
	for id := from; id < to; id++ {
		_, err := e.Emit(fmt.Sprintf("key-%d", id%e2eKeys), strconv.Itoa(id))
		require.NoError(t, err)
	}
	require.NoError(t, e.Finish())
}

// wantIDs is the table value of key after ids 0..n-1.
func wantIDs(key, n int) string {
	var ids []string
	for id := key; id < n; id += e2eKeys {
		ids = append(ids, strconv.Itoa(id))
	}
	return strings.Join(ids, ",")
}

// waitForIDs waits until p's table has ids 0..n-1.
func waitForIDs(t *testing.T, p *goka.Processor, r *running, n int) {
	t.Helper()
	// Get fails until the partitions are open and recovered.
	require.NoError(t, waitReady(p, r))
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := ""
		for k := range e2eKeys {
			v, err := p.Get(fmt.Sprintf("key-%d", k))
			if s, _ := v.(string); err != nil || s != wantIDs(k, n) {
				missing = fmt.Sprintf("key-%d: %v (error %v), want %s", k, v, err, wantIDs(k, n))
				break
			}
		}
		if missing == "" {
			return
		}
		select {
		case <-r.done:
			t.Fatalf("processor stopped: %v (%s)", r.err, missing)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("table incomplete after 60 s: %s", missing)
		}
	}
}

// TestProcessorEndToEnd runs a processor with Redis storage, restarts it
// (the state is found in Redis at the stored offsets), then empties Redis
// and restarts it again (the state is recovered from the table topic).
func TestProcessorEndToEnd(t *testing.T) {
	srv := ownServer(t)
	client := newClient(t, srv.addr())
	brokers := e2eSetup(t)
	const group goka.Group = "e2e-restart"

	p := newRedisProcessor(t, brokers, group, client)
	r := runProcessor(t, p)
	emitIDs(t, brokers, 0, 40)
	waitForIDs(t, p, r, 40)
	require.NoError(t, r.stop(t))

	// The table is in Redis, Goka's layout: one hash per partition with the
	// offset of the last applied table record.
	ctx := context.Background()
	var fields int64
	for part := range e2ePartitions {
		hash := fmt.Sprintf("e2e:%s:%d", goka.GroupTable(group), part)
		n, err := client.HLen(ctx, hash).Result()
		require.NoError(t, err)
		fields += n
		if n > 0 {
			off, err := client.HGet(ctx, hash, "__offset").Int64()
			require.NoError(t, err, "hash %s has an offset", hash)
			assert.GreaterOrEqual(t, off, int64(0))
		}
	}
	assert.Equal(t, int64(e2eKeys+4), fields, "every key once, and an offset per used partition")

	// Restart: the new processor resumes from Redis and the committed input
	// offsets.
	p = newRedisProcessor(t, brokers, group, client)
	r = runProcessor(t, p)
	waitForIDs(t, p, r, 40)
	emitIDs(t, brokers, 40, 60)
	waitForIDs(t, p, r, 60)
	require.NoError(t, r.stop(t))

	// Redis loses everything: the next processor recovers from Kafka.
	require.NoError(t, client.FlushAll(ctx).Err())
	p = newRedisProcessor(t, brokers, group, client)
	r = runProcessor(t, p)
	waitForIDs(t, p, r, 60)
	emitIDs(t, brokers, 60, 80)
	waitForIDs(t, p, r, 80)
	require.NoError(t, r.stop(t))
}

// TestProcessorRedisRestart kills Redis while a processor runs and messages
// keep coming: the processor stops with an error naming Redis's address.
// Redis comes back empty (no persistence); a new processor recovers its
// table from Kafka and processes the rest, and no message is lost.
func TestProcessorRedisRestart(t *testing.T) {
	srv := ownServer(t)
	client := newClient(t, srv.addr())
	brokers := e2eSetup(t)
	const group goka.Group = "e2e-redis-restart"
	opts := []gokaredis.Option{gokaredis.WithTimeout(testTimeout)}

	p := newRedisProcessor(t, brokers, group, client, opts...)
	r := runProcessor(t, p)
	emitIDs(t, brokers, 0, 40)
	waitForIDs(t, p, r, 40)

	srv.kill()
	// Keep messages coming until the processor touches Redis and fails.
	next := 40
	var runErr error
	deadline := time.Now().Add(30 * time.Second)
	for runErr == nil {
		emitIDs(t, brokers, next, next+e2eKeys)
		next += e2eKeys
		select {
		case <-r.done:
			runErr = r.err
		case <-time.After(100 * time.Millisecond):
		}
		require.False(t, time.Now().After(deadline), "the processor did not notice that Redis is gone within 30 s")
	}
	t.Logf("processor stopped after %d messages: %v", next, runErr)
	assert.Contains(t, runErr.Error(), srv.addr(), "the error names Redis's address")
	assert.Contains(t, runErr.Error(), "redis storage")
	emitIDs(t, brokers, next, next+20)
	next += 20

	require.NoError(t, srv.start())
	p = newRedisProcessor(t, brokers, group, client, opts...)
	// go-redis may fail fast for about a second after Redis is back; the
	// processor's storage builder pings, so retry starting it.
	deadline = time.Now().Add(30 * time.Second)
	for {
		r = runProcessor(t, p)
		if err := waitReady(p, r); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("processor does not start after Redis is back: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
		p = newRedisProcessor(t, brokers, group, client, opts...)
	}
	waitForIDs(t, p, r, next)
	require.NoError(t, r.stop(t))
}

// waitReady waits until p is ready or its Run has returned.
func waitReady(p *goka.Processor, r *running) error {
	ready := make(chan error, 1)
	go func() { ready <- p.WaitForReadyContext(context.Background()) }()
	select {
	case <-r.done:
		err := r.err
		if err == nil {
			err = fmt.Errorf("Run returned nil before ready")
		}
		return err
	case <-ready:
		return nil
	}
}

// TestProcessorRedisRefused starts a processor whose Redis refuses
// connections: Run fails soon with an error naming the address.
func TestProcessorRedisRefused(t *testing.T) {
	sharedServer(t)
	addr := closedPort(t)
	client := newClient(t, addr)
	brokers := e2eSetup(t)

	p := newRedisProcessor(t, brokers, "e2e-refused", client)
	start := time.Now()
	r := runProcessor(t, p)
	var runErr error
	select {
	case <-r.done:
		runErr = r.err
	case <-time.After(gokaredis.DefaultTimeout + 10*time.Second):
		t.Fatal("Run did not fail within the storage's timeout")
	}
	t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), runErr)
	require.Error(t, runErr)
	assert.Contains(t, runErr.Error(), "redis storage: ping "+addr)
	assert.Contains(t, runErr.Error(), "connection refused")
}
