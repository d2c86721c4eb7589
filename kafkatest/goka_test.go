package kafkatest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
	"github.com/e3793d55/goka/storage"
)

// With GokaOptions alone, a processor reads what was emitted before it
// joined, creates its table with replication 1 on one broker (Goka's 2
// fails there), and a view
// reads the table back; goka's production defaults stay as they are.
func TestGokaOptions(t *testing.T) {
	cluster, err := kafkatest.New(kafkatest.Topic("gokaopts-clicks", 2))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	brokers := cluster.Brokers()
	opts := cluster.GokaOptions()

	// Emitted before any processor exists.
	em, err := goka.NewEmitter(brokers, "gokaopts-clicks", new(codec.String), opts.Emitter...)
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, em.EmitSync(fmt.Sprintf("user-%d", i%2), "click"))
	}
	require.NoError(t, em.Finish())

	g := goka.DefineGroup("gokaopts",
		goka.Input("gokaopts-clicks", new(codec.String), func(ctx goka.Context, _ any) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(brokers, g, append(opts.Processor, goka.WithStorageBuilder(storage.MemoryBuilder()))...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	procDone := make(chan error, 1)
	go func() { procDone <- proc.Run(ctx) }()
	require.NoError(t, proc.WaitForReadyContext(ctx))

	view, err := goka.NewView(brokers, goka.GroupTable("gokaopts"), new(codec.Int64), append(opts.View, goka.WithViewStorageBuilder(storage.MemoryBuilder()))...)
	require.NoError(t, err)
	viewDone := make(chan error, 1)
	go func() { viewDone <- view.Run(ctx) }()
	require.Eventually(t, func() bool {
		a, _ := view.Get("user-0")
		b, _ := view.Get("user-1")
		return a == int64(5) && b == int64(5)
	}, 30*time.Second, 20*time.Millisecond, "the view sees every count")
	cancel()
	assert.NoError(t, <-procDone)
	assert.NoError(t, <-viewDone)

	assert.Equal(t, sarama.OffsetOldest, opts.Config.Consumer.Offsets.Initial)
	assert.Equal(t, 1, opts.TopicManagerConfig.Table.Replication)
	assert.Equal(t, 1, opts.TopicManagerConfig.Stream.Replication)
	// Production defaults untouched.
	assert.Equal(t, sarama.OffsetNewest, goka.DefaultConfig().Consumer.Offsets.Initial)
	assert.Equal(t, 2, goka.NewTopicManagerConfig().Table.Replication)
	assert.Equal(t, 2, goka.NewTopicManagerConfig().Stream.Replication)
	// Each call has its own Config.
	assert.NotSame(t, opts.Config, cluster.GokaOptions().Config)
}
