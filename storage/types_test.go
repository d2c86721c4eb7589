package storage

import "testing"

// Helpers of the tests of this package; the conformance suite (package
// storagetest) has its own.

func mustGet(t *testing.T, st Storage, key string) []byte {
	t.Helper()
	v, err := st.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func mustHas(t *testing.T, st Storage, key string) bool {
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

// collect returns the remaining keys and values of it.
func collect(t *testing.T, it Iterator) (keys, values []string) {
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

// Compile-time checks of the types returned.
var (
	_ Storage  = (*Null)(nil)
	_ Iterator = (*NullIter)(nil)
	_ Iterator = (*memIterator)(nil)
	_ Iterator = (*levelDBIterator)(nil)
	_ Iterator = (*multiIterator)(nil)
)
