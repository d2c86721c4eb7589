package storage

import (
	"errors"
	"slices"
	"testing"
)

// memIter returns an iterator over a memory storage holding keys.
func memIter(t *testing.T, keys ...string) Iterator {
	t.Helper()
	st := NewMemory()
	for _, k := range keys {
		must(t, st.Set(k, []byte("v:"+k)))
	}
	it, err := st.Iterator()
	must(t, err)
	return it
}

// failingIter returns keys, then fails.
type failingIter struct {
	keys     []string
	pos      int
	err      error
	released bool
}

func (f *failingIter) Next() bool {
	f.pos++
	if f.pos >= len(f.keys) {
		f.err = errors.New("disk on fire")
		return false
	}
	return true
}
func (f *failingIter) Err() error             { return f.err }
func (f *failingIter) Key() []byte            { return []byte(f.keys[f.pos]) }
func (f *failingIter) Value() ([]byte, error) { return nil, nil }
func (f *failingIter) Release()               { f.released = true }
func (f *failingIter) Seek([]byte) bool       { f.pos = -1; return true }

func TestMultiIterator(t *testing.T) {
	tests := []struct {
		name  string
		parts [][]string
		want  []string
	}{
		{"no iterators", nil, nil},
		{"all empty", [][]string{{}, {}, {}}, nil},
		{"one", [][]string{{"b", "a"}}, []string{"a", "b"}},
		{"interleaved", [][]string{{"a", "d", "g"}, {"b", "e"}, {}, {"c", "f", "h"}},
			[]string{"a", "b", "c", "d", "e", "f", "g", "h"}},
		{"duplicates across partitions", [][]string{{"a", "b"}, {"b", "c"}, {"b"}},
			[]string{"a", "b", "b", "b", "c"}},
		{"prefix order", [][]string{{"ab"}, {"a", "abc"}, {"\x00", "\xff"}},
			[]string{"\x00", "a", "ab", "abc", "\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var iters []Iterator
			for _, p := range tt.parts {
				iters = append(iters, memIter(t, p...))
			}
			it := NewMultiIterator(iters)
			defer it.Release()
			if it.Key() != nil {
				t.Fatal("Key before Next is not nil")
			}
			keys, values := collect(t, it)
			if !slices.Equal(keys, tt.want) {
				t.Fatalf("keys = %q, want %q", keys, tt.want)
			}
			for i, k := range keys {
				if values[i] != "v:"+k {
					t.Fatalf("value of %q = %q", k, values[i])
				}
			}
			if it.Next() || it.Key() != nil {
				t.Fatal("Next after the end")
			}
		})
	}
}

func TestMultiIteratorDuplicatesInIteratorOrder(t *testing.T) {
	a, b := NewMemory(), NewMemory()
	must(t, a.Set("k", []byte("from a")))
	must(t, b.Set("k", []byte("from b")))
	ia, _ := a.Iterator()
	ib, _ := b.Iterator()
	it := NewMultiIterator([]Iterator{ib, ia})
	defer it.Release()
	_, values := collect(t, it)
	if !slices.Equal(values, []string{"from b", "from a"}) {
		t.Fatalf("values = %q, want iterator order", values)
	}
}

func TestMultiIteratorSeek(t *testing.T) {
	// Mix LevelDB and memory iterators, as a View over mixed storages would.
	ldb, _ := openTest(t)
	for _, k := range []string{"b", "e", "h"} {
		must(t, ldb.Set(k, []byte("v:"+k)))
	}
	must(t, ldb.SetOffset(3))
	lit, err := ldb.Iterator()
	must(t, err)
	it := NewMultiIterator([]Iterator{lit, memIter(t, "a", "d", "g"), memIter(t, "c", "f")})
	defer it.Release()

	steps := []struct {
		seek  string
		found bool
		want  []string
	}{
		{"d", true, []string{"d", "e", "f"}},
		{"a", true, []string{"a", "b"}},     // backwards
		{"cc", true, []string{"d"}},         // between keys
		{"h", true, []string{"h"}},          // last
		{"z", false, nil},                   // past the end
		{"", true, []string{"a", "b", "c"}}, // from the start again
	}
	for _, s := range steps {
		if found := it.Seek([]byte(s.seek)); found != s.found {
			t.Fatalf("Seek(%q) = %v", s.seek, found)
		}
		for _, w := range s.want {
			if !it.Next() || string(it.Key()) != w {
				t.Fatalf("after Seek(%q): got %q, want %q", s.seek, it.Key(), w)
			}
		}
		if s.want == nil && it.Next() {
			t.Fatalf("after Seek(%q): Next returned %q", s.seek, it.Key())
		}
	}
	// Seek then full iteration.
	it.Seek([]byte("f"))
	if keys, _ := collect(t, it); !slices.Equal(keys, []string{"f", "g", "h"}) {
		t.Fatalf("keys after Seek(f) = %q", keys)
	}
}

func TestMultiIteratorError(t *testing.T) {
	bad := &failingIter{keys: []string{"b", "c"}, pos: -1}
	it := NewMultiIterator([]Iterator{memIter(t, "a", "d"), bad})
	var keys []string
	for it.Next() {
		keys = append(keys, string(it.Key()))
	}
	if err := it.Err(); err == nil || err.Error() != "disk on fire" {
		t.Fatalf("Err = %v", err)
	}
	if !slices.Equal(keys, []string{"a", "b", "c"}) {
		t.Fatalf("keys before the error = %q", keys)
	}
	if it.Next() {
		t.Fatal("Next after an error = true")
	}
	it.Release()
	if !bad.released {
		t.Fatal("Release did not release the sub-iterators")
	}

	// A failure on the first Next is reported as well.
	bad = &failingIter{pos: -1}
	it = NewMultiIterator([]Iterator{memIter(t, "a"), bad})
	defer it.Release()
	if it.Next() || it.Err() == nil {
		t.Fatal("failure on the first Next not reported")
	}
}
