package goka_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/storage"
)

// TestGetWhilePartitionsOpen calls Processor.Get while Run prepares the
// topics and the partitions' storages are being built and opened. Under
// -race it caught the partition count and the opened storage being set
// without the locks Get takes.
func TestGetWhilePartitionsOpen(t *testing.T) {
	brokers := cluster(t, map[string]int{"get-open-input": 4})
	slow := func(topic string, partition int32) (storage.Storage, error) {
		time.Sleep(20 * time.Millisecond)
		return storage.NewMemory(), nil
	}
	p, err := goka.NewProcessor(brokers, countGraph("get-open", "get-open-input"),
		append(procOpts(t, ""), goka.WithStorageBuilder(slow))...)
	require.NoError(t, err)
	r := run(t, p.Run)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- p.WaitForReadyContext(ctx) }()
	for {
		for _, key := range []string{"a", "b", "c", "d", "e", "f"} {
			_, _ = p.Get(key) // errors until the partition is open
		}
		select {
		case err := <-ready:
			require.NoError(t, err)
			v, err := p.Get("a")
			require.NoError(t, err)
			require.Nil(t, v)
			require.NoError(t, r.stop(t))
			return
		default:
		}
	}
}
