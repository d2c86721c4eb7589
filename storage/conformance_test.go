package storage_test

import (
	"testing"

	"github.com/e3793d55/goka/storage"
	"github.com/e3793d55/goka/storage/storagetest"
)

// TestConformance runs the conformance suite (package storagetest) against
// every storage of this package.
func TestConformance(t *testing.T) {
	for _, lb := range []struct {
		name string
		opts []storage.LevelDBOption
	}{
		{"leveldb", nil},
		{"leveldb/write-through", []storage.LevelDBOption{storage.WithFlushSize(0)}},
		{"leveldb/tiny-batches", []storage.LevelDBOption{storage.WithFlushSize(200), storage.WithFlushInterval(0)}},
	} {
		var dir string
		open := func(t *testing.T) storage.Storage {
			st, err := storage.LevelDBBuilder(dir, lb.opts...)("topic", 3)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		t.Run(lb.name, func(t *testing.T) {
			storagetest.Run(t, storagetest.Backend{
				Open: func(t *testing.T) storage.Storage {
					dir = t.TempDir()
					return open(t)
				},
				Reopen: open,
			})
		})
	}
	t.Run("memory", func(t *testing.T) {
		storagetest.Run(t, storagetest.Backend{
			Open: func(*testing.T) storage.Storage { return storage.NewMemory() },
		})
	})
}
