package storage

import "testing"

// TestMemoryInPlaceUpdates: a Set of a value of the same length overwrites
// in place, which must not change what an earlier iterator or an earlier Get
// returned.
func TestMemoryInPlaceUpdates(t *testing.T) {
	st := NewMemory()
	must(t, st.Set("k", []byte("v1")))
	must(t, st.Set("k", []byte("v2"))) // in place
	got := mustGet(t, st, "k")
	it, err := st.Iterator()
	must(t, err)
	defer it.Release()
	must(t, st.Set("k", []byte("v3"))) // the iterator shares v2: a copy
	must(t, st.Set("k", []byte("v4"))) // in place again
	if !it.Next() {
		t.Fatal("iterator is empty")
	}
	if v, _ := it.Value(); string(v) != "v2" {
		t.Errorf("iterator value = %q, want the snapshot's v2", v)
	}
	if string(got) != "v2" {
		t.Errorf("value returned by Get changed to %q", got)
	}
	if v := mustGet(t, st, "k"); string(v) != "v4" {
		t.Errorf("Get = %q, want v4", v)
	}
	must(t, st.Set("k", []byte("longer"))) // another length: a new copy
	if v := mustGet(t, st, "k"); string(v) != "longer" {
		t.Errorf("Get = %q, want longer", v)
	}
}

func BenchmarkMemorySetSameLength(b *testing.B) {
	st := NewMemory()
	v := []byte("12345678")
	b.ReportAllocs()
	for b.Loop() {
		if err := st.Set("key", v); err != nil {
			b.Fatal(err)
		}
	}
}
