package kafka

import (
	"fmt"
	"hash"
	"slices"
)

// KeyOwner is who serves a key in a GroupAssignment.
type KeyOwner struct {
	Partition int32
	// Active is the member processing the partition, or the member it is
	// moving to while the previous one revokes it (KIP-429's first phase);
	// empty if no member has it.
	Active Replica
	// Standbys keep the partition's table warm (warm-ups included).
	Standbys []Replica
}

// Replica is a member holding a copy of a partition.
type Replica struct {
	MemberID, QueryAddress string
}

// OwnerOf returns the owner of key among n partitions in g, the partition
// chosen by PartitionOf with hasher (the producer's partitioner, so the
// answer agrees with where the key's messages go).
func OwnerOf(g *GroupAssignment, hasher func() hash.Hash32, key string, n int) (KeyOwner, error) {
	if n <= 0 {
		return KeyOwner{}, fmt.Errorf("owner of key %q: %d partitions", key, n)
	}
	p := PartitionOf(hasher, key, n)
	o := KeyOwner{Partition: p}
	for _, m := range g.Members {
		r := Replica{MemberID: m.MemberID, QueryAddress: m.QueryAddress}
		switch {
		case slices.Contains(m.Active, p), slices.Contains(m.Incoming, p) && o.Active.MemberID == "":
			o.Active = r
		case slices.Contains(m.Standby, p), slices.Contains(m.Warmup, p):
			o.Standbys = append(o.Standbys, r)
		}
	}
	return o, nil
}
