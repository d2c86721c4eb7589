package goka_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
)

// cancelGuard bounds the wait for Run after cancelling its ctx. It is a
// hang guard, not a speed assertion: the latencies are logged.
const cancelGuard = 5 * time.Second

// failTableOffsets makes every ListOffsets request for topic fail with
// NotLeaderForPartition, a transient error that the topic manager retries,
// and counts them. Requests for other topics pass.
func failTableOffsets(fake *kfake.Cluster, topic string, count *atomic.Int32) {
	fake.ControlKey(int16(kmsg.ListOffsets), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		req := kreq.(*kmsg.ListOffsetsRequest)
		for _, rt := range req.Topics {
			if rt.Topic != topic {
				return nil, nil, false
			}
		}
		count.Add(1)
		resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewListOffsetsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewListOffsetsResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
}

// cancelAndMeasure cancels r's ctx and returns how long Run took to
// return, failing after cancelGuard.
func cancelAndMeasure(t *testing.T, r *runner, guard time.Duration) (time.Duration, error) {
	t.Helper()
	began := time.Now()
	r.cancel()
	select {
	case err := <-r.errc:
		r.errc <- err // for the cleanup
		return time.Since(began), err
	case <-time.After(guard):
		t.Fatalf("Run did not return within %v of the cancel", guard)
		return 0, nil
	}
}

// A partition setting up its table while the broker answers the table's
// ListOffsets with NotLeaderForPartition: the topic manager retries. On the
// old code the retry slept without a context for up to 10 s, so Run
// returned only after the retry deadline (and then with the partition's
// error); now the retry ends with the session's ctx.
func TestRunCancelDuringOffsetRetry(t *testing.T) {
	c, err := kafkatest.New(kafkatest.Topic("cl-in", 2), kafkatest.Topic("cl-table", 2))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	var requests atomic.Int32
	failTableOffsets(c.Fake(), "cl-table", &requests)

	g := goka.DefineGroup("cl",
		goka.Input("cl-in", new(codec.String), func(ctx goka.Context, msg any) { ctx.SetValue(msg) }),
		goka.Persist(new(codec.String)))
	p, err := goka.NewProcessor(c.Brokers(), g, procOpts(t, "")...)
	require.NoError(t, err)
	r := run(t, p.Run)
	// Several failed requests: the retry loop is running.
	eventually(t, 30*time.Second, func() bool { return requests.Load() >= 4 }, "the table's offsets are being retried")
	require.False(t, p.Recovered())

	latency, err := cancelAndMeasure(t, r, cancelGuard)
	require.NoError(t, err)
	t.Logf("Run returned %v after the cancel, during the offset retry (%d failed ListOffsets)", latency, requests.Load())
}

// Run's return after a cancel while the only broker is gone. Logged for
// the report; the guard is generous, as the part of the stop that
// waits for sarama's consumer group and producer is not the topic
// manager's.
func TestRunCancelDuringBrokerOutage(t *testing.T) {
	c, err := kafkatest.New(kafkatest.Topic("co-in", 2))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	g := goka.DefineGroup("co",
		goka.Input("co-in", new(codec.String), func(ctx goka.Context, msg any) { ctx.SetValue(msg) }),
		goka.Persist(new(codec.String)))
	p, err := goka.NewProcessor(c.Brokers(), g, procOpts(t, "")...)
	require.NoError(t, err)
	r := run(t, p.Run)
	require.NoError(t, p.WaitForReady())

	c.Close()
	time.Sleep(2 * time.Second)
	latency, err := cancelAndMeasure(t, r, 30*time.Second)
	t.Logf("Run returned %v after the cancel, 2 s into a broker outage (err: %v)", latency, err)
}
