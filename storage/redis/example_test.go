package redis_test

import (
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	gokaredis "github.com/e3793d55/goka/storage/redis"
)

// Keep the partitions of a table in Redis. The builder goes where Goka takes
// a storage.Builder, e.g. goka.WithStorageBuilder(builder) for a processor or
// goka.WithViewStorageBuilder(builder) for a view. (Compiled, not run: it
// needs a Redis server.)
func Example() {
	client := goredis.NewClient(&goredis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // lets WithTimeout bound every socket read and write
	})
	defer client.Close() // the storages never close the client

	builder := gokaredis.RedisBuilder(client, "my-app", gokaredis.WithTimeout(2*time.Second))

	// The processor calls the builder for each partition it gets.
	st, err := builder("my-group-table", 0) // the hash "my-app:my-group-table:0"
	if err != nil {
		// e.g. redis storage: ping 127.0.0.1:6379 (hash "my-app:my-group-table:0"): ... connection refused
		fmt.Println(err)
		return
	}
	defer st.Close() // flushes buffered writes

	if err := st.Set("user-1", []byte("42")); err != nil {
		fmt.Println(err)
		return
	}
	value, err := st.Get("user-1") // sees the buffered write
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", value)
}
