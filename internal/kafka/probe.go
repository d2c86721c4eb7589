package kafka

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"
)

// NoDataBetween reports whether [from, hwm) of the partition holds no data
// record, only transaction markers, aborted or compacted-away records.
// Sarama's consumer silently skips control batches (transaction markers),
// so a recovery waiting for the record at hwm-1 would wait forever when the
// partition ends with a marker (Goka's trap 7); this check ends it.
//
// A broker Fetch takes no context: cancelling ctx returns at once, and the
// fetch, left to a goroutine that Close waits for, ends by its 100 ms
// MaxWaitTime or the sarama config's Net timeouts.
func (tm *TopicManager) NoDataBetween(ctx context.Context, topic string, partition int32, from, hwm int64) (bool, error) {
	return await(ctx, tm, func() (bool, error) {
		return tm.noDataBetween(topic, partition, from, hwm)
	})
}

func (tm *TopicManager) noDataBetween(topic string, partition int32, from, hwm int64) (bool, error) {
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
