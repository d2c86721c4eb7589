package storage

import (
	"fmt"

	"github.com/syndtr/goleveldb/leveldb/opt"
)

// MinPartitionBudget is the least memory [WithMemoryBudget] gives one
// partition: 256 KiB.
const MinPartitionBudget = 256 << 10

// WithMemoryBudget bounds the memory that the LevelDB storages of one
// builder use for buffering, in total, when up to partitions of them are
// open at once (default: no budget; each partition then has goleveldb's
// 4 MiB write buffer, which goleveldb allocates when it opens the
// database, an 8 MiB block cache and the 1 MiB [WithFlushSize] buffer, so
// memory grows with the partition count: 200 partitions allocate 800 MiB
// of write buffers alone).
//
// Each partition gets bytes/partitions (at least [MinPartitionBudget]):
// half for LevelDB's write buffer, a quarter for its block cache and a
// quarter for the pending writes of [WithFlushSize] (the smaller of that
// and the flush size set). Options set with [WithDBOptions] for the write
// buffer or the block cache take precedence. Smaller buffers mean more,
// smaller LevelDB writes and compactions: CPU for memory.
//
// The Kafka client's fetch responses are the other large cost. goka's
// DefaultConfig bounds them over all partitions of a broker
// (Consumer.Fetch.MaxBytes, 1 MiB per response, and Consumer.Fetch.Default,
// 256 KiB per partition), so they do not grow with the partition count;
// ChannelBufferSize (256 messages per partition) does. The README's
// Benchmarks section has figures for 100 partitions.
func WithMemoryBudget(bytes int64, partitions int) LevelDBOption {
	return func(c *levelDBConfig) { c.budget, c.budgetPartitions = bytes, partitions }
}

func (c levelDBConfig) validateBudget() error {
	if c.budget == 0 && c.budgetPartitions == 0 {
		return nil
	}
	if c.budget <= 0 || c.budgetPartitions <= 0 {
		return fmt.Errorf("storage: WithMemoryBudget needs positive bytes and partitions, got %d and %d", c.budget, c.budgetPartitions)
	}
	return nil
}

// budgeted returns the configuration and the LevelDB options of one
// partition under the budget.
func (c levelDBConfig) budgeted() (levelDBConfig, *opt.Options) {
	o := dbOptions(c.dbOptions)
	if c.budget <= 0 {
		return c, o
	}
	share := max(c.budget/int64(c.budgetPartitions), MinPartitionBudget)
	b := *o
	if b.WriteBuffer == 0 {
		b.WriteBuffer = int(share / 2)
	}
	if b.BlockCacheCapacity == 0 {
		b.BlockCacheCapacity = int(share / 4)
	}
	c.flushSize = min(c.flushSize, int(share/4))
	return c, &b
}
