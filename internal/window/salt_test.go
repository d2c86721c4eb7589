package window

import (
	"hash"
	"hash/fnv"
	"strconv"
	"testing"
)

// plainHash hides the state saving of fnv, so Salter hashes whole keys.
type plainHash struct{ hash.Hash32 }

func TestSalter(t *testing.T) {
	// The reference: the producer's hash partitioner on a fresh hasher.
	partitionOf := func(n int) func([]byte) int32 {
		return func(b []byte) int32 {
			h := fnv.New32a()
			_, _ = h.Write(b)
			p := int32(h.Sum32()) % int32(n)
			if p < 0 {
				p = -p
			}
			return p
		}
	}
	for _, tc := range []struct {
		name string
		h    func() hash.Hash32
	}{
		{"state saved", fnv.New32a},
		{"whole keys", func() hash.Hash32 { return plainHash{fnv.New32a()} }},
	} {
		for _, n := range []int{1, 3, 10, 64} {
			s := NewSalter(tc.h(), n)
			for i := range 50 {
				k := Key("user-"+strconv.Itoa(i), W{Start: int64(i) * 60_000, End: int64(i+1) * 60_000})
				for part := int32(0); part < int32(n); part++ {
					got := s.Salted(k, part)
					if want := Salted(k, part, partitionOf(n)); got != want {
						t.Fatalf("%s, n=%d, part %d: %x, want %x", tc.name, n, part, got, want)
					}
					if p := partitionOf(n)([]byte(got)); p != part {
						t.Fatalf("%s, n=%d: salted key in partition %d, want %d", tc.name, n, p, part)
					}
					if p := s.PartitionOf([]byte(got)); p != part {
						t.Fatalf("%s, n=%d: PartitionOf %d, want %d", tc.name, n, p, part)
					}
				}
			}
		}
	}
}
