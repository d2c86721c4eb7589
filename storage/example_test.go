package storage_test

import (
	"fmt"
	"log"
	"os"

	"github.com/e3793d55/goka/storage"
)

func ExampleDefaultBuilder() {
	dir, err := os.MkdirTemp("", "storage-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The storage of partition 3 of the table topic "counter-table" lives in
	// <dir>/counter-table.3.
	st, err := storage.DefaultBuilder(dir)("counter-table", 3)
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Set("alice", []byte("1")); err != nil {
		log.Fatal(err)
	}
	if err := st.SetOffset(41); err != nil {
		log.Fatal(err)
	}

	// Pending writes are visible before they are flushed.
	v, _ := st.Get("alice")
	fmt.Printf("alice=%s\n", v)

	// Flush writes values and offset in one atomic batch; Close flushes too.
	if err := st.(storage.Flusher).Flush(); err != nil {
		log.Fatal(err)
	}
	if err := st.Close(); err != nil {
		log.Fatal(err)
	}

	st, err = storage.DefaultBuilder(dir)("counter-table", 3)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	off, _ := st.GetOffset(-1)
	fmt.Println("offset after reopening:", off)
	// Output:
	// alice=1
	// offset after reopening: 41
}

// LevelDBBuilder configures how much a storage buffers before it writes.
func ExampleLevelDBBuilder() {
	dir, err := os.MkdirTemp("", "storage-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	builder := storage.LevelDBBuilder(dir,
		storage.WithFlushSize(4<<20), // buffer up to about 4 MiB
		storage.WithFlushInterval(0), // flush only by size, Flush and Close
	)
	st, err := builder("table", 0)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	fmt.Println(st.Set("k", []byte("v")))
	// Output: <nil>
}

func ExampleNewMemory() {
	st := storage.NewMemory()
	for _, k := range []string{"b", "c", "a", "ab"} {
		_ = st.Set(k, []byte("value of "+k))
	}

	// Keys with the prefix "a".
	it, _ := st.IteratorWithRange([]byte("a"), nil)
	defer it.Release()
	for it.Next() {
		v, _ := it.Value()
		fmt.Printf("%s: %s\n", it.Key(), v)
	}
	// Output:
	// a: value of a
	// ab: value of ab
}

func ExampleNewMultiIterator() {
	// Two partitions of one table.
	p0, p1 := storage.NewMemory(), storage.NewMemory()
	_ = p0.Set("a", []byte("1"))
	_ = p0.Set("d", []byte("4"))
	_ = p1.Set("b", []byte("2"))
	_ = p1.Set("c", []byte("3"))

	i0, _ := p0.Iterator()
	i1, _ := p1.Iterator()
	it := storage.NewMultiIterator([]storage.Iterator{i0, i1})
	defer it.Release()
	var keys []string
	for it.Next() {
		keys = append(keys, string(it.Key()))
	}
	fmt.Println(keys)

	// After Seek, Next returns the first key >= "bb".
	it.Seek([]byte("bb"))
	keys = keys[:0]
	for it.Next() {
		keys = append(keys, string(it.Key()))
	}
	fmt.Println(keys)
	// Output:
	// [a b c d]
	// [c d]
}
