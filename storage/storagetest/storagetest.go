// Package storagetest is the conformance suite of package storage: the
// behaviour every [storage.Storage] shares (reads see writes at once, the
// reserved offset key, iterators in key order over a snapshot, Seek,
// concurrent readers and writers, and, for persistent storages, reopening).
// Storage implementations in other packages or modules run it from their
// tests:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, storagetest.Backend{Open: ..., Reopen: ...})
//	}
//
// It imports package testing and is meant for tests only.
package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/e3793d55/goka/storage"
)

// reservedKey is the key under which storages keep their offset.
const reservedKey = "__offset"

// Backend describes a storage implementation for [Run].
type Backend struct {
	// Open returns a new, empty storage, not yet opened; Run opens and
	// closes it.
	Open func(t *testing.T) storage.Storage
	// Reopen, set for persistent storages, returns the storage that Open
	// returned last, opened again after it was closed. Without it Run
	// leaves out the Reopen case.
	Reopen func(t *testing.T) storage.Storage
}

// Tests are the cases of the suite by name, in the order Run runs them.
var Tests = []struct {
	Name string
	Run  func(t *testing.T, b Backend, st storage.Storage)
}{
	{"GetSetHasDelete", testGetSetHasDelete},
	{"EmptyValue", testEmptyValue},
	{"ReservedKey", testReservedKey},
	{"Offset", testOffset},
	{"Iterator", testIterator},
	{"IteratorWithRange", testIteratorWithRange},
	{"Seek", testSeek},
	{"IteratorSnapshot", testIteratorSnapshot},
	{"RandomOps", testRandomOps},
	{"ConcurrentReadersAndWriter", testConcurrent},
	{"Reopen", testReopen},
}

// Run runs every case of the suite as a subtest, each on a new storage
// from b.Open.
func Run(t *testing.T, b Backend) {
	t.Helper()
	for _, tt := range Tests {
		if tt.Name == "Reopen" && b.Reopen == nil {
			continue // not persistent
		}
		t.Run(tt.Name, func(t *testing.T) {
			st := b.Open(t)
			if err := st.Open(); err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer func() {
				if err := st.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			tt.Run(t, b, st)
		})
	}
}

func mustGet(t *testing.T, st storage.Storage, key string) []byte {
	t.Helper()
	v, err := st.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func mustHas(t *testing.T, st storage.Storage, key string) bool {
	t.Helper()
	ok, err := st.Has(key)
	if err != nil {
		t.Fatalf("Has(%q): %v", key, err)
	}
	return ok
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testGetSetHasDelete(t *testing.T, _ Backend, st storage.Storage) {
	if v := mustGet(t, st, "a"); v != nil {
		t.Fatalf("Get of missing key = %q, want nil", v)
	}
	if mustHas(t, st, "a") {
		t.Fatal("Has of missing key = true")
	}

	buf := []byte("value-1")
	must(t, st.Set("a", buf))
	buf[0] = 'X' // the storage must have copied it
	if v := mustGet(t, st, "a"); string(v) != "value-1" {
		t.Fatalf("Get = %q, want value-1", v)
	}
	v := mustGet(t, st, "a")
	v[0] = 'Y' // modifying a returned value must not change the storage
	if v := mustGet(t, st, "a"); string(v) != "value-1" {
		t.Fatalf("Get after modifying a returned value = %q", v)
	}
	if !mustHas(t, st, "a") {
		t.Fatal("Has = false after Set")
	}

	must(t, st.Set("a", []byte("value-2")))
	if v := mustGet(t, st, "a"); string(v) != "value-2" {
		t.Fatalf("Get after overwrite = %q", v)
	}

	must(t, st.Delete("a"))
	if v := mustGet(t, st, "a"); v != nil {
		t.Fatalf("Get after Delete = %q, want nil", v)
	}
	if mustHas(t, st, "a") {
		t.Fatal("Has after Delete = true")
	}
	must(t, st.Delete("a"))
	must(t, st.Delete("never-set"))

	must(t, st.Set("a", []byte("again")))
	if v := mustGet(t, st, "a"); string(v) != "again" {
		t.Fatalf("Get after Delete and Set = %q", v)
	}

	// Keys are arbitrary bytes.
	bin := "\x00\xff\x01"
	must(t, st.Set(bin, []byte{0}))
	if v := mustGet(t, st, bin); !bytes.Equal(v, []byte{0}) {
		t.Fatalf("Get(binary key) = %q", v)
	}
	must(t, st.Set("", []byte("empty key")))
	if v := mustGet(t, st, ""); string(v) != "empty key" {
		t.Fatalf("Get(\"\") = %q", v)
	}
}

func testEmptyValue(t *testing.T, _ Backend, st storage.Storage) {
	must(t, st.Set("k", []byte{}))
	v := mustGet(t, st, "k")
	if v == nil || len(v) != 0 {
		t.Fatalf("Get of empty value = %#v, want empty non-nil", v)
	}
	if !mustHas(t, st, "k") {
		t.Fatal("Has of empty value = false")
	}
}

func testReservedKey(t *testing.T, _ Backend, st storage.Storage) {
	if err := st.Set(reservedKey, []byte("1")); !errors.Is(err, storage.ErrReservedKey) {
		t.Errorf("Set(__offset) = %v, want storage.ErrReservedKey", err)
	}
	if _, err := st.Get(reservedKey); !errors.Is(err, storage.ErrReservedKey) {
		t.Errorf("Get(__offset) = %v, want storage.ErrReservedKey", err)
	}
	if _, err := st.Has(reservedKey); !errors.Is(err, storage.ErrReservedKey) {
		t.Errorf("Has(__offset) = %v, want storage.ErrReservedKey", err)
	}
	if err := st.Delete(reservedKey); !errors.Is(err, storage.ErrReservedKey) {
		t.Errorf("Delete(__offset) = %v, want storage.ErrReservedKey", err)
	}
}

func testOffset(t *testing.T, _ Backend, st storage.Storage) {
	off, err := st.GetOffset(-3)
	if err != nil || off != -3 {
		t.Fatalf("GetOffset(-3) on a new storage = %d, %v", off, err)
	}
	for _, want := range []int64{0, 42, 41, 1 << 40, -2} {
		must(t, st.SetOffset(want))
		if off, err := st.GetOffset(-3); err != nil || off != want {
			t.Fatalf("GetOffset after SetOffset(%d) = %d, %v", want, off, err)
		}
	}
	must(t, st.SetOffset(7))
	// The offset is not a key.
	it, err := st.Iterator()
	must(t, err)
	defer it.Release()
	if it.Next() {
		t.Fatalf("iterator over a storage with only an offset returned %q", it.Key())
	}
}

// collect returns the remaining keys and values of it.
func collect(t *testing.T, it storage.Iterator) (keys, values []string) {
	t.Helper()
	for it.Next() {
		v, err := it.Value()
		must(t, err)
		keys = append(keys, string(it.Key()))
		values = append(values, string(v))
	}
	must(t, it.Err())
	return keys, values
}

func setAll(t *testing.T, st storage.Storage, keys ...string) {
	t.Helper()
	for _, k := range keys {
		must(t, st.Set(k, []byte("v:"+k)))
	}
}

func testIterator(t *testing.T, _ Backend, st storage.Storage) {
	in := []string{"b", "a", "ab", "\xff", "\x00", "_", "__", "__offset0", "__offses", "c", "aa"}
	setAll(t, st, in...)
	must(t, st.SetOffset(99))
	must(t, st.Set("gone", []byte("x")))
	must(t, st.Delete("gone"))

	it, err := st.Iterator()
	must(t, err)
	defer it.Release()
	keys, values := collect(t, it)
	want := slices.Clone(in)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("keys = %q, want %q", keys, want)
	}
	for i, k := range keys {
		if values[i] != "v:"+k {
			t.Fatalf("value of %q = %q", k, values[i])
		}
	}
	if it.Next() {
		t.Fatal("Next after the end = true")
	}
}

func testIteratorWithRange(t *testing.T, _ Backend, st storage.Storage) {
	setAll(t, st, "a", "a1", "a2", "ab", "b", "b1", "c", "\xff", "\xff\x01", "\xff\xff")
	must(t, st.SetOffset(5))
	tests := []struct {
		start, limit string
		want         []string
	}{
		{"a1", "b", []string{"a1", "a2", "ab"}},                // [start, limit)
		{"a1", "b1", []string{"a1", "a2", "ab", "b"}},          // limit excluded
		{"", "a2", []string{"a", "a1"}},                        // from the start
		{"a", "", []string{"a", "a1", "a2", "ab"}},             // prefix
		{"b", "", []string{"b", "b1"}},                         // prefix
		{"a2", "", []string{"a2"}},                             // prefix, exact key
		{"zz", "", nil},                                        // prefix, nothing
		{"\xff", "", []string{"\xff", "\xff\x01", "\xff\xff"}}, // prefix with 0xff
		{"\xff\xff", "", []string{"\xff\xff"}},
		{"", "", []string{"a", "a1", "a2", "ab", "b", "b1", "c", "\xff", "\xff\x01", "\xff\xff"}},
		{"c", "a", nil}, // start > limit
		{"_", "b", []string{"a", "a1", "a2", "ab"}}, // spans "__offset" in LevelDB
		{"__", "", nil}, // prefix of "__offset"
	}
	for _, tt := range tests {
		var limit []byte
		if tt.limit != "" {
			limit = []byte(tt.limit)
		}
		it, err := st.IteratorWithRange([]byte(tt.start), limit)
		must(t, err)
		keys, _ := collect(t, it)
		it.Release()
		if !slices.Equal(keys, tt.want) {
			t.Errorf("IteratorWithRange(%q, %q) = %q, want %q", tt.start, tt.limit, keys, tt.want)
		}
	}
}

func testSeek(t *testing.T, _ Backend, st storage.Storage) {
	setAll(t, st, "b", "d", "f", "h")
	must(t, st.SetOffset(1))

	it, err := st.Iterator()
	must(t, err)
	defer it.Release()
	steps := []struct {
		seek  string
		found bool
		want  []string // keys returned by Next calls after Seek
	}{
		{"d", true, []string{"d", "f"}}, // exact
		{"c", true, []string{"d"}},      // between: first key >= k
		{"a", true, []string{"b"}},      // before the first key, backwards
		{"", true, []string{"b", "d"}},  // empty key
		{"__offset", true, []string{"b"}},
		{"h", true, []string{"h", ""}}, // last key, then exhausted
		{"i", false, []string{""}},     // past the end
		{"f", true, []string{"f", "h", ""}},
	}
	for _, s := range steps {
		if found := it.Seek([]byte(s.seek)); found != s.found {
			t.Fatalf("Seek(%q) = %v, want %v", s.seek, found, s.found)
		}
		for _, w := range s.want {
			ok := it.Next()
			if w == "" {
				if ok {
					t.Fatalf("after Seek(%q): Next returned %q, want end", s.seek, it.Key())
				}
				continue
			}
			if !ok || string(it.Key()) != w {
				t.Fatalf("after Seek(%q): Next = %v, %q, want %q", s.seek, ok, it.Key(), w)
			}
			if v, err := it.Value(); err != nil || string(v) != "v:"+w {
				t.Fatalf("Value of %q = %q, %v", w, v, err)
			}
		}
	}

	// Seek inside a range stays inside the range.
	rit, err := st.IteratorWithRange([]byte("c"), []byte("g"))
	must(t, err)
	defer rit.Release()
	if !rit.Seek([]byte("a")) {
		t.Fatal("Seek before the range start = false")
	}
	if keys, _ := collect(t, rit); !slices.Equal(keys, []string{"d", "f"}) {
		t.Fatalf("range after Seek before start = %q", keys)
	}
	if rit.Seek([]byte("g")) {
		t.Fatal("Seek to the range limit = true")
	}
	if rit.Next() {
		t.Fatalf("Next after Seek to the limit returned %q", rit.Key())
	}
}

func testIteratorSnapshot(t *testing.T, _ Backend, st storage.Storage) {
	setAll(t, st, "a", "b", "c")
	it, err := st.Iterator()
	must(t, err)
	defer it.Release()
	if !it.Next() || string(it.Key()) != "a" {
		t.Fatal("first key is not a")
	}
	// Writes after creating the iterator are not seen.
	must(t, st.Delete("b"))
	must(t, st.Set("bb", []byte("new")))
	must(t, st.Set("c", []byte("changed")))
	keys, values := collect(t, it)
	if !slices.Equal(keys, []string{"b", "c"}) || values[1] != "v:c" {
		t.Fatalf("iterator saw later writes: %q %q", keys, values)
	}
}

// testRandomOps compares the storage with a simple model over random
// operations, with iterators in between.
func testRandomOps(t *testing.T, _ Backend, st storage.Storage) {
	r := rand.New(rand.NewPCG(1, 2))
	model := map[string]string{}
	key := func() string { return fmt.Sprintf("k%02d", r.IntN(40)) }
	for i := range 3000 {
		switch op := r.IntN(10); {
		case op < 5:
			k, v := key(), fmt.Sprintf("v%d", i)
			must(t, st.Set(k, []byte(v)))
			model[k] = v
		case op < 8:
			k := key()
			must(t, st.Delete(k))
			delete(model, k)
		case op < 9:
			k := key()
			got := mustGet(t, st, k)
			if want, ok := model[k]; ok != (got != nil) || string(got) != want {
				t.Fatalf("op %d: Get(%q) = %q, want %q (present %v)", i, k, got, want, ok)
			}
		default:
			it, err := st.Iterator()
			must(t, err)
			keys, values := collect(t, it)
			it.Release()
			want := make([]string, 0, len(model))
			for k := range model {
				want = append(want, k)
			}
			slices.Sort(want)
			if !slices.Equal(keys, want) {
				t.Fatalf("op %d: iterator keys = %q, want %q", i, keys, want)
			}
			for j, k := range keys {
				if values[j] != model[k] {
					t.Fatalf("op %d: iterator value of %q = %q, want %q", i, k, values[j], model[k])
				}
			}
		}
	}
}

// testConcurrent runs one writer, a goroutine setting offsets (as producer
// callbacks do) and readers at the same time; run it with -race.
func testConcurrent(t *testing.T, _ Backend, st storage.Storage) {
	const (
		keys   = 50
		rounds = 40
	)
	value := func(k, round int) []byte { return fmt.Appendf(nil, "key-%d/round-%d", k, round) }
	check := func(key string, v []byte) error {
		if v != nil && !strings.HasPrefix(string(v), key+"/") {
			return fmt.Errorf("Get(%q) = %q: value of another key", key, v)
		}
		return nil
	}

	var (
		wg   sync.WaitGroup
		done = make(chan struct{})
		errs = make(chan error, 16)
	)
	wg.Go(func() { // writer
		defer close(done)
		for round := range rounds {
			for k := range keys {
				key := fmt.Sprintf("key-%d", k)
				var err error
				if (k+round)%7 == 0 {
					err = st.Delete(key)
				} else {
					err = st.Set(key, value(k, round))
				}
				if err != nil {
					errs <- err
					return
				}
			}
			if f, ok := st.(storage.Flusher); ok && round%10 == 0 {
				if err := f.Flush(); err != nil {
					errs <- err
					return
				}
			}
		}
	})
	wg.Go(func() { // offsets from another goroutine
		for i := int64(0); ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if err := st.SetOffset(i); err != nil {
				errs <- err
				return
			}
		}
	})
	for range 3 { // readers
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				for k := range keys {
					key := fmt.Sprintf("key-%d", k)
					v, err := st.Get(key)
					if err == nil {
						err = check(key, v)
					}
					if err == nil {
						_, err = st.Has(key)
					}
					if err == nil {
						_, err = st.GetOffset(0)
					}
					if err != nil {
						errs <- err
						return
					}
				}
				it, err := st.Iterator()
				if err != nil {
					errs <- err
					return
				}
				prev := ""
				for it.Next() {
					k := string(it.Key())
					v, _ := it.Value()
					if k <= prev && prev != "" {
						errs <- fmt.Errorf("iterator out of order: %q after %q", k, prev)
					}
					if err := check(k, v); err != nil {
						errs <- err
					}
					prev = k
				}
				it.Release()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The final state is the last round.
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		want := value(k, rounds-1)
		if (k+rounds-1)%7 == 0 {
			want = nil
		}
		if got := mustGet(t, st, key); !bytes.Equal(got, want) {
			t.Fatalf("final Get(%q) = %q, want %q", key, got, want)
		}
	}
}

func testReopen(t *testing.T, b Backend, st storage.Storage) {
	setAll(t, st, "a", "b", "c")
	must(t, st.Delete("b"))
	must(t, st.SetOffset(123))
	must(t, st.Close())
	must(t, st.Close()) // twice is fine

	st2 := b.Reopen(t)
	defer func() { must(t, st2.Close()) }()
	if off, err := st2.GetOffset(-1); err != nil || off != 123 {
		t.Fatalf("offset after reopen = %d, %v", off, err)
	}
	it, err := st2.Iterator()
	must(t, err)
	defer it.Release()
	if keys, _ := collect(t, it); !slices.Equal(keys, []string{"a", "c"}) {
		t.Fatalf("keys after reopen = %q", keys)
	}
}
