package kafka

import (
	"hash/fnv"
	"reflect"
	"testing"
)

func TestOwnerOf(t *testing.T) {
	g := GroupAssignment{Members: []MemberAssignment{
		{MemberID: "a", QueryAddress: "a:1", Active: []int32{0, 1}, Standby: []int32{2}},
		{MemberID: "b", QueryAddress: "b:1", Incoming: []int32{2}, Warmup: []int32{0}},
		{MemberID: "c", QueryAddress: "c:1", Standby: []int32{0, 1}},
	}}
	a, b, c := Replica{"a", "a:1"}, Replica{"b", "b:1"}, Replica{"c", "c:1"}
	want := map[int32]KeyOwner{
		0: {Partition: 0, Active: a, Standbys: []Replica{b, c}},
		1: {Partition: 1, Active: a, Standbys: []Replica{c}},
		2: {Partition: 2, Active: b, Standbys: []Replica{a}},
	}
	seen := map[int32]bool{}
	for _, key := range []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"} {
		o, err := OwnerOf(&g, fnv.New32a, key, 3)
		if err != nil {
			t.Fatal(err)
		}
		if o.Partition != PartitionOf(fnv.New32a, key, 3) || !reflect.DeepEqual(o, want[o.Partition]) {
			t.Fatalf("owner of %q: %+v, want %+v", key, o, want[o.Partition])
		}
		seen[o.Partition] = true
	}
	if len(seen) != 3 {
		t.Fatalf("keys hit only partitions %v", seen)
	}
	if _, err := OwnerOf(&g, fnv.New32a, "k", 0); err == nil {
		t.Fatal("no error for 0 partitions")
	}
	if o, _ := OwnerOf(&GroupAssignment{}, fnv.New32a, "k", 3); o.Active != (Replica{}) {
		t.Fatalf("owner in an empty assignment: %+v", o)
	}
}
