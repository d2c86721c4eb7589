package main

import (
	"testing"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/kafkatest"
)

// TestSumEndOffsets: one request per leader sums the end offsets of every
// partition, empty ones included.
func TestSumEndOffsets(t *testing.T) {
	cluster, err := kafkatest.New(kafkatest.Topic("ends", 4))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cfg := config()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	prod, err := sarama.NewSyncProducer(cluster.Brokers(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = prod.Close() }()
	perPartition := map[int32]int{0: 3, 1: 0, 2: 7, 3: 1}
	want := int64(0)
	for part, n := range perPartition {
		for range n {
			if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "ends", Partition: part, Value: sarama.StringEncoder("v")}); err != nil {
				t.Fatal(err)
			}
		}
		want += int64(n)
	}
	client, err := sarama.NewClient(cluster.Brokers(), config())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	parts, err := client.Partitions("ends")
	if err != nil {
		t.Fatal(err)
	}
	got, err := sumEndOffsets(client, "ends", parts)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("sumEndOffsets = %d, want %d", got, want)
	}
}
