package goka_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/kafkatest"
)

// outageConfig is the test config with a metadata budget of 20 x 50 ms
// instead of DefaultConfig's 240 retries: sarama's coordinator lookups and
// metadata refreshes sleep through their retries without a context, and
// closing a processor during an outage waits for them.
func outageConfig() *sarama.Config {
	cfg := testConfig()
	cfg.Metadata.Retry.Max = 20
	return cfg
}

func outageProcOpts(t *testing.T, extra ...goka.ProcessorOption) []goka.ProcessorOption {
	cfg := outageConfig()
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication, tmc.Logger = 1, 1, testLogger{}
	return procOpts(t, "", append([]goka.ProcessorOption{
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(outageConfig())),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(outageConfig())),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(outageConfig())),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg, tmc)),
	}, extra...)...)
}

func outageViewOpts(t *testing.T, extra ...goka.ViewOption) []goka.ViewOption {
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication, tmc.Logger = 1, 1, testLogger{}
	return viewOpts(t, "", append([]goka.ViewOption{
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(outageConfig())),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(outageConfig(), tmc)),
	}, extra...)...)
}

// outageCluster starts an embedded broker that the test closes itself; the
// cleanup closes it again (Close twice is harmless).
func outageCluster(t *testing.T, opts ...kafkatest.Option) *kafkatest.Cluster {
	t.Helper()
	c, err := kafkatest.New(append([]kafkatest.Option{kafkatest.Partitions(4), kafkatest.Topic("input", 4)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// Item 1.8: with the embedded broker closed, a processor and a view without
// auto-reconnect show the outage at once and, after their (short) outage
// timeout, Run returns an error wrapping ErrBrokerUnreachable that names
// the broker.
func TestBrokerOutageStopsProcessorAndView(t *testing.T) {
	c := outageCluster(t)
	brokers := c.Brokers()
	want := emitCounts(t, brokers, "input", 200, 20)

	p, err := goka.NewProcessor(brokers, countGraph("outage", "input"),
		outageProcOpts(t, goka.WithBrokerOutageTimeout(2*time.Second))...)
	require.NoError(t, err)
	pr := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	waitCounts(t, p.Get, want)

	v, err := goka.NewView(brokers, goka.GroupTable("outage"), new(codec.Int64),
		outageViewOpts(t, goka.WithViewBrokerOutageTimeout(2*time.Second))...)
	require.NoError(t, err)
	vr := run(t, v.Run)
	<-v.WaitRunning()
	require.True(t, p.Recovered())
	require.True(t, p.Stats().Brokers.UnreachableSince.IsZero())

	closed := time.Now()
	c.Close()
	eventually(t, 20*time.Second, func() bool {
		return !p.StateReader().IsState(goka.ProcStateRunning) && !p.Recovered() &&
			!p.Stats().Brokers.UnreachableSince.IsZero() &&
			v.CurrentState() == goka.ViewStateConnecting && !v.Stats(context.Background()).Brokers.UnreachableSince.IsZero()
	}, "outage not shown: processor state %v, recovered %v, view state %v", p.StateReader().State(), p.Recovered(), v.CurrentState())
	t.Logf("outage shown %v after the broker closed", time.Since(closed).Round(time.Millisecond))
	st := p.Stats().Brokers
	require.Equal(t, 1, st.Outages)
	require.NotEmpty(t, st.LastError)

	for name, r := range map[string]*runner{"processor": pr, "view": vr} {
		err := r.wait(t, 60*time.Second)
		t.Logf("%s Run returned %v after the broker closed: %v", name, time.Since(closed).Round(time.Millisecond), err)
		require.ErrorIs(t, err, goka.ErrBrokerUnreachable, name)
		require.Contains(t, err.Error(), brokers[0], name)
	}
}

// With WithViewAutoReconnect the view shows the outage and keeps waiting
// for a broker past any outage timeout; a processor with timeout 0 rides
// out the outage too. Cancelling Run during the outage returns nil; the
// time it takes is logged (goal < 1 s).
func TestBrokerOutageRiddenOutAndCancelled(t *testing.T) {
	c := outageCluster(t)
	brokers := c.Brokers()
	want := emitCounts(t, brokers, "input", 100, 10)

	p, err := goka.NewProcessor(brokers, countGraph("outage-cancel", "input"),
		outageProcOpts(t, goka.WithBrokerOutageTimeout(0))...)
	require.NoError(t, err)
	pr := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	waitCounts(t, p.Get, want)

	v, err := goka.NewView(brokers, goka.GroupTable("outage-cancel"), new(codec.Int64),
		outageViewOpts(t, goka.WithViewAutoReconnect(), goka.WithViewBrokerOutageTimeout(time.Second))...)
	require.NoError(t, err)
	vr := run(t, v.Run)
	<-v.WaitRunning()

	c.Close()
	eventually(t, 20*time.Second, func() bool {
		return !p.Recovered() && v.CurrentState() == goka.ViewStateConnecting
	}, "outage not shown: processor state %v, view state %v", p.StateReader().State(), v.CurrentState())
	// Well past the view's timeout of 1 s: both still run.
	time.Sleep(4 * time.Second)
	select {
	case err := <-pr.errc:
		t.Fatalf("processor stopped during the outage: %v", err)
	case err := <-vr.errc:
		t.Fatalf("view with auto-reconnect stopped during the outage: %v", err)
	default:
	}
	require.Equal(t, goka.ViewStateConnecting, v.CurrentState())

	for name, r := range map[string]*runner{"processor": pr, "view": vr} {
		began := time.Now()
		err := r.stop(t)
		t.Logf("%s: Run returned %v after ctx cancel during the outage: %v", name, time.Since(began).Round(time.Millisecond), err)
		// Closing sarama's clients without brokers may fail; the outage
		// timeout must not have fired.
		require.False(t, errors.Is(err, goka.ErrBrokerUnreachable), "%s: %v", name, err)
	}
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A short outage (the broker stopped and started again on its port and
// data) is ridden out: the processor rejoins, processes what was emitted
// after the outage, and reports one outage in its stats.
func TestBrokerOutageShortRiddenOut(t *testing.T) {
	port, dir := freePort(t), t.TempDir()
	opts := []kafkatest.Option{kafkatest.Port(port), kafkatest.DataDir(dir)}
	c := outageCluster(t, opts...)
	brokers := c.Brokers()
	want := emitCounts(t, brokers, "input", 100, 10)

	p, err := goka.NewProcessor(brokers, countGraph("outage-short", "input"),
		outageProcOpts(t, goka.WithBrokerOutageTimeout(30*time.Second))...)
	require.NoError(t, err)
	pr := run(t, p.Run)
	require.NoError(t, p.WaitForReady())
	waitCounts(t, p.Get, want)

	c.Close()
	// Wait for the broker watch itself: the session may end (and
	// Recovered turn false) before the watch's probe sees the outage.
	eventually(t, 20*time.Second, func() bool {
		return !p.Recovered() && p.Stats().Brokers.Outages == 1
	}, "outage not shown")
	var c2 *kafkatest.Cluster
	eventually(t, 20*time.Second, func() bool {
		c2, err = kafkatest.New(append([]kafkatest.Option{kafkatest.Partitions(4)}, opts...)...)
		return err == nil
	}, "restarting the broker on port %d: %v", port, err)
	t.Cleanup(c2.Close)
	back := time.Now()

	more := emitCounts(t, brokers, "input", 100, 10)
	for k, n := range more {
		want[k] += n
	}
	require.NoError(t, p.WaitForReadyContext(ctxTimeout(t, 60*time.Second)))
	t.Logf("processor ready again %v after the broker came back", time.Since(back).Round(time.Millisecond))
	waitCounts(t, p.Get, want)
	require.Equal(t, 1, p.Stats().Brokers.Outages)
	require.True(t, p.Stats().Brokers.UnreachableSince.IsZero())
	select {
	case err := <-pr.errc:
		t.Fatalf("processor stopped: %v", err)
	default:
	}
	require.NoError(t, pr.stop(t))
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestBrokerOutageTimeoutValidation(t *testing.T) {
	_, err := goka.NewProcessor([]string{"127.0.0.1:1"}, countGraph("bad-outage", "input"), goka.WithBrokerOutageTimeout(-time.Second))
	require.ErrorContains(t, err, "BrokerOutageTimeout")
	_, err = goka.NewView([]string{"127.0.0.1:1"}, "t", new(codec.Int64), goka.WithViewBrokerOutageTimeout(-1))
	require.ErrorContains(t, err, "BrokerOutageTimeout")
	require.False(t, errors.Is(err, goka.ErrBrokerUnreachable))
}

// An emitter with DefaultConfig's producer retries (metadata lookups for
// up to 3 s; Goka's give up after about 1 s) rides out a broker stopped and
// started again on its port a second later: a message emitted during the
// outage is delivered once the broker is back, and none fails.
func TestBrokerOutageEmitterRidesOut(t *testing.T) {
	port, dir := freePort(t), t.TempDir()
	opts := []kafkatest.Option{kafkatest.Port(port), kafkatest.DataDir(dir)}
	c := outageCluster(t, opts...)
	brokers := c.Brokers()
	em, err := goka.NewEmitter(brokers, "input", new(codec.String),
		goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(goka.DefaultConfig())))
	require.NoError(t, err)
	t.Cleanup(func() { _ = em.Finish() })
	require.NoError(t, em.EmitSync("before", "v"))

	c.Close()
	prom, err := em.Emit("during", "v")
	require.NoError(t, err)
	time.Sleep(time.Second)
	var c2 *kafkatest.Cluster
	eventually(t, 20*time.Second, func() bool {
		c2, err = kafkatest.New(append([]kafkatest.Option{kafkatest.Partitions(4)}, opts...)...)
		return err == nil
	}, "restarting the broker on port %d: %v", port, err)
	t.Cleanup(c2.Close)
	back := time.Now()
	delivered := make(chan error, 1)
	prom.Then(func(err error) { delivered <- err })
	select {
	case err := <-delivered:
		require.NoError(t, err)
		t.Logf("message emitted during the outage delivered %v after the broker came back", time.Since(back).Round(time.Millisecond))
	case <-time.After(60 * time.Second):
		t.Fatal("message emitted during the outage not delivered 60 s after the broker came back")
	}
	last, _ := readTopic(t, brokers, "input")
	require.Contains(t, last, "during")
}
