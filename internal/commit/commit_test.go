package commit_test

import (
	"math/rand"
	"sync"
	"testing"

	"github.com/e3793d55/goka/internal/commit"
)

func TestTracker(t *testing.T) {
	tests := []struct {
		name  string
		add   []int64
		done  []int64
		wants []int64 // -1: no commit
	}{
		{"in order", []int64{1, 2, 3}, []int64{1, 2, 3}, []int64{2, 3, 4}},
		{"out of order", []int64{1, 2, 3}, []int64{3, 2, 1}, []int64{-1, -1, 4}},
		{"gap in offsets", []int64{5, 9, 10}, []int64{9, 5, 10}, []int64{-1, 10, 11}},
		{"unknown offset", []int64{1}, []int64{7, 1}, []int64{-1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr commit.Tracker
			for _, o := range tt.add {
				tr.Add(o)
			}
			for i, o := range tt.done {
				next, ok := tr.Done(o)
				if tt.wants[i] == -1 {
					if ok {
						t.Fatalf("Done(%d) = %d, want no commit", o, next)
					}
					continue
				}
				if !ok || next != tt.wants[i] {
					t.Fatalf("Done(%d) = %d, %v; want %d", o, next, ok, tt.wants[i])
				}
			}
			if tr.Pending() != 0 {
				t.Fatalf("Pending = %d, want 0", tr.Pending())
			}
		})
	}
}

// TestTrackerConcurrent completes offsets in random order from several
// goroutines: the committed offsets must grow and end past the last one.
func TestTrackerConcurrent(t *testing.T) {
	const n = 5000
	var tr commit.Tracker
	for i := int64(0); i < n; i++ {
		tr.Add(i)
	}
	order := rand.Perm(n)
	var (
		mu   sync.Mutex
		high int64
		wg   sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if next, ok := tr.Done(int64(order[i])); ok {
					mu.Lock()
					if next > high {
						high = next
					}
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	if high != n {
		t.Fatalf("highest commit = %d, want %d", high, n)
	}
}

func TestCounter(t *testing.T) {
	var c commit.Counter
	select {
	case <-c.Idle():
	default:
		t.Fatal("a new Counter is not idle")
	}
	c.Add()
	c.Add()
	idle := c.Idle()
	c.Done()
	select {
	case <-idle:
		t.Fatal("idle with one operation in flight")
	default:
	}
	if c.N() != 1 {
		t.Fatalf("N = %d, want 1", c.N())
	}
	c.Done()
	select {
	case <-idle:
	default:
		t.Fatal("not idle after the last Done")
	}
}
