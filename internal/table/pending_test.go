package table

import (
	"sync"
	"testing"
)

func TestPendingWrites(t *testing.T) {
	p := NewPending[int]()
	if _, _, ok := p.Get("k"); ok {
		t.Fatal("empty Pending has k")
	}
	s1 := p.Add("k", []byte("a"), false)
	s2 := p.Add("k", []byte("b"), false)
	v, del, ok := p.Get("k")
	if !ok || del || string(v) != "b" {
		t.Fatalf("Get = %q, %v, %v; want the newest write b", v, del, ok)
	}
	v[0] = 'x' // a copy: the pending value is unchanged
	if v, _, _ := p.Get("k"); string(v) != "b" {
		t.Fatalf("Get returned the pending bytes, not a copy: %q", v)
	}
	p.Forget("k", s1) // an older write's acknowledgement keeps the newer one
	if v, _, ok := p.Get("k"); !ok || string(v) != "b" {
		t.Fatalf("after forgetting the older write: %q, %v", v, ok)
	}
	p.Forget("k", s2)
	if _, _, ok := p.Get("k"); ok {
		t.Fatal("k still pending after its newest write was forgotten")
	}
	p.Add("d", nil, true)
	if v, del, ok := p.Get("d"); !ok || !del || v != nil {
		t.Fatalf("delete: %q, %v, %v", v, del, ok)
	}
}

// Acknowledgements queued from several goroutines all arrive, each once,
// in the order each goroutine queued them; Signal fires after a Queue.
func TestPendingQueue(t *testing.T) {
	p := NewPending[[2]int]()
	const goroutines, each = 4, 1000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				p.Queue([2]int{g, i})
			}
		})
	}
	next := make([]int, goroutines)
	got := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; got < goroutines*each; {
		if !finished {
			select {
			case <-p.Signal():
			case <-done:
				finished = true
			}
		}
		batch := p.Take()
		for _, a := range batch {
			if a[1] != next[a[0]] {
				t.Fatalf("goroutine %d: got %d, want %d", a[0], a[1], next[a[0]])
			}
			next[a[0]]++
			got++
		}
		p.Recycle(batch)
	}
	if b := p.Take(); len(b) != 0 {
		t.Fatalf("%d acknowledgements left over", len(b))
	}
}
