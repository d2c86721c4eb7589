package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// devbroker runs the command with args until the returned stop is called
// and returns the addresses it printed.
func devbroker(t *testing.T, args ...string) (brokers []string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw)
		_ = pw.CloseWithError(io.EOF)
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	require.True(t, lines.Scan(), "devbroker printed nothing: %v", lines.Err())
	first := lines.Text()
	require.True(t, strings.HasPrefix(first, "KAFKA_BROKERS="), "first line %q", first)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("devbroker did not stop 30 s after cancel")
		}
	}
	t.Cleanup(stop)
	return strings.Split(strings.TrimPrefix(first, "KAFKA_BROKERS="), ","), stop
}

func config() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Producer.Return.Successes = true
	cfg.Net.DialTimeout = 2 * time.Second
	return cfg
}

// TestPersistence starts two brokers with 3 partitions per topic, writes a
// record, restarts on the same data directory and finds the record.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	brokers, stop := devbroker(t, "-port", "0", "-brokers", "2", "-partitions", "3", "-data", dir)
	require.Len(t, brokers, 2)

	producer, err := sarama.NewSyncProducer(brokers, config())
	require.NoError(t, err)
	part, off, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "t", Value: sarama.StringEncoder("kept")})
	require.NoError(t, err)
	require.NoError(t, producer.Close())
	stop()

	brokers, _ = devbroker(t, "-port", "0", "-data", dir)
	client, err := sarama.NewClient(brokers, config())
	require.NoError(t, err)
	defer client.Close()
	parts, err := client.Partitions("t")
	require.NoError(t, err)
	assert.Len(t, parts, 3, "the automatically created topic got -partitions partitions")
	hwm, err := client.GetOffset("t", part, sarama.OffsetNewest)
	require.NoError(t, err)
	assert.Equal(t, off+1, hwm, "the record survived the restart")
}

func TestBadFlags(t *testing.T) {
	err := run(context.Background(), []string{"-brokers", "0", "-port", "0"}, io.Discard)
	require.ErrorContains(t, err, "NumBrokers must be >= 1")
	err = run(context.Background(), []string{"extra"}, io.Discard)
	require.ErrorContains(t, err, `unexpected arguments ["extra"]`)
}
