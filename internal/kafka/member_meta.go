package kafka

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Wire versions of the cooperative strategy's user data. A decoder reads
// the fields of the versions it knows and ignores what a newer member
// appended, so that a rolling upgrade can add fields (the rule Kafka
// Streams' SubscriptionInfo follows with its "latest supported version").
//
// Member state versions: 1 up to Copies; 2 adds Ends.
const (
	memberStateVersion     = 2
	groupAssignmentVersion = 1
)

// ErrBadUserData is wrapped by the decoders of the cooperative strategy's
// user data.
var ErrBadUserData = errors.New("bad consumer-group user data")

// PartitionLag is a member's local copy of one partition's table and how far
// it is behind the table topic's high-water mark, in records.
type PartitionLag struct {
	Partition int32
	Lag       int64
}

// MemberState is what a member tells the group leader in its JoinGroup
// metadata (sarama's SubscriptionUserData hook): the address it answers key
// queries on and the copies of table partitions it holds.
type MemberState struct {
	// QueryAddress is where this member serves key lookups, as Kafka
	// Streams' application.server; empty if it serves none.
	QueryAddress string
	// Cooperative is set by members running the cooperative protocol. Their
	// current claims come from sarama's OwnedPartitions (KIP-429), which the
	// leader trusts over Active. An eager member revoked everything before
	// joining, so Active (with Generation) is its only record of ownership.
	Cooperative bool
	// Probe marks a member that joins only to start a rebalance (the
	// follow-up rebalance of KIP-441's warm-ups, which sarama cannot
	// request): it gets no partitions and leaves at once.
	Probe bool
	// Generation is the generation Active was assigned in, -1 for none.
	Generation int32
	// Active are the partitions this member processed in Generation and
	// has not given up.
	Active []int32
	// Copies are the local table copies the member holds besides Active:
	// standbys, warm-ups and storage left from an earlier assignment, each
	// with its lag. Active partitions have lag 0 by definition.
	Copies []PartitionLag
	// Ends are the table topic's end offsets (high-water marks) of the
	// partitions this member knows them for: those it processes and
	// those it keeps copies of. The leader takes a member without a copy
	// of a partition to be that far behind, as Kafka Streams counts a
	// task's whole changelog as the lag of a client without its state, so
	// that a small table moves without a warm-up. Absent (version 1): the
	// lag of a member without a copy is unknown.
	Ends []PartitionEnd
}

// PartitionEnd is the end offset of one partition's table topic, as a
// member last saw it.
type PartitionEnd struct {
	Partition int32
	End       int64
}

// Lag returns the lag of the member's copy of partition p, 0 for an active
// partition, and false if the member holds no copy.
func (s *MemberState) Lag(p int32) (int64, bool) {
	if slices.Contains(s.Active, p) {
		return 0, true
	}
	for _, c := range s.Copies {
		if c.Partition == p {
			return c.Lag, true
		}
	}
	return 0, false
}

// EncodeMemberState returns the wire form of s: version, query address,
// flags, generation, active partitions, copies with their lags, table ends
// (big-endian fixed-width integers, length-prefixed lists).
func EncodeMemberState(s MemberState) []byte {
	b := binary.BigEndian.AppendUint16(nil, memberStateVersion)
	b = appendString(b, s.QueryAddress)
	var flags byte
	if s.Cooperative {
		flags |= 1
	}
	if s.Probe {
		flags |= 2
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(s.Generation))
	b = appendPartitions(b, s.Active)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Copies)))
	for _, c := range s.Copies {
		b = binary.BigEndian.AppendUint32(b, uint32(c.Partition))
		b = binary.BigEndian.AppendUint64(b, uint64(c.Lag))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Ends)))
	for _, e := range s.Ends {
		b = binary.BigEndian.AppendUint32(b, uint32(e.Partition))
		b = binary.BigEndian.AppendUint64(b, uint64(e.End))
	}
	return b
}

// DecodeMemberState reads what EncodeMemberState wrote, of this or a newer
// version. Empty data (a member that sent none) is the zero state with
// Generation -1.
func DecodeMemberState(data []byte) (MemberState, error) {
	s := MemberState{Generation: -1}
	if len(data) == 0 {
		return s, nil
	}
	d := decoder{b: data}
	v := d.uint16()
	if d.err == nil && v < 1 {
		return s, fmt.Errorf("member state version %d: %w", v, ErrBadUserData)
	}
	s.QueryAddress = d.string()
	flags := d.byte()
	s.Cooperative = flags&1 != 0
	s.Probe = flags&2 != 0
	s.Generation = int32(d.uint32())
	s.Active = d.partitions()
	d.partitionCounts("lag", func(p int32, lag int64) {
		s.Copies = append(s.Copies, PartitionLag{Partition: p, Lag: lag})
	})
	if v >= 2 {
		d.partitionCounts("end offset", func(p int32, end int64) {
			s.Ends = append(s.Ends, PartitionEnd{Partition: p, End: end})
		})
	}
	if d.err != nil {
		return MemberState{Generation: -1}, fmt.Errorf("member state: %w", d.err)
	}
	return s, nil
}

// GroupAssignment is what the leader of a cooperative group sends every
// member (sarama's AssignmentData, read back in OnAssignment): the whole
// group's placement, so that any member can answer which member owns a key
// (Kafka Streams sends partitionsByHost the same way), and which member
// the copy is for.
type GroupAssignment struct {
	// Self is the member ID of the receiver.
	Self string
	// Generation is the generation the assignment belongs to.
	Generation int32
	// ProbeAfter is non-zero when the placement is not final: warm-ups are
	// pending (KIP-441). A member whose warm-up catches up, or any member
	// after ProbeAfter, should ask for a rebalance.
	ProbeAfter time.Duration
	// Members are sorted by ID.
	Members []MemberAssignment
}

// MemberAssignment is one member's part of a GroupAssignment.
type MemberAssignment struct {
	MemberID     string
	QueryAddress string
	// Active are the partitions the member processes in this generation.
	Active []int32
	// Incoming are partitions moving to the member that another member
	// still has to revoke (KIP-429's first phase); they arrive in the
	// follow-up rebalance the revoking member asks for.
	Incoming []int32
	// Standby are the partitions whose table the member keeps warm
	// (WithStandbyReplicas); never one of its Active.
	Standby []int32
	// Warmup are partitions that should move to the member once its copy
	// is within the acceptable lag; it keeps them warm until then.
	Warmup []int32
}

// Member returns the assignment of memberID.
func (g *GroupAssignment) Member(memberID string) (MemberAssignment, bool) {
	i, ok := slices.BinarySearchFunc(g.Members, memberID, func(m MemberAssignment, id string) int {
		switch {
		case m.MemberID < id:
			return -1
		case m.MemberID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return MemberAssignment{}, false
	}
	return g.Members[i], true
}

// EncodeGroupAssignment returns the wire form of g.
func EncodeGroupAssignment(g GroupAssignment) []byte {
	b := binary.BigEndian.AppendUint16(nil, groupAssignmentVersion)
	b = appendString(b, g.Self)
	b = binary.BigEndian.AppendUint32(b, uint32(g.Generation))
	b = binary.BigEndian.AppendUint64(b, uint64(g.ProbeAfter.Milliseconds()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(g.Members)))
	for _, m := range g.Members {
		b = appendString(b, m.MemberID)
		b = appendString(b, m.QueryAddress)
		b = appendPartitions(b, m.Active)
		b = appendPartitions(b, m.Incoming)
		b = appendPartitions(b, m.Standby)
		b = appendPartitions(b, m.Warmup)
	}
	return b
}

// DecodeGroupAssignment reads what EncodeGroupAssignment wrote, of this or
// a newer version.
func DecodeGroupAssignment(data []byte) (GroupAssignment, error) {
	var g GroupAssignment
	d := decoder{b: data}
	if v := d.uint16(); d.err == nil && v < groupAssignmentVersion {
		return g, fmt.Errorf("group assignment version %d: %w", v, ErrBadUserData)
	}
	g.Self = d.string()
	g.Generation = int32(d.uint32())
	ms := int64(d.uint64())
	if ms < 0 || ms > time.Duration(1<<62).Milliseconds() {
		d.fail("probe interval out of range")
	}
	g.ProbeAfter = time.Duration(ms) * time.Millisecond
	n := d.count(2 + 2 + 4*4)
	for range n {
		var m MemberAssignment
		m.MemberID = d.string()
		m.QueryAddress = d.string()
		m.Active = d.partitions()
		m.Incoming = d.partitions()
		m.Standby = d.partitions()
		m.Warmup = d.partitions()
		if d.err != nil {
			break
		}
		if len(g.Members) > 0 && g.Members[len(g.Members)-1].MemberID >= m.MemberID {
			d.fail("members not sorted")
		}
		g.Members = append(g.Members, m)
	}
	if d.err != nil {
		return GroupAssignment{}, fmt.Errorf("group assignment: %w", d.err)
	}
	return g, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendPartitions(b []byte, ps []int32) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(ps)))
	for _, p := range ps {
		b = binary.BigEndian.AppendUint32(b, uint32(p))
	}
	return b
}

// decoder reads big-endian fields; the first failure sticks and every later
// read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s at %d bytes left: %w", what, len(d.b), ErrBadUserData)
	}
	d.b = nil
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("truncated")
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte() byte {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) uint16() uint16 {
	if b := d.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) string() string {
	return string(d.take(int(d.uint16())))
}

// count reads a list length and checks that the rest of the message can
// hold that many elements of at least minSize bytes each.
func (d *decoder) count(minSize int) int {
	n := d.uint32()
	if d.err != nil {
		return 0
	}
	if uint64(n)*uint64(minSize) > uint64(len(d.b)) {
		d.fail("list longer than the message")
		return 0
	}
	return int(n)
}

// partitionCounts reads a list of partitions, each with a non-negative
// 64-bit number (a lag, an end offset), passing each pair to add.
func (d *decoder) partitionCounts(what string, add func(p int32, n int64)) {
	for range d.count(12) {
		p := int32(d.uint32())
		n := int64(d.uint64())
		if n < 0 {
			d.fail("negative " + what)
		}
		add(p, n)
	}
}

func (d *decoder) partitions() []int32 {
	n := d.count(4)
	if n == 0 {
		return nil
	}
	ps := make([]int32, n)
	for i := range ps {
		ps[i] = int32(d.uint32())
	}
	return ps
}
