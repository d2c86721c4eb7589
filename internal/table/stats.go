package table

import (
	"sync"
	"time"
)

// Status is the state of a table partition. Its values equal the root
// package's PartitionStatus constants, which convert to and from it.
type Status int

// States of a table partition, in the order a partition goes through them.
const (
	StatusStopped Status = iota
	StatusInitializing
	StatusConnecting
	StatusRecovering
	StatusPreparing
	StatusRunning
)

// stalledAfter is how long a running table may go without a write before
// its snapshot calls it stalled, as in Goka.
const stalledAfter = 2 * time.Minute

// Snapshot is a copy of a table's statistics.
type Snapshot struct {
	Status Status
	// Mode is Config.Mode.
	Mode int
	// Stalled is true for a running table without a write for two minutes.
	Stalled bool

	// RecoveryStart is when the last Run began recovering, RecoveryEnd when
	// the table was recovered (zero until then).
	RecoveryStart, RecoveryEnd time.Time
	// Offset is the offset of the last applied record (the local offset
	// before the first), Hwm the high-water mark recovery runs to and,
	// once a followed table is recovered, the last one its consumer saw.
	Offset, Hwm int64
	// RecoveryFrom is the local offset when the last Run began (Offset's
	// first value), so that Offset-RecoveryFrom records are done.
	RecoveryFrom int64

	// InputCount and InputBytes count the records applied and the bytes of
	// their values; InputLastOffset is the offset of the last one.
	InputCount      uint
	InputBytes      int
	InputLastOffset int64

	// WritesCount counts the records whose offsets StoreOffset and
	// StoreOffsets stored.
	WritesCount uint

	// Rebuilds counts how often Open found the storage damaged, discarded
	// it and started empty.
	Rebuilds int
}

// statsCollector collects a table's statistics.
type statsCollector struct {
	mu        sync.Mutex
	s         Snapshot // Stalled is computed by snapshot
	mode      int
	lastWrite time.Time
	// stored is the highest offset StoreOffset stored, if hasStored: a
	// processor's own writes move its table's end past Hwm.
	stored    int64
	hasStored bool
}

func (c *statsCollector) setStatus(s Status) {
	c.mu.Lock()
	c.s.Status = s
	c.mu.Unlock()
}

// countRebuild counts a damaged storage that was discarded.
func (c *statsCollector) countRebuild() {
	c.mu.Lock()
	c.s.Rebuilds++
	c.mu.Unlock()
}

// startRecovery records the start of a run.
func (c *statsCollector) startRecovery(now time.Time, local, hwm int64) {
	c.mu.Lock()
	c.s.RecoveryStart, c.s.RecoveryEnd = now, time.Time{}
	c.s.Offset, c.s.Hwm, c.s.RecoveryFrom = local, hwm, local
	c.mu.Unlock()
}

// raiseHwm records a higher high-water mark of a followed table.
func (c *statsCollector) raiseHwm(hwm int64) {
	c.mu.Lock()
	c.s.Hwm = max(c.s.Hwm, hwm)
	c.mu.Unlock()
}

func (c *statsCollector) recoveredAt(now time.Time) {
	c.mu.Lock()
	c.s.RecoveryEnd = now
	c.s.Status = StatusRunning
	c.mu.Unlock()
}

func (c *statsCollector) offset() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.Offset
}

// countApplied counts one applied record.
func (c *statsCollector) countApplied(offset int64, size int) {
	now := time.Now()
	c.mu.Lock()
	c.s.Offset = offset
	c.s.InputCount++
	c.s.InputBytes += size
	c.s.InputLastOffset = offset
	c.lastWrite = now
	c.mu.Unlock()
}

// countWrites counts writes records, the last at offset, whose offset
// StoreOffsets stored.
func (c *statsCollector) countWrites(offset int64, writes uint) {
	now := time.Now()
	c.mu.Lock()
	c.s.WritesCount += writes
	c.lastWrite = now
	if !c.hasStored || offset > c.stored {
		c.stored, c.hasStored = offset, true
	}
	c.mu.Unlock()
}

// end is Table.End.
func (c *statsCollector) end() (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.RecoveryStart.IsZero() {
		return 0, false
	}
	end := max(c.s.Hwm, c.s.Offset+1)
	if c.hasStored {
		end = max(end, c.stored+1)
	}
	return end, true
}

func (c *statsCollector) snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.s
	s.Mode = c.mode
	s.Stalled = s.Status == StatusRunning && !c.lastWrite.IsZero() && time.Since(c.lastWrite) > stalledAfter
	return s
}
