package pebble_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/e3793d55/goka/storage"
	"github.com/e3793d55/goka/storage/pebble"
	"github.com/e3793d55/goka/storage/storagetest"
)

// TestConformance runs package storage's conformance suite, the one LevelDB
// and memory storage pass, with the default batching, with every write at
// once and with tiny batches.
func TestConformance(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []pebble.Option
	}{
		{"default", nil},
		{"write-through", []pebble.Option{pebble.WithFlushSize(0)}},
		{"tiny-batches", []pebble.Option{pebble.WithFlushSize(200), pebble.WithFlushInterval(0)}},
	} {
		var dir string
		open := func(t *testing.T) storage.Storage {
			st, err := pebble.Builder(dir, tt.opts...)("topic", 3)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		t.Run(tt.name, func(t *testing.T) {
			storagetest.Run(t, storagetest.Backend{
				Open: func(t *testing.T) storage.Storage {
					dir = t.TempDir()
					return open(t)
				},
				Reopen: open,
			})
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestBatchedWithOffset: pending writes and their offset reach the database
// together, on Flush, and not before (the flush size is not reached).
func TestBatchedWithOffset(t *testing.T) {
	dir := t.TempDir()
	b := pebble.Builder(dir, pebble.WithFlushInterval(0))
	st, err := b("t", 0)
	must(t, err)
	must(t, st.Set("a", []byte("1")))
	must(t, st.SetOffset(10))
	// A snapshot of the directory now (a crash) has neither.
	crash := filepath.Join(t.TempDir(), "t.0")
	must(t, os.CopyFS(crash, os.DirFS(filepath.Join(dir, "t.0"))))
	must(t, st.(storage.Flusher).Flush())
	must(t, st.Set("b", []byte("2")))
	must(t, st.Close()) // flushes b with the offset

	st2, err := pebble.Builder(filepath.Dir(crash))("t", 0)
	must(t, err)
	if off, _ := st2.GetOffset(-1); off != -1 {
		t.Errorf("offset before the flush = %d, want none", off)
	}
	if v, _ := st2.Get("a"); v != nil {
		t.Errorf("value before the flush = %q, want none", v)
	}
	must(t, st2.Close())

	st3, err := b("t", 0)
	must(t, err)
	defer func() { must(t, st3.Close()) }()
	if off, _ := st3.GetOffset(-1); off != 10 {
		t.Errorf("offset after Close = %d, want 10", off)
	}
	for k, want := range map[string]string{"a": "1", "b": "2"} {
		if v, _ := st3.Get(k); string(v) != want {
			t.Errorf("Get(%q) = %q, want %q", k, v, want)
		}
	}
}

// TestLocked: a directory open in one storage cannot be opened by another.
func TestLocked(t *testing.T) {
	dir := t.TempDir()
	st, err := pebble.Builder(dir)("t", 1)
	must(t, err)
	if st2, err := pebble.Builder(dir)("t", 1); err == nil {
		_ = st2.Close()
		t.Fatal("second open of a directory in use succeeded")
	}
	must(t, st.Close())
	st3, err := pebble.Builder(dir)("t", 1)
	must(t, err)
	must(t, st3.Close())
}

// TestDamaged: a marked directory fails with a CorruptedError that Discard
// moves aside, after which the builder starts empty.
func TestDamaged(t *testing.T) {
	dir := t.TempDir()
	b := pebble.Builder(dir)
	st, err := b("t", 0)
	must(t, err)
	must(t, st.Set("a", []byte("x")))
	must(t, st.Close())
	must(t, os.WriteFile(filepath.Join(dir, "t.0", "DAMAGED"), []byte("test"), 0o644))

	_, err = b("t", 0)
	var ce *storage.CorruptedError
	if !errors.As(err, &ce) || !errors.Is(err, storage.ErrCorrupted) {
		t.Fatalf("open of a marked directory = %v, want a CorruptedError", err)
	}
	aside, err := ce.Discard()
	must(t, err)
	if _, err := os.Stat(aside); err != nil {
		t.Fatalf("discarded directory: %v", err)
	}
	st2, err := b("t", 0)
	must(t, err)
	defer func() { must(t, st2.Close()) }()
	if v, _ := st2.Get("a"); v != nil {
		t.Fatalf("rebuilt storage holds %q", v)
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  pebble.Option
	}{
		{"WithFlushSize", pebble.WithFlushSize(-1)},
		{"WithFlushInterval", pebble.WithFlushInterval(-time.Second)},
		{"WithCacheSize", pebble.WithCacheSize(0)},
		{"WithMemTableSize", pebble.WithMemTableSize(1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pebble.Builder(t.TempDir(), tt.opt)("t", 0)
			if err == nil {
				t.Fatal("no error")
			}
			if want := tt.name; !contains(err.Error(), want) {
				t.Fatalf("error %q does not name %s", err, want)
			}
		})
	}
	if _, err := pebble.Builder(t.TempDir())("a/b", 0); err == nil {
		t.Fatal("topic with a slash accepted")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestManyPartitionsShareCache: the partitions of one builder open, work
// and close independently while sharing the cache; the last close releases
// it (Pebble panics in its leak check if a cache reference is left, under
// its invariants build tag; here the reopen after all closed must work).
func TestManyPartitionsShareCache(t *testing.T) {
	dir := t.TempDir()
	b := pebble.Builder(dir, pebble.WithCacheSize(1<<20))
	var sts []storage.Storage
	for p := range int32(8) {
		st, err := b("t", p)
		must(t, err)
		must(t, st.Set("k", []byte{byte(p)}))
		sts = append(sts, st)
	}
	for p, st := range sts {
		if v, _ := st.Get("k"); len(v) != 1 || v[0] != byte(p) {
			t.Fatalf("partition %d reads %v", p, v)
		}
		must(t, st.Close())
	}
	st, err := b("t", 5)
	must(t, err)
	defer func() { must(t, st.Close()) }()
	if v, _ := st.Get("k"); len(v) != 1 || v[0] != 5 {
		t.Fatalf("reopened partition reads %v", v)
	}
}
