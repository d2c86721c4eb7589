package goka_test

import (
	"strconv"
	"testing"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka"
)

// BenchmarkPartitioner measures Goka's partition choice (FNV-1a through
// sarama's hash partitioner), which every emitted and table message pays.
func BenchmarkPartitioner(b *testing.B) {
	part := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("t")
	msgs := make([]*sarama.ProducerMessage, 1024)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Key: sarama.StringEncoder("key-" + strconv.Itoa(i))}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := part.Partition(msgs[i%len(msgs)], 10); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPromise measures a promise's life: creation, one callback and
// completion, paid once per emitted message.
func BenchmarkPromise(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, finish := goka.NewPromiseWithFinisher()
		p.Then(func(error) {})
		finish(nil, nil)
	}
}
