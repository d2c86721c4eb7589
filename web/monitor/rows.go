package monitor

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/e3793d55/goka"
)

// tableRow is one table partition on a detail page.
type tableRow struct {
	Partition int32
	Topic     string
	State     string
	// Mode is "active", "standby" (hot standby) or "recover-ahead".
	Mode string
	// Offset is the last recovered offset, "none" while nothing is stored
	// (Goka's stats carry the sentinel -3 then).
	Offset string
	Hwm    int64
	// Lag is the records recovery has still to apply (RecoveryStats.Remaining).
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

var modeNames = map[goka.PPRunMode]string{0: "active", 1: "standby", 2: "recover-ahead"}

func modeName(m goka.PPRunMode) string {
	if name, ok := modeNames[m]; ok {
		return name
	}
	return "unknown"
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
	row := tableRow{Partition: partition, Topic: topic, Offset: "none"}
	if ts == nil {
		row.State, row.Mode = "unknown", "unknown"
		return row
	}
	row.State, row.Mode = stateName(ts), modeName(ts.RunMode)
	if rec := ts.Recovery; rec != nil {
		if rec.Offset >= 0 {
			row.Offset = strconv.FormatInt(rec.Offset, 10)
		}
		row.Hwm, row.Lag = rec.Hwm, rec.Remaining()
	}
	if in := ts.Input; in != nil {
		row.Count, row.Bytes, row.OffsetLag = in.Count, in.Bytes, in.OffsetLag
	}
	if ts.Writes != nil {
		row.Writes = ts.Writes.Count
	}
	return row
}

// lookupRows flattens the statistics of a processor's lookup tables into
// rows sorted by table and partition.
func lookupRows(stats *goka.ProcessorStats) (rows []tableRow) {
	if stats == nil {
		return nil
	}
	for _, topic := range sortedKeys(stats.Lookup) {
		if vs := stats.Lookup[topic]; vs != nil {
			for _, part := range sortedKeys(vs.Partitions) {
				rows = append(rows, newTableRow(part, topic, vs.Partitions[part]))
			}
		}
	}
	return rows
}

// processorRows flattens a processor's statistics into sorted rows: its
// group table and joined tables (active and standby partitions), its inputs
// and its outputs per partition.
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
