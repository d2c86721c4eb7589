package kafka

import "hash"

// PartitionOf returns the partition of key among n partitions, as sarama's
// hash partitioner (sarama.NewCustomHashPartitioner(hasher)) computes it,
// which is also Goka's and the Java client's choice for the same hasher.
func PartitionOf(hasher func() hash.Hash32, key string, n int) int32 {
	h := hasher()
	_, _ = h.Write([]byte(key))
	part := int32(h.Sum32()) % int32(n)
	if part < 0 {
		part = -part
	}
	return part
}
