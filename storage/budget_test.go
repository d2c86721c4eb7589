package storage

import (
	"strings"
	"testing"
)

func TestMemoryBudget(t *testing.T) {
	tests := []struct {
		name                       string
		opts                       []LevelDBOption
		writeBuffer, cache, flushS int
	}{
		{"none", nil, 0, 0, DefaultFlushSize},
		{"100 partitions in 200 MiB", []LevelDBOption{WithMemoryBudget(200<<20, 100)}, 1 << 20, 512 << 10, 512 << 10},
		{"floor", []LevelDBOption{WithMemoryBudget(1<<20, 100)}, MinPartitionBudget / 2, MinPartitionBudget / 4, MinPartitionBudget / 4},
		{"flush size below the share", []LevelDBOption{WithMemoryBudget(200<<20, 10), WithFlushSize(4096)}, 10 << 20, 5 << 20, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := newLevelDBConfig(tt.opts)
			must(t, err)
			c, o := cfg.budgeted()
			if o.WriteBuffer != tt.writeBuffer || o.BlockCacheCapacity != tt.cache || c.flushSize != tt.flushS {
				t.Fatalf("write buffer %d, block cache %d, flush size %d; want %d, %d, %d",
					o.WriteBuffer, o.BlockCacheCapacity, c.flushSize, tt.writeBuffer, tt.cache, tt.flushS)
			}
			if o.Strict != defaultStrict {
				t.Fatalf("strict level %v lost", o.Strict)
			}
		})
	}
	for _, bad := range []LevelDBOption{WithMemoryBudget(0, 10), WithMemoryBudget(1<<20, 0), WithMemoryBudget(-1, 1)} {
		_, err := LevelDBBuilder(t.TempDir(), bad)("t", 0)
		if err == nil || !strings.Contains(err.Error(), "WithMemoryBudget") {
			t.Fatalf("bad budget: error %v does not name WithMemoryBudget", err)
		}
	}
	// Storages under a budget keep the contract: write, close, reopen.
	dir := t.TempDir()
	b := LevelDBBuilder(dir, WithMemoryBudget(4<<20, 8))
	for p := range int32(8) {
		st, err := b("t", p)
		must(t, err)
		for i := range 2000 {
			must(t, st.Set(strings.Repeat("k", 1+i%50)+string(rune('a'+i%26)), make([]byte, 100)))
		}
		must(t, st.SetOffset(int64(p)))
		must(t, st.Close())
	}
	for p := range int32(8) {
		st, err := b("t", p)
		must(t, err)
		if off, err := st.GetOffset(-1); err != nil || off != int64(p) {
			t.Fatalf("partition %d: offset %d, %v", p, off, err)
		}
		must(t, st.Close())
	}
}
