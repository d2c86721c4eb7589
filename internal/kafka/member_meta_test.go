package kafka

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestMemberStateRoundTrip(t *testing.T) {
	for _, s := range []MemberState{
		{Generation: -1},
		{QueryAddress: "10.0.0.1:9095", Cooperative: true, Probe: true, Generation: 42, Active: []int32{0, 3},
			Copies: []PartitionLag{{1, 0}, {2, 12345}, {7, 1 << 40}}, Ends: []PartitionEnd{{0, 17}, {1, 0}, {3, 1 << 41}}},
	} {
		got, err := DecodeMemberState(EncodeMemberState(s))
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Fatalf("round trip of %+v: %+v, %v", s, got, err)
		}
	}
	if s, err := DecodeMemberState(nil); err != nil || s.Generation != -1 {
		t.Fatalf("empty user data: %+v, %v", s, err)
	}
	// a newer member appended fields: they are ignored
	b := append(EncodeMemberState(MemberState{QueryAddress: "x", Generation: 1, Ends: []PartitionEnd{{2, 5}}}), 9, 9, 9)
	b[1] = 3
	if s, err := DecodeMemberState(b); err != nil || s.QueryAddress != "x" || !reflect.DeepEqual(s.Ends, []PartitionEnd{{2, 5}}) {
		t.Fatalf("newer version: %+v, %v", s, err)
	}
	// an older member (version 1) sends no ends: its state decodes
	// without them
	v1 := EncodeMemberState(MemberState{QueryAddress: "x", Generation: 1, Copies: []PartitionLag{{4, 7}}})
	v1 = v1[:len(v1)-4] // the empty list of ends
	v1[1] = 1
	if s, err := DecodeMemberState(v1); err != nil || !reflect.DeepEqual(s, MemberState{QueryAddress: "x", Generation: 1, Copies: []PartitionLag{{4, 7}}}) {
		t.Fatalf("version 1: %+v, %v", s, err)
	}
	for _, bad := range [][]byte{{0, 0}, {0, 1, 0, 5, 'a'}, EncodeMemberState(MemberState{Copies: []PartitionLag{{0, -1}}}),
		EncodeMemberState(MemberState{Ends: []PartitionEnd{{0, -1}}}), v1[:len(v1)-1]} {
		if _, err := DecodeMemberState(bad); !errors.Is(err, ErrBadUserData) {
			t.Errorf("decode %v: %v, want ErrBadUserData", bad, err)
		}
	}
}

func TestGroupAssignmentRoundTrip(t *testing.T) {
	g := GroupAssignment{Self: "b", Generation: 9, ProbeAfter: 10 * time.Minute, Members: []MemberAssignment{
		{MemberID: "a", QueryAddress: "a:1", Active: []int32{0, 1}, Standby: []int32{2}},
		{MemberID: "b", Incoming: []int32{2}, Warmup: []int32{3}},
	}}
	got, err := DecodeGroupAssignment(EncodeGroupAssignment(g))
	if err != nil || !reflect.DeepEqual(got, g) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if m, ok := got.Member("b"); !ok || m.Warmup[0] != 3 {
		t.Fatalf("Member(b) = %+v, %v", m, ok)
	}
	if _, ok := got.Member("zz"); ok {
		t.Fatal("Member(zz) found")
	}
	unsorted := g
	unsorted.Members = []MemberAssignment{g.Members[1], g.Members[0]}
	if _, err := DecodeGroupAssignment(EncodeGroupAssignment(unsorted)); !errors.Is(err, ErrBadUserData) {
		t.Fatalf("unsorted members: %v", err)
	}
}

// FuzzDecodeMemberState: no input panics or allocates beyond its size, and
// whatever decodes encodes back to an equivalent state.
func FuzzDecodeMemberState(f *testing.F) {
	f.Add([]byte{})
	f.Add(EncodeMemberState(MemberState{QueryAddress: "h:1", Cooperative: true, Generation: 3, Active: []int32{1}, Copies: []PartitionLag{{2, 5}}, Ends: []PartitionEnd{{1, 9}}}))
	f.Add([]byte{0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeMemberState(data)
		if err != nil {
			return
		}
		again, err := DecodeMemberState(EncodeMemberState(s))
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-decode of %+v: %+v, %v", s, again, err)
		}
	})
}

func FuzzDecodeGroupAssignment(f *testing.F) {
	f.Add(EncodeGroupAssignment(GroupAssignment{Self: "a", Members: []MemberAssignment{{MemberID: "a", Active: []int32{0}}}}))
	f.Add([]byte{0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := DecodeGroupAssignment(data)
		if err != nil {
			return
		}
		enc := EncodeGroupAssignment(g)
		again, err := DecodeGroupAssignment(enc)
		if err != nil || !reflect.DeepEqual(again, g) || !bytes.Equal(EncodeGroupAssignment(again), enc) {
			t.Fatalf("re-decode of %+v: %+v, %v", g, again, err)
		}
	})
}
