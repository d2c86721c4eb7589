package goka

// Remaining returns how many records of the table topic recovery has still
// to apply: from the record after Offset up to, not including, Hwm. Offset
// is a sarama or storage sentinel (negative) while nothing is stored; then
// recovery starts at the beginning of the partition, and Remaining counts
// from offset 0, an upper bound where retention or compaction removed the
// oldest records. An empty partition (Hwm 0) has none to do. Not in Goka.
func (r *RecoveryStats) Remaining() int64 {
	if r == nil {
		return 0
	}
	next := r.Offset + 1
	if r.Offset < 0 {
		next = 0
	}
	return max(r.Hwm-next, 0)
}
