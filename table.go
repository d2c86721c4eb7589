package goka

import (
	"context"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/table"
	"github.com/e3793d55/goka/storage"
)

// partitionTable is one partition of a table topic kept in local storage:
// a processor's group table, joined table or hot-standby table, or a
// partition of a view.
type partitionTable = table.Table

// drainBatch bounds the messages a partition processor takes from its
// input channel between two looks at its other channels.
const drainBatch = 256

// tableConfig is the configuration of a table partition whose records are
// applied with update and whose offsets are read from tmgr.
func tableConfig(topic string, partition int32, builder storage.Builder, consumer sarama.Consumer,
	tmgr TopicManager, update UpdateCallback, log Logger, mode PPRunMode) table.Config {
	return table.Config{
		Topic:     topic,
		Partition: partition,
		Builder:   builder,
		Consumer:  consumer,
		Offsets:   tableOffsets{tmgr},
		Apply:     applyUpdate(topic, partition, update),
		Log:       log,
		Mode:      int(mode),
	}
}

// applyUpdate adapts an UpdateCallback to the table's ApplyFunc. The
// returned function reuses one DefaultUpdateContext, so it must be called
// from one goroutine at a time (the table's Run).
func applyUpdate(topic string, partition int32, update UpdateCallback) table.ApplyFunc {
	ucx := DefaultUpdateContext{topic: Stream(topic), partition: partition}
	return func(msg *sarama.ConsumerMessage, st storage.Storage) error {
		ucx.offset, ucx.timestamp = msg.Offset, msg.Timestamp
		ucx.headers = nil
		if len(msg.Headers) > 0 {
			ucx.headers = HeadersFromSarama(msg.Headers)
		}
		return update(ucx, st, string(msg.Key), msg.Value)
	}
}

// tableOffsets reads a table's offsets through a TopicManager, with a
// context where the topic manager takes one.
type tableOffsets struct{ tm TopicManager }

var (
	_ table.Offsets   = tableOffsets{}
	_ table.EndProber = tableOffsets{}
)

// GetOffset uses the topic manager's GetOffsetContext if it has one and
// Goka's GetOffset otherwise.
func (o tableOffsets) GetOffset(ctx context.Context, topic string, partition int32, at int64) (int64, error) {
	return getOffset(ctx, o.tm, topic, partition, at)
}

// NoDataBetween asks the topic manager whether [from, hwm) holds no data
// record; a topic manager that cannot tell answers false.
func (o tableOffsets) NoDataBetween(ctx context.Context, topic string, partition int32, from, hwm int64) (bool, error) {
	if p, ok := o.tm.(endProber); ok {
		return p.NoDataBetween(ctx, topic, partition, from, hwm)
	}
	return false, nil
}
