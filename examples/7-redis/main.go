// Command 7-redis runs a counting processor whose table lives in Redis
// (storage/redis) instead of LevelDB: each partition is the Redis hash
// <namespace>:<group>-table:<partition>. It emits messages, prints the
// counts, then starts a second processor on the same Redis to show that it
// resumes from the stored offset instead of recovering the whole table,
// and exits:
//
//	redis-server --port 6379 --save '' --appendonly no &   # or: docker run -p 6379:6379 redis
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/7-redis
//
// With the embedded broker (KAFKA_BROKERS unset) the table's Kafka topic
// dies with the program, so it uses a namespace of its own for each run and
// deletes its hashes at the end; with KAFKA_BROKERS it uses -namespace and
// keeps them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/examples/internal/exampleenv"
	"github.com/e3793d55/goka/storage/redis"
)

var (
	topic goka.Stream = "redis-example-input"
	group goka.Group  = "redis-example"
)

// redisEnv names the variable with the Redis address.
const redisEnv = "REDIS_ADDR"

const (
	partitions = 4
	keys       = 3
)

func main() {
	keep := flag.Bool("keep-running", false, "keep the processor running until SIGINT/SIGTERM")
	messages := flag.Int("messages", 30, "number of messages to emit")
	namespace := flag.String("namespace", "goka-7-redis", "prefix of the Redis hashes")
	flag.Parse()
	if err := run(*namespace, *messages, *keep); err != nil {
		log.Fatal(err)
	}
}

func run(namespace string, messages int, keepRunning bool) error {
	ctx, stop := exampleenv.SignalContext()
	defer stop()
	addr := os.Getenv(redisEnv)
	if addr == "" {
		addr = "127.0.0.1:6379"
		log.Printf("%s is not set, using Redis at %s", redisEnv, addr)
	}
	// ContextTimeoutEnabled lets the storage's per-call timeouts reach the
	// socket, so a dead Redis gives an error instead of a hang.
	client := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer client.Close() //nolint:errcheck // nothing to do about it
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := client.Ping(pingCtx).Err()
	cancel()
	if err != nil {
		return fmt.Errorf("no Redis at %s (set %s; start one with: redis-server --port 6379): %w", addr, redisEnv, err)
	}

	embedded := os.Getenv(exampleenv.BrokersEnv) == ""
	brokers, closeBroker, err := exampleenv.Brokers(partitions)
	if err != nil {
		return err
	}
	defer closeBroker()
	if embedded {
		namespace = fmt.Sprintf("%s-%d", namespace, time.Now().UnixNano())
		defer deleteHashes(client, namespace)
	}
	tmc := exampleenv.Configure()
	if err := exampleenv.EnsureStreams(brokers, tmc, partitions, topic); err != nil {
		return err
	}
	newProcessor := func() (*goka.Processor, error) {
		return goka.NewProcessor(brokers,
			goka.DefineGroup(group,
				goka.Input(topic, new(codec.String), func(ctx goka.Context, _ interface{}) {
					n, _ := ctx.Value().(int64)
					ctx.SetValue(n + 1)
				}),
				goka.Persist(new(codec.Int64)),
			),
			goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
			goka.WithStorageBuilder(redis.RedisBuilder(client, namespace)),
		)
	}

	// First run: count the messages.
	p, err := newProcessor()
	if err != nil {
		return err
	}
	err = runUntil(ctx, p, func(runCtx context.Context) error {
		before := total(p)
		if err := emit(brokers, messages); err != nil {
			return err
		}
		if err := exampleenv.WaitFor(runCtx, "the counts", func() bool { return total(p) == before+int64(messages) }); err != nil {
			return err
		}
		fmt.Printf("counts in Redis (hashes %s:%s:0…%d): %s\n", namespace, goka.GroupTable(group), partitions-1, counts(p))
		return nil
	})
	if err != nil {
		return err
	}

	// Second run: a new processor finds the table and its offsets in Redis.
	p, err = newProcessor()
	if err != nil {
		return err
	}
	return runUntil(ctx, p, func(runCtx context.Context) error {
		fmt.Printf("after a restart: %s\n", counts(p))
		if keepRunning {
			fmt.Println("running; press Ctrl-C to stop")
			<-runCtx.Done()
		}
		return nil
	})
}

// runUntil runs p, calls f once p is ready, then stops p.
func runUntil(ctx context.Context, p *goka.Processor, f func(runCtx context.Context) error) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		err := p.Run(runCtx)
		cancel() // a failed processor ends f's waiting
		done <- err
	}()
	err := p.WaitForReadyContext(runCtx)
	if err == nil {
		err = f(runCtx)
	}
	cancel()
	if runErr := <-done; runErr != nil {
		return runErr
	}
	if ctx.Err() != nil {
		return nil // stopped by a signal
	}
	return err
}

func emit(brokers []string, messages int) error {
	e, err := goka.NewEmitter(brokers, topic, new(codec.String))
	if err != nil {
		return err
	}
	for i := range messages {
		if _, err := e.Emit(fmt.Sprintf("user-%d", i%keys), "message"); err != nil {
			return errors.Join(err, e.Finish())
		}
	}
	return e.Finish()
}

func total(p *goka.Processor) int64 {
	var n int64
	for k := range keys {
		v, _ := p.Get(fmt.Sprintf("user-%d", k))
		c, _ := v.(int64)
		n += c
	}
	return n
}

func counts(p *goka.Processor) string {
	s := ""
	for k := range keys {
		key := fmt.Sprintf("user-%d", k)
		v, err := p.Get(key)
		if err != nil {
			v = err
		}
		s += fmt.Sprintf(" %s=%v", key, v)
	}
	return s[1:]
}

// deleteHashes removes the hashes of one run with the embedded broker.
func deleteHashes(client *goredis.Client, namespace string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for p := range partitions {
		_ = client.Del(ctx, fmt.Sprintf("%s:%s:%d", namespace, goka.GroupTable(group), p)).Err()
	}
}
