package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMemorySetNil(t *testing.T) {
	st := NewMemory()
	err := st.Set("k", nil)
	if err == nil || !strings.Contains(err.Error(), `"k"`) {
		t.Fatalf("Set(nil) = %v, want an error naming the key", err)
	}
	if mustHas(t, st, "k") {
		t.Fatal("failed Set stored the key")
	}
}

func TestMemoryCloseKeepsData(t *testing.T) {
	st := NewMemory()
	must(t, st.Set("k", []byte("v")))
	must(t, st.SetOffset(3))
	must(t, st.MarkRecovered())
	must(t, st.Close())
	must(t, st.Open())
	if v := mustGet(t, st, "k"); string(v) != "v" {
		t.Fatalf("Get after Close = %q", v)
	}
	if off, _ := st.GetOffset(0); off != 3 {
		t.Fatalf("offset after Close = %d", off)
	}
}

func TestMemoryBuilder(t *testing.T) {
	b := MemoryBuilder()
	s1, err := b("t", 0)
	must(t, err)
	s2, err := b("t", 0)
	must(t, err)
	must(t, s1.Set("k", []byte("v")))
	if mustHas(t, s2, "k") {
		t.Fatal("MemoryBuilder returned a shared storage")
	}
}

// TestMemorySortedKeys exercises the incremental key order with churn that
// makes it start over (added keys beyond the table size).
func TestMemorySortedKeys(t *testing.T) {
	m := NewMemory().(*memory)
	r := rand.New(rand.NewPCG(3, 4))
	model := map[string]bool{}
	for round := range 200 {
		n := r.IntN(200)
		for range n {
			k := fmt.Sprintf("%03d", r.IntN(r.IntN(300)+1))
			if r.IntN(3) == 0 {
				must(t, m.Delete(k))
				delete(model, k)
			} else {
				must(t, m.Set(k, []byte(k)))
				model[k] = true
			}
		}
		if round%3 == 0 {
			continue // let changes accumulate
		}
		it, err := m.Iterator()
		must(t, err)
		keys, values := collect(t, it)
		it.Release()
		want := make([]string, 0, len(model))
		for k := range model {
			want = append(want, k)
		}
		slices.Sort(want)
		if !slices.Equal(keys, want) || !slices.Equal(values, want) {
			t.Fatalf("round %d: keys %q, want %q", round, keys, want)
		}
		if len(m.added) != 0 || m.removed || m.stale {
			t.Fatalf("round %d: caches not settled after a sort", round)
		}
	}
	// Churn on one key without iterating does not grow the bookkeeping.
	for range 10000 {
		must(t, m.Set("churn", []byte("x")))
		must(t, m.Delete("churn"))
	}
	if len(m.added) > len(m.data)+64 {
		t.Fatalf("%d added keys tracked for %d keys", len(m.added), len(m.data))
	}
}

func TestMemoryIteratorKeyOutsideRange(t *testing.T) {
	st := NewMemory()
	must(t, st.Set("a", []byte("1")))
	it, err := st.Iterator()
	must(t, err)
	if it.Key() != nil {
		t.Fatal("Key before Next is not nil")
	}
	if v, _ := it.Value(); v != nil {
		t.Fatal("Value before Next is not nil")
	}
	it.Next()
	it.Next()
	if it.Key() != nil {
		t.Fatal("Key after the end is not nil")
	}
	it.Release()
	if it.Next() {
		t.Fatal("Next after Release = true")
	}
}

func TestNull(t *testing.T) {
	st := NewNull()
	n, ok := st.(*Null)
	if !ok {
		t.Fatalf("NewNull returned %T, want *Null", st)
	}
	must(t, st.Open())
	must(t, st.Set("k", []byte("v")))
	must(t, st.Set(offsetKey, []byte("v")))
	must(t, st.Delete("k"))
	must(t, st.SetOffset(10))
	if v := mustGet(t, st, "k"); v != nil {
		t.Fatalf("Get = %q", v)
	}
	if mustHas(t, st, "k") {
		t.Fatal("Has = true")
	}
	if off, err := st.GetOffset(-7); off != -7 || err != nil {
		t.Fatalf("GetOffset = %d, %v", off, err)
	}
	if n.Recovered() {
		t.Fatal("Recovered before MarkRecovered")
	}
	must(t, st.MarkRecovered())
	if !n.Recovered() {
		t.Fatal("not Recovered after MarkRecovered")
	}
	for _, mk := range []func() (Iterator, error){
		st.Iterator,
		func() (Iterator, error) { return st.IteratorWithRange([]byte("a"), nil) },
	} {
		it, err := mk()
		must(t, err)
		if _, ok := it.(*NullIter); !ok {
			t.Fatalf("iterator is %T, want *NullIter", it)
		}
		if it.Next() || it.Seek([]byte("a")) || it.Key() != nil || it.Err() != nil {
			t.Fatal("NullIter is not empty")
		}
		if v, err := it.Value(); v != nil || err != nil {
			t.Fatal("NullIter has a value")
		}
		it.Release()
	}
	must(t, st.Close())
}

func TestFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "files")
	st, err := NewFile(dir, 3)
	must(t, err)
	must(t, st.Open())
	must(t, st.Set("k1", []byte("hello ")))
	must(t, st.Set("k2", []byte("world")))
	must(t, st.Delete("k1"))
	must(t, st.SetOffset(9))
	if v := mustGet(t, st, "k1"); v != nil {
		t.Fatal("file storage read a value")
	}
	if mustHas(t, st, "k2") {
		t.Fatal("file storage has a key")
	}
	if off, _ := st.GetOffset(-1); off != -1 {
		t.Fatalf("GetOffset = %d", off)
	}
	it, err := st.Iterator()
	must(t, err)
	if it.Next() {
		t.Fatal("file iterator not empty")
	}
	it.Release()

	name := filepath.Join(dir, "part-3")
	must(t, st.(Flusher).Flush())
	if data, _ := os.ReadFile(name); string(data) != "hello world" {
		t.Fatalf("file after Flush = %q", data)
	}
	must(t, st.Set("k3", []byte("!")))
	must(t, st.MarkRecovered())
	if !st.(interface{ Recovered() bool }).Recovered() {
		t.Fatal("not Recovered after MarkRecovered")
	}
	must(t, st.Set("k4", []byte("?")))
	must(t, st.Close())
	must(t, st.Close())
	if err := st.Set("k", []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Set after Close = %v", err)
	}

	// Reopening appends.
	st, err = NewFile(dir, 3)
	must(t, err)
	must(t, st.Set("k", []byte("+")))
	must(t, st.Close())
	if data, _ := os.ReadFile(name); string(data) != "hello world!?+" {
		t.Fatalf("file = %q", data)
	}

	blocker := filepath.Join(t.TempDir(), "blocker")
	must(t, os.WriteFile(blocker, nil, 0o644))
	if _, err := NewFile(blocker, 0); err == nil {
		t.Fatal("NewFile below a regular file succeeded")
	}
}

func TestDecodeOffset(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"-3", -3, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"", 0, false},
		{"4 2", 0, false},
		{"x", 0, false},
		{"9223372036854775808", 0, false},
	}
	for _, tt := range tests {
		got, err := decodeOffset([]byte(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("decodeOffset(%q) = %d, %v", tt.in, got, err)
		}
	}
	if got := string(encodeOffset(nil, -42)); got != "-42" {
		t.Errorf("encodeOffset(-42) = %q", got)
	}
}

func FuzzDecodeOffset(f *testing.F) {
	for _, s := range []string{"", "0", "42", "-1", "+7", "007", "9223372036854775807",
		"-9223372036854775808", "9223372036854775808", "1e3", " 1", "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		off, err := decodeOffset(data)
		if err != nil {
			if off != 0 {
				t.Fatalf("decodeOffset(%q) failed with %d", data, off)
			}
			if !strings.Contains(err.Error(), offsetKey) {
				t.Fatalf("error %q does not name the key", err)
			}
			return
		}
		// What decodes re-encodes canonically and decodes to the same.
		enc := encodeOffset(nil, off)
		back, err := decodeOffset(enc)
		if err != nil || back != off {
			t.Fatalf("round trip of %d via %q: %d, %v", off, enc, back, err)
		}
	})
}
