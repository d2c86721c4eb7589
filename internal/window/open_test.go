package window

import (
	"fmt"
	"slices"
	"testing"
)

func TestOpen(t *testing.T) {
	o := NewOpen(0, 1<<20, nil)
	if _, _, known := o.Get("k", 0); known {
		t.Fatal("a window at From is known")
	}
	o.Set("k", 0, []byte("x"), false) // at From: not held
	if o.Bytes() != 0 {
		t.Fatal("a window at From is held")
	}
	if _, ok, known := o.Get("k", 60); !known || ok {
		t.Fatalf("new window: ok %v known %v, want absent and known", ok, known)
	}
	o.Set("bb", 60, []byte("1"), false)
	o.Set("a", 60, []byte("2"), false)
	o.Set("c", 60, []byte("3"), false)
	o.Set("c", 60, nil, true)
	o.Set("a", 120, []byte("4"), false)
	o.Set("a", 60, []byte("22"), false)
	if v, ok, known := o.Get("a", 60); !known || !ok || string(v) != "22" {
		t.Fatalf("Get a@60 = %q %v %v", v, ok, known)
	}
	if _, ok, _ := o.Get("c", 60); ok {
		t.Fatal("deleted window still held")
	}
	want := int64(len("bb1") + len("a22") + len("a4") + 3*OpenEntryOverhead)
	if o.Bytes() != want {
		t.Fatalf("Bytes = %d, want %d", o.Bytes(), want)
	}
	var closed []string
	o.Close(60, func(start int64, keys []string, values map[string][]byte) {
		for _, k := range keys {
			closed = append(closed, fmt.Sprintf("%s@%d=%s", k, start, values[k]))
		}
	})
	// Store order: shorter keys first.
	if want := []string{"a@60=22", "bb@60=1"}; !slices.Equal(closed, want) {
		t.Fatalf("closed %v, want %v", closed, want)
	}
	if _, ok, known := o.Get("a", 60); !known || ok {
		t.Fatal("closed window still held")
	}
	if v, ok, _ := o.Get("a", 120); !ok || string(v) != "4" {
		t.Fatal("open window closed")
	}
}

func TestOpenEvicts(t *testing.T) {
	const entry = 2 + 1 + OpenEntryOverhead // key "kN", one-byte value
	var evicted []string
	o := NewOpen(-1, 5*entry, func(start int64, values map[string][]byte) {
		for k := range values {
			evicted = append(evicted, fmt.Sprintf("%s@%d", k, start))
		}
	})
	for start := int64(0); start < 4; start++ {
		o.Set("k1", start, []byte("v"), false)
		o.Set("k2", start, []byte("v"), false)
	}
	// 8 windows over a bound of 5: the two oldest starts (4 windows) go.
	if o.Bytes() > 5*entry {
		t.Fatalf("Bytes %d over the limit %d", o.Bytes(), 5*entry)
	}
	if o.From() != 1 {
		t.Fatalf("From = %d, want 1 (the newest evicted start)", o.From())
	}
	slices.Sort(evicted)
	if want := []string{"k1@0", "k1@1", "k2@0", "k2@1"}; !slices.Equal(evicted, want) {
		t.Fatalf("evicted %v, want %v", evicted, want)
	}
	for start := int64(0); start < 4; start++ {
		_, ok, known := o.Get("k1", start)
		if known != (start > 1) || ok != (start > 1) {
			t.Fatalf("start %d: ok %v known %v", start, ok, known)
		}
	}
	var starts []int64
	o.Close(10, func(start int64, _ []string, _ map[string][]byte) { starts = append(starts, start) })
	if !slices.Equal(starts, []int64{2, 3}) || o.Bytes() != 0 {
		t.Fatalf("closed starts %v, bytes %d", starts, o.Bytes())
	}
}
