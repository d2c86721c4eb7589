package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// openTest opens a LevelDB storage in a new directory.
func openTest(t *testing.T, opts ...LevelDBOption) (*levelDB, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := LevelDBBuilder(dir, opts...)("topic", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st.(*levelDB), filepath.Join(dir, "topic.0")
}

// raw reads key from LevelDB itself, ignoring pending writes.
func raw(t *testing.T, s *levelDB, key string) []byte {
	t.Helper()
	v, err := s.db.Get([]byte(key), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLevelDBGokaLayout(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "counter-table.7")

	// A database as Goka writes it: raw keys and values, offset as ASCII.
	db, err := leveldb.OpenFile(path, nil)
	must(t, err)
	must(t, db.Put([]byte("alice"), []byte("3"), nil))
	must(t, db.Put([]byte("bob"), []byte("5"), nil))
	must(t, db.Put([]byte("__offset"), []byte("42"), nil))
	must(t, db.Close())

	st, err := DefaultBuilder(dir)("counter-table", 7)
	must(t, err)
	if off, err := st.GetOffset(-1); err != nil || off != 42 {
		t.Fatalf("GetOffset = %d, %v, want 42", off, err)
	}
	if v := mustGet(t, st, "alice"); string(v) != "3" {
		t.Fatalf("Get(alice) = %q", v)
	}
	it, err := st.Iterator()
	must(t, err)
	keys, _ := collect(t, it)
	it.Release()
	if strings.Join(keys, ",") != "alice,bob" {
		t.Fatalf("keys = %q", keys)
	}

	// And the other way round: what we write, Goka reads.
	must(t, st.Set("carol", []byte("1")))
	must(t, st.Delete("bob"))
	must(t, st.SetOffset(43))
	must(t, st.Close())

	db, err = leveldb.OpenFile(path, nil)
	must(t, err)
	defer db.Close()
	for key, want := range map[string]string{"__offset": "43", "alice": "3", "carol": "1"} {
		if v, err := db.Get([]byte(key), nil); err != nil || string(v) != want {
			t.Errorf("raw Get(%q) = %q, %v, want %q", key, v, err, want)
		}
	}
	if ok, _ := db.Has([]byte("bob"), nil); ok {
		t.Error("deleted key bob is still in LevelDB")
	}
}

func TestLevelDBNew(t *testing.T) {
	dir := t.TempDir()
	db, err := leveldb.OpenFile(dir, nil)
	must(t, err)
	st, err := New(db)
	must(t, err)
	must(t, st.Set("k", []byte("v")))
	must(t, st.Close()) // closes db too
	if _, err := db.Get([]byte("k"), nil); !errors.Is(err, leveldb.ErrClosed) {
		t.Fatalf("db not closed by Close: %v", err)
	}

	if _, err := New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

func TestLevelDBInvalidOffset(t *testing.T) {
	dir := t.TempDir()
	db, err := leveldb.OpenFile(filepath.Join(dir, "t.0"), nil)
	must(t, err)
	must(t, db.Put([]byte("__offset"), []byte("12x"), nil))
	must(t, db.Close())

	_, err = DefaultBuilder(dir)("t", 0)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "t.0")) ||
		!strings.Contains(err.Error(), `invalid offset "12x"`) {
		t.Fatalf("error = %v, want one naming the path and the invalid offset", err)
	}
	// The failed open released the database.
	st, err := LevelDBBuilder(dir)("t", 1)
	must(t, err)
	must(t, st.Close())
	db, err = leveldb.OpenFile(filepath.Join(dir, "t.0"), nil)
	must(t, err)
	must(t, db.Close())
}

func TestLevelDBLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	st, err := DefaultBuilder(dir)("locked", 2)
	must(t, err)
	defer st.Close()

	_, err = DefaultBuilder(dir)("locked", 2)
	path := filepath.Join(dir, "locked.2")
	if err == nil {
		t.Fatal("second open of the same directory succeeded")
	}
	if !strings.Contains(err.Error(), "storage: open "+path+": ") {
		t.Fatalf("error %q does not name the path %s", err, path)
	}
	if isLocked(err) && !strings.Contains(err.Error(), "in use by another storage or process") {
		t.Fatalf("error %q does not say the directory is in use", err)
	}
	if errors.Unwrap(err) == nil {
		t.Fatal("error does not wrap the LevelDB error")
	}
}

func TestLevelDBBuilderErrors(t *testing.T) {
	dir := t.TempDir()
	for _, topic := range []string{"", ".", "..", "a/b", `a\b`} {
		if _, err := DefaultBuilder(dir)(topic, 0); err == nil {
			t.Errorf("topic %q accepted", topic)
		}
	}
	if _, err := LevelDBBuilder(dir, WithFlushSize(-1))("t", 0); err == nil {
		t.Error("negative flush size accepted")
	}
	if _, err := LevelDBBuilder(dir, WithFlushInterval(-time.Second))("t", 0); err == nil {
		t.Error("negative flush interval accepted")
	}
	db, err := leveldb.OpenFile(filepath.Join(dir, "x"), nil)
	must(t, err)
	defer db.Close()
	if _, err := NewLevelDB(db, WithFlushSize(-1)); err == nil {
		t.Error("NewLevelDB accepted a negative flush size")
	}

	// A file where the directory should be.
	blocker := filepath.Join(dir, "file")
	must(t, os.WriteFile(blocker, nil, 0o644))
	if _, err := DefaultBuilder(blocker)("t", 0); err == nil || !strings.Contains(err.Error(), blocker) {
		t.Errorf("open below a file: %v", err)
	}
}

func TestLevelDBBuilderCreatesDirectories(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "c")
	st, err := BuilderWithOptions(dir, &opt.Options{BlockCacheCapacity: 1 << 20})("t", 12)
	must(t, err)
	must(t, st.Close())
	if fi, err := os.Stat(filepath.Join(dir, "t.12")); err != nil || !fi.IsDir() {
		t.Fatalf("database directory not created: %v", err)
	}
}

func TestLevelDBPendingWritesVisibleBeforeFlush(t *testing.T) {
	s, _ := openTest(t, WithFlushInterval(0))
	must(t, s.Set("a", []byte("1")))
	must(t, s.Set("b", []byte("2")))
	must(t, s.SetOffset(10))
	must(t, s.Flush())
	must(t, s.Set("a", []byte("1-new")))
	must(t, s.Delete("b"))
	must(t, s.Set("c", []byte("3")))
	must(t, s.SetOffset(11))

	// Reads see the pending state...
	if v := mustGet(t, s, "a"); string(v) != "1-new" {
		t.Fatalf("Get(a) = %q", v)
	}
	if mustHas(t, s, "b") || mustGet(t, s, "b") != nil {
		t.Fatal("pending delete of b not visible")
	}
	if off, _ := s.GetOffset(0); off != 11 {
		t.Fatalf("GetOffset = %d", off)
	}
	// ...which LevelDB does not have yet.
	if v := raw(t, s, "a"); string(v) != "1" {
		t.Fatalf("raw a = %q before flush", v)
	}
	if v := raw(t, s, "__offset"); string(v) != "10" {
		t.Fatalf("raw offset = %q before flush", v)
	}
	must(t, s.Flush())
	if v := raw(t, s, "a"); string(v) != "1-new" {
		t.Fatalf("raw a = %q after flush", v)
	}
	if v := raw(t, s, "b"); v != nil {
		t.Fatalf("raw b = %q after flush", v)
	}
	if v := raw(t, s, "__offset"); string(v) != "11" {
		t.Fatalf("raw offset = %q after flush", v)
	}
}

// TestLevelDBFlushAtomicity simulates a crash by closing the database without
// flushing: values and offset of the unflushed writes are lost together.
func TestLevelDBFlushAtomicity(t *testing.T) {
	dir := t.TempDir()
	st, err := LevelDBBuilder(dir, WithFlushInterval(0))("t", 0)
	must(t, err)
	s := st.(*levelDB)

	for i := range 100 {
		must(t, s.Set(fmt.Sprintf("k%03d", i), []byte("old")))
	}
	must(t, s.SetOffset(100))
	must(t, s.Flush())
	for i := range 100 {
		must(t, s.Set(fmt.Sprintf("k%03d", i), []byte("new")))
	}
	must(t, s.SetOffset(200))

	// Crash: LevelDB closes, the pending writes are gone.
	must(t, s.db.Close())

	st, err = DefaultBuilder(dir)("t", 0)
	must(t, err)
	defer st.Close()
	if off, _ := st.GetOffset(-1); off != 100 {
		t.Fatalf("offset after crash = %d, want 100", off)
	}
	for i := range 100 {
		if v := mustGet(t, st, fmt.Sprintf("k%03d", i)); string(v) != "old" {
			t.Fatalf("k%03d = %q after crash, want old", i, v)
		}
	}
}

func TestLevelDBBatchHoldsNewestPerKey(t *testing.T) {
	s, _ := openTest(t, WithFlushInterval(0))
	for i := range 100 {
		must(t, s.Set("hot", fmt.Appendf(nil, "%d", i)))
		must(t, s.SetOffset(int64(i)))
	}
	must(t, s.Delete("cold"))
	must(t, s.Flush())
	if n := s.batch.Len(); n != 3 {
		t.Fatalf("batch had %d records, want 3 (hot, cold, offset)", n)
	}
	if v := raw(t, s, "hot"); string(v) != "99" {
		t.Fatalf("hot = %q", v)
	}
}

func TestLevelDBAutoFlushBoundsMemory(t *testing.T) {
	const flushSize = 4 << 10
	s, _ := openTest(t, WithFlushSize(flushSize), WithFlushInterval(0))
	value := bytes.Repeat([]byte("v"), 100)
	maxArena := 0
	for i := range 5000 {
		must(t, s.Set(fmt.Sprintf("key-%05d", i), value))
		must(t, s.SetOffset(int64(i)))
		if size := s.pendingSize(); size >= flushSize {
			t.Fatalf("after %d writes %d bytes pending, flush size %d", i+1, size, flushSize)
		}
		maxArena = max(maxArena, cap(s.arena))
	}
	if limit := 2 * flushSize; maxArena > limit {
		t.Fatalf("arena grew to %d bytes, more than %d", maxArena, limit)
	}
	if len(s.index) > flushSize/pendingOverhead {
		t.Fatalf("%d pending keys", len(s.index))
	}
	// Most writes reached LevelDB without any explicit flush, with their
	// offsets.
	if v := raw(t, s, "key-04000"); !bytes.Equal(v, value) {
		t.Fatal("auto flush did not write key-04000")
	}
	off, err := decodeOffset(raw(t, s, "__offset"))
	if err != nil || off < 4900 {
		t.Fatalf("raw offset %d, %v", off, err)
	}
}

func TestLevelDBHugeValueDoesNotPinMemory(t *testing.T) {
	s, _ := openTest(t, WithFlushSize(1024), WithFlushInterval(0))
	must(t, s.Set("big", make([]byte, 1<<20)))
	must(t, s.Set("small", []byte("x")))
	if cap(s.arena) > 1<<16 || cap(s.batch.Dump()) > 1<<17 {
		t.Fatalf("buffers kept after a huge value: arena %d, batch %d", cap(s.arena), cap(s.batch.Dump()))
	}
	if v := mustGet(t, s, "big"); len(v) != 1<<20 {
		t.Fatalf("big value has %d bytes", len(v))
	}
}

func TestLevelDBFlushInterval(t *testing.T) {
	s, _ := openTest(t, WithFlushInterval(time.Millisecond))
	must(t, s.Flush())
	must(t, s.Set("a", []byte("1")))
	time.Sleep(5 * time.Millisecond)
	must(t, s.SetOffset(5)) // late write: flushes everything
	if v := raw(t, s, "a"); string(v) != "1" {
		t.Fatalf("a not flushed after the interval: %q", v)
	}
	if v := raw(t, s, "__offset"); string(v) != "5" {
		t.Fatalf("offset not flushed after the interval: %q", v)
	}
}

func TestLevelDBWriteThrough(t *testing.T) {
	s, _ := openTest(t, WithFlushSize(0))
	must(t, s.Set("a", []byte("1")))
	if v := raw(t, s, "a"); string(v) != "1" {
		t.Fatal("write-through Set not in LevelDB")
	}
	must(t, s.SetOffset(3))
	if v := raw(t, s, "__offset"); string(v) != "3" {
		t.Fatal("write-through SetOffset not in LevelDB")
	}
	must(t, s.Delete("a"))
	if v := raw(t, s, "a"); v != nil {
		t.Fatal("write-through Delete not in LevelDB")
	}
}

func TestLevelDBFlushedByMarkRecoveredAndIterator(t *testing.T) {
	s, _ := openTest(t, WithFlushInterval(0))
	must(t, s.Set("a", []byte("1")))
	must(t, s.SetOffset(1))
	must(t, s.MarkRecovered())
	if raw(t, s, "a") == nil || raw(t, s, "__offset") == nil {
		t.Fatal("MarkRecovered did not flush")
	}
	must(t, s.Set("b", []byte("2")))
	it, err := s.IteratorWithRange([]byte("b"), nil)
	must(t, err)
	it.Release()
	if raw(t, s, "b") == nil {
		t.Fatal("Iterator did not flush")
	}
}

func TestLevelDBClosed(t *testing.T) {
	s, _ := openTest(t)
	must(t, s.Set("a", []byte("1")))
	must(t, s.Close())
	checks := map[string]error{
		"Open":      s.Open(),
		"Set":       s.Set("a", nil),
		"Delete":    s.Delete("a"),
		"SetOffset": s.SetOffset(1),
		"Flush":     s.Flush(),
	}
	_, checks["Get"] = s.Get("a")
	_, checks["Has"] = s.Has("a")
	_, checks["GetOffset"] = s.GetOffset(0)
	_, checks["Iterator"] = s.Iterator()
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestLevelDBErrorsNameTheStorage(t *testing.T) {
	s, path := openTest(t)
	err := s.Set(offsetKey, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "storage: "+path+": set: ") {
		t.Fatalf("error = %v, want it to name %s", err, path)
	}
}
