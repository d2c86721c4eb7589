package kafka

import (
	"testing"

	"github.com/IBM/sarama"
)

func TestOnlyMarkersOrAborted(t *testing.T) {
	data := func(first int64, n int, pid int64, txn bool) *sarama.Records {
		b := &sarama.RecordBatch{FirstOffset: first, LastOffsetDelta: int32(n - 1), ProducerID: pid, IsTransactional: txn}
		for i := range n {
			b.Records = append(b.Records, &sarama.Record{OffsetDelta: int64(i)})
		}
		return &sarama.Records{RecordBatch: b}
	}
	marker := func(off, pid int64) *sarama.Records {
		return &sarama.Records{RecordBatch: &sarama.RecordBatch{FirstOffset: off, Control: true, ProducerID: pid, IsTransactional: true,
			Records: []*sarama.Record{{}}}}
	}
	tests := []struct {
		name      string
		from, hwm int64
		lso       int64
		aborted   []*sarama.AbortedTransaction
		records   []*sarama.Records
		want      bool
	}{
		{"empty response", 5, 6, -1, nil, nil, true},
		{"commit marker only", 5, 6, 6, nil, []*sarama.Records{marker(5, 1)}, true},
		{"committed data", 4, 6, 6, nil, []*sarama.Records{data(4, 1, 1, true), marker(5, 1)}, false},
		{"aborted data and its marker", 3, 6, 6, []*sarama.AbortedTransaction{{ProducerID: 1, FirstOffset: 3}},
			[]*sarama.Records{data(3, 2, 1, true), marker(5, 1)}, true},
		{"aborted then committed by another producer", 3, 8, 8, []*sarama.AbortedTransaction{{ProducerID: 1, FirstOffset: 3}},
			[]*sarama.Records{data(3, 2, 1, true), marker(5, 1), data(6, 1, 2, true), marker(7, 2)}, false},
		{"same producer: aborted, then committed", 3, 8, 8, []*sarama.AbortedTransaction{{ProducerID: 1, FirstOffset: 3}},
			[]*sarama.Records{data(3, 2, 1, true), marker(5, 1), data(6, 1, 1, true), marker(7, 1)}, false},
		{"data before from", 5, 6, 6, nil, []*sarama.Records{data(4, 1, 1, false), marker(5, 1)}, true},
		{"open transaction past the stable offset", 5, 8, 5, nil, nil, false},
		{"response ends before hwm", 5, 9, 9, nil, []*sarama.Records{marker(5, 1)}, false},
		{"non-transactional data", 5, 6, 6, nil, []*sarama.Records{data(5, 1, -1, false)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			block := &sarama.FetchResponseBlock{LastStableOffset: tt.lso, AbortedTransactions: tt.aborted, RecordsSet: tt.records}
			if got := onlyMarkersOrAborted(block, tt.from, tt.hwm); got != tt.want {
				t.Fatalf("onlyMarkersOrAborted = %v, want %v", got, tt.want)
			}
		})
	}
}
