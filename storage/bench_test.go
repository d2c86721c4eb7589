package storage

import (
	"fmt"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// benchKeys is the number of distinct keys the write benchmarks cycle
// through, as a count processor does.
const benchKeys = 10000

func benchKeyNames() []string {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%06d", i)
	}
	return keys
}

var benchValue = []byte("12345678901234567890") // a small value

// BenchmarkLevelDBSetBatched measures this package's LevelDB storage: a Set
// and a SetOffset per record, batched, flushed every 1000 records as the
// processor does on commit.
func BenchmarkLevelDBSetBatched(b *testing.B) {
	st, err := LevelDBBuilder(b.TempDir())("t", 0)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	keys := benchKeyNames()
	f := st.(Flusher)
	b.ReportAllocs()
	b.SetBytes(int64(len(keys[0]) + len(benchValue)))
	i := 0
	for b.Loop() {
		if err := st.Set(keys[i%benchKeys], benchValue); err != nil {
			b.Fatal(err)
		}
		if err := st.SetOffset(int64(i)); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			if err := f.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
}

// BenchmarkLevelDBSetWriteThrough is the same storage writing every call at
// once (WithFlushSize(0)), Goka's behaviour after recovery.
func BenchmarkLevelDBSetWriteThrough(b *testing.B) {
	st, err := LevelDBBuilder(b.TempDir(), WithFlushSize(0))("t", 0)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	keys := benchKeyNames()
	b.ReportAllocs()
	b.SetBytes(int64(len(keys[0]) + len(benchValue)))
	i := 0
	for b.Loop() {
		if err := st.Set(keys[i%benchKeys], benchValue); err != nil {
			b.Fatal(err)
		}
		if err := st.SetOffset(int64(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLevelDBSetUnbatched is the baseline: what Goka's LevelDB storage
// does per record after recovery, a db.Put for the value and one for the
// offset.
func BenchmarkLevelDBSetUnbatched(b *testing.B) {
	db, err := leveldb.OpenFile(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	keys := benchKeyNames()
	b.ReportAllocs()
	b.SetBytes(int64(len(keys[0]) + len(benchValue)))
	i := 0
	for b.Loop() {
		if err := db.Put([]byte(keys[i%benchKeys]), benchValue, nil); err != nil {
			b.Fatal(err)
		}
		if err := db.Put(offsetKeyBytes, encodeOffset(nil, int64(i)), nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkLevelDBGet(b *testing.B) {
	st, err := LevelDBBuilder(b.TempDir())("t", 0)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	keys := benchKeyNames()
	for _, k := range keys {
		if err := st.Set(k, benchValue); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.(Flusher).Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := st.Get(keys[i%benchKeys]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkMemorySet(b *testing.B) {
	st := NewMemory()
	keys := benchKeyNames()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := st.Set(keys[i%benchKeys], benchValue); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkMemoryGet(b *testing.B) {
	st := NewMemory()
	keys := benchKeyNames()
	for _, k := range keys {
		if err := st.Set(k, benchValue); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := st.Get(keys[i%benchKeys]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkMultiIterator(b *testing.B) {
	const parts = 10
	stores := make([]Storage, parts)
	for p := range stores {
		stores[p] = NewMemory()
		for i := p; i < benchKeys; i += parts {
			if err := stores[p].Set(fmt.Sprintf("user-%06d", i), benchValue); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		its := make([]Iterator, parts)
		for p, st := range stores {
			its[p], _ = st.Iterator()
		}
		it := NewMultiIterator(its)
		n := 0
		for it.Next() {
			n++
		}
		it.Release()
		if n != benchKeys {
			b.Fatalf("%d keys", n)
		}
	}
}

// BenchmarkLevelDBGetFromTables measures Get of keys in table files, where
// block checksums are verified, with the builders' strict level and with
// none. Without a block cache every Get reads and verifies a block, the
// worst case; with goleveldb's default cache (8 MiB, which holds this
// table) a block is verified once, when it is read from disk.
func BenchmarkLevelDBGetFromTables(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts *opt.Options
	}{
		{"strict/cache", nil},
		{"nostrict/cache", &opt.Options{Strict: opt.NoStrict}},
		{"strict/nocache", &opt.Options{BlockCacher: opt.NoCacher}},
		{"nostrict/nocache", &opt.Options{Strict: opt.NoStrict, BlockCacher: opt.NoCacher}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := b.TempDir()
			build := BuilderWithOptions(path, bc.opts)
			st, err := build("t", 0)
			if err != nil {
				b.Fatal(err)
			}
			keys := benchKeyNames()
			for _, k := range keys {
				if err := st.Set(k, benchValue); err != nil {
					b.Fatal(err)
				}
			}
			if err := st.Close(); err != nil {
				b.Fatal(err)
			}
			// Opening replays the journal into a table file.
			if st, err = build("t", 0); err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if v, err := st.Get(keys[(i*7919)%benchKeys]); err != nil || v == nil {
					b.Fatal(v, err)
				}
				i++
			}
		})
	}
}
