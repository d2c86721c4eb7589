package goka

import (
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// recoveryProbeAfter is how long recovery waits without a record, while
// still below the high-water mark, before it checks whether anything is
// left to read.
const recoveryProbeAfter = time.Second

// endProber is implemented by topic managers that can look at the raw
// record batches of a partition.
type endProber interface {
	// noDataBetween reports whether [from, hwm) of the partition holds no
	// data record, only transaction markers, aborted or compacted-away
	// records.
	noDataBetween(topic string, partition int32, from, hwm int64) (bool, error)
}

// noDataBetween fetches the batches from offset from on and checks them.
// Sarama's consumer silently skips control batches (transaction markers),
// so a recovery waiting for the record at hwm-1 would wait forever when
// the partition ends with a marker (Goka's trap 7); this check ends it.
func (tm *topicManager) noDataBetween(topic string, partition int32, from, hwm int64) (bool, error) {
	broker, err := tm.client.Leader(topic, partition)
	if err != nil {
		return false, fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
	}
	const maxBytes = 1 << 20
	req := &sarama.FetchRequest{
		Version:     4,
		MaxWaitTime: 100,
		MinBytes:    1,
		MaxBytes:    maxBytes,
		Isolation:   sarama.ReadUncommitted,
	}
	req.AddBlock(topic, partition, from, maxBytes, -1)
	resp, err := broker.Fetch(req)
	if err != nil {
		return false, fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, from, err)
	}
	block := resp.GetBlock(topic, partition)
	if block == nil {
		return false, fmt.Errorf("fetching %s/%d at %d: no block in response", topic, partition, from)
	}
	if block.Err != sarama.ErrNoError {
		return false, fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, from, block.Err)
	}
	last := from - 1
	for _, records := range block.RecordsSet {
		batch := records.RecordBatch
		if batch == nil {
			// Legacy message sets carry no markers: a message is data.
			if records.MsgSet != nil && len(records.MsgSet.Messages) > 0 {
				return false, nil
			}
			continue
		}
		if !batch.Control {
			for _, r := range batch.Records {
				if batch.FirstOffset+r.OffsetDelta >= from {
					return false, nil
				}
			}
		}
		last = batch.LastOffset()
	}
	// Everything up to the high-water mark was markers or empty batches;
	// a response without batches at all means nothing is left either.
	return last >= hwm-1 || len(block.RecordsSet) == 0, nil
}
