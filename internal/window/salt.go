package window

import (
	"encoding"
	"encoding/binary"
	"hash"
)

// Salter salts changelog keys (see Salted) for the producer's hash
// partitioner: hasher h over n partitions, as kafka.PartitionOf computes
// them. When h can save and restore its state (encoding.BinaryMarshaler
// and BinaryUnmarshaler, as hash/fnv's can), the key is hashed once and
// each salt tried costs two bytes of hashing; otherwise the whole salted
// key is hashed per salt. A Salter is not safe for concurrent use.
type Salter struct {
	h     hash.Hash32
	n     int32
	saver interface {
		encoding.BinaryMarshaler
		encoding.BinaryUnmarshaler
	}
	state []byte
}

// NewSalter returns a Salter for hasher h over n partitions.
func NewSalter(h hash.Hash32, n int) *Salter {
	s := &Salter{h: h, n: int32(n)}
	if sv, ok := h.(interface {
		encoding.BinaryMarshaler
		encoding.BinaryUnmarshaler
	}); ok {
		s.saver = sv
	}
	return s
}

// PartitionOf returns the partition of changelog key b.
func (s *Salter) PartitionOf(b []byte) int32 {
	if s.n <= 1 {
		return 0
	}
	s.h.Reset()
	_, _ = s.h.Write(b)
	return s.part()
}

func (s *Salter) part() int32 {
	p := int32(s.h.Sum32()) % s.n
	if p < 0 {
		p = -p
	}
	return p
}

// Salted returns Salted(k, part, s.PartitionOf).
func (s *Salter) Salted(k []byte, part int32) string {
	if s.n <= 1 || s.saver == nil {
		return Salted(k, part, s.PartitionOf)
	}
	s.h.Reset()
	_, _ = s.h.Write(k)
	state, err := s.saver.MarshalBinary()
	if err != nil {
		return Salted(k, part, s.PartitionOf)
	}
	s.state = append(s.state[:0], state...)
	b := make([]byte, len(k)+2)
	copy(b, k)
	for salt := 0; salt < 1<<16; salt++ {
		if err := s.saver.UnmarshalBinary(s.state); err != nil {
			return Salted(k, part, s.PartitionOf)
		}
		binary.BigEndian.PutUint16(b[len(k):], uint16(salt))
		_, _ = s.h.Write(b[len(k):])
		if s.part() == part {
			return string(b)
		}
	}
	binary.BigEndian.PutUint16(b[len(k):], 0)
	return string(b)
}
