package goka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
)

// Recovery must end when the last offsets of a table partition are
// transaction markers, which consumers never see (Goka's recovery waits
// for a record at hwm-1 forever).
func TestRecoveryEndsOnTransactionMarkers(t *testing.T) {
	brokers := cluster(t, map[string]int{"txn-table": 1})
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID("writer"),
		kgo.DefaultProduceTopic("txn-table"))
	require.NoError(t, err)
	defer cl.Close()
	ctx := context.Background()
	for batch := 0; batch < 3; batch++ {
		require.NoError(t, cl.BeginTransaction())
		for i := 0; i < 5; i++ {
			k := fmt.Sprintf("k%d", batch*5+i)
			require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Key: []byte(k), Value: []byte(k)}).FirstErr())
		}
		require.NoError(t, cl.EndTransaction(ctx, kgo.TryCommit))
	}

	v, err := goka.NewView(brokers, "txn-table", new(codec.String), viewOpts(t, "")...)
	require.NoError(t, err)
	r := run(t, v.Run)
	select {
	case <-v.WaitRunning():
	case <-time.After(30 * time.Second):
		t.Fatal("recovery did not end: the partition ends with a transaction marker")
	}
	val, err := v.Get("k14")
	require.NoError(t, err)
	require.Equal(t, "k14", val)
	require.NoError(t, r.stop(t))
}
