package monitor

import (
	"cmp"
	"slices"
	"time"

	"github.com/e3793d55/goka"
)

// tableRow is one table partition on a detail page.
type tableRow struct {
	Partition int32
	Topic     string
	State     string
	Offset    int64
	Hwm       int64
	Lag       int64
	Count     uint
	Bytes     int
	OffsetLag int64
	Writes    uint
}

// inputRow is one input topic of a partition.
type inputRow struct {
	Partition  int32
	Topic      string
	Count      uint
	Bytes      int
	LastOffset int64
	OffsetLag  int64
	Delay      time.Duration
}

// outputRow is one output topic of a partition.
type outputRow struct {
	Partition int32
	Topic     string
	Count     uint
	Bytes     int
}

var stateNames = map[goka.PartitionStatus]string{
	goka.PartitionStopped:      "stopped",
	goka.PartitionInitializing: "initializing",
	goka.PartitionConnecting:   "connecting",
	goka.PartitionRecovering:   "recovering",
	goka.PartitionPreparing:    "preparing",
	goka.PartitionRunning:      "running",
}

func stateName(ts *goka.TableStats) string {
	name, ok := stateNames[ts.Status]
	if !ok {
		name = "unknown"
	}
	if ts.Stalled {
		name += " (stalled)"
	}
	return name
}

func newTableRow(partition int32, topic string, ts *goka.TableStats) tableRow {
	row := tableRow{Partition: partition, Topic: topic}
	if ts == nil {
		row.State = "unknown"
		return row
	}
	row.State = stateName(ts)
	if rec := ts.Recovery; rec != nil {
		row.Offset, row.Hwm = rec.Offset, rec.Hwm
		row.Lag = max(rec.Hwm-rec.Offset, 0)
	}
	if in := ts.Input; in != nil {
		row.Count, row.Bytes, row.OffsetLag = in.Count, in.Bytes, in.OffsetLag
	}
	if ts.Writes != nil {
		row.Writes = ts.Writes.Count
	}
	return row
}

// processorRows flattens a processor's statistics into sorted rows: its
// group table and joined tables, its inputs and its outputs per partition.
func processorRows(stats *goka.ProcessorStats, groupTable string) (tables []tableRow, inputs []inputRow, outputs []outputRow) {
	if stats == nil {
		return nil, nil, nil
	}
	for _, part := range sortedKeys(stats.Group) {
		ps := stats.Group[part]
		if ps == nil {
			continue
		}
		if ps.TableStats != nil {
			tables = append(tables, newTableRow(part, groupTable, ps.TableStats))
		}
		for _, topic := range sortedKeys(ps.Joined) {
			tables = append(tables, newTableRow(part, topic, ps.Joined[topic]))
		}
		for _, topic := range sortedKeys(ps.Input) {
			if in := ps.Input[topic]; in != nil {
				inputs = append(inputs, inputRow{part, topic, in.Count, in.Bytes, in.LastOffset, in.OffsetLag, in.Delay})
			}
		}
		for _, topic := range sortedKeys(ps.Output) {
			if out := ps.Output[topic]; out != nil {
				outputs = append(outputs, outputRow{part, topic, out.Count, out.Bytes})
			}
		}
	}
	return tables, inputs, outputs
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
