package kafkatest_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/kafkatest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Net.DialTimeout = 2 * time.Second
	return cfg
}

func TestNewValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []kafkatest.Option
		want string
	}{
		{"no brokers", []kafkatest.Option{kafkatest.NumBrokers(0)}, "NumBrokers must be >= 1, got 0"},
		{"no partitions", []kafkatest.Option{kafkatest.Partitions(0)}, "Partitions must be >= 1, got 0"},
		{"port", []kafkatest.Option{kafkatest.Port(65535), kafkatest.NumBrokers(2)}, "Port 65535 out of range for 2 brokers"},
		{"empty topic", []kafkatest.Option{kafkatest.Topic("", 1)}, "Topic with empty name"},
		{"topic partitions", []kafkatest.Option{kafkatest.Topic("t", 0)}, `Topic "t": partitions must be >= 1, got 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kafkatest.New(tc.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), "kafkatest: "+tc.want)
		})
	}
}

// TestTopicsAndBrokers checks the broker count, seeded topics and the
// default partition count of automatically created topics through a plain
// Kafka client.
func TestTopicsAndBrokers(t *testing.T) {
	c, err := kafkatest.New(kafkatest.NumBrokers(3), kafkatest.Partitions(4), kafkatest.Topic("seeded", 7))
	require.NoError(t, err)
	defer c.Close()
	require.Len(t, c.Brokers(), 3)
	for _, b := range c.Brokers() {
		host, _, err := net.SplitHostPort(b)
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", host)
	}
	assert.NotNil(t, c.Fake())

	client, err := sarama.NewClient(c.Brokers(), saramaConfig())
	require.NoError(t, err)
	defer client.Close()
	assert.Len(t, client.Brokers(), 3)
	parts, err := client.Partitions("seeded")
	require.NoError(t, err)
	assert.Len(t, parts, 7)

	admin, err := sarama.NewClusterAdminFromClient(client)
	require.NoError(t, err)
	require.NoError(t, admin.CreateTopic("created", &sarama.TopicDetail{NumPartitions: -1, ReplicationFactor: -1}, false))
	require.NoError(t, client.RefreshMetadata("created"))
	parts, err = client.Partitions("created")
	require.NoError(t, err)
	assert.Len(t, parts, 4, "a topic created without a partition count gets Partitions")
}

func TestAutoCreateTopics(t *testing.T) {
	produce := func(brokers []string) error {
		cfg := saramaConfig()
		cfg.Metadata.Retry.Max = 1
		cfg.Metadata.Retry.Backoff = 10 * time.Millisecond
		p, err := sarama.NewSyncProducer(brokers, cfg)
		require.NoError(t, err)
		defer p.Close()
		_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: "auto", Value: sarama.StringEncoder("v")})
		return err
	}
	brokers, stop, err := kafkatest.Start()
	require.NoError(t, err)
	defer stop()
	require.Error(t, produce(brokers), "without AutoCreateTopics a missing topic is an error")

	brokers, stop2, err := kafkatest.Start(kafkatest.AutoCreateTopics(), kafkatest.Partitions(2))
	require.NoError(t, err)
	defer stop2()
	require.NoError(t, produce(brokers))
	client, err := sarama.NewClient(brokers, saramaConfig())
	require.NoError(t, err)
	defer client.Close()
	parts, err := client.Partitions("auto")
	require.NoError(t, err)
	assert.Len(t, parts, 2)
}

// TestPort starts the broker on a chosen port.
func TestPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	brokers, stop, err := kafkatest.Start(kafkatest.Port(port))
	require.NoError(t, err)
	defer stop()
	assert.Equal(t, []string{fmt.Sprintf("127.0.0.1:%d", port)}, brokers)

	_, err = kafkatest.New(kafkatest.Port(port))
	require.Error(t, err, "the port is taken")
	assert.Contains(t, err.Error(), "kafkatest: starting broker")
}

// TestDataDir checks that a cluster started on the data directory of a
// stopped one finds its topics and records.
func TestDataDir(t *testing.T) {
	dir := t.TempDir()
	c, err := kafkatest.New(kafkatest.DataDir(dir), kafkatest.Topic("kept", 2))
	require.NoError(t, err)
	producer, err := sarama.NewSyncProducer(c.Brokers(), saramaConfig())
	require.NoError(t, err)
	part, off, err := producer.SendMessage(&sarama.ProducerMessage{
		Topic: "kept", Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder("v"),
	})
	require.NoError(t, err)
	require.NoError(t, producer.Close())
	c.Close()

	c, err = kafkatest.New(kafkatest.DataDir(dir))
	require.NoError(t, err)
	defer c.Close()
	consumer, err := sarama.NewConsumer(c.Brokers(), saramaConfig())
	require.NoError(t, err)
	defer consumer.Close()
	pc, err := consumer.ConsumePartition("kept", part, off)
	require.NoError(t, err)
	defer pc.Close()
	select {
	case msg := <-pc.Messages():
		assert.Equal(t, "k", string(msg.Key))
		assert.Equal(t, "v", string(msg.Value))
	case <-time.After(20 * time.Second):
		t.Fatal("the record written before the restart was not found")
	}
}
