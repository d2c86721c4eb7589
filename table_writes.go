package goka

import (
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// unackedWrites are the table writes of one partition that Kafka has not
// acknowledged yet. Context.Value sees them at once; local storage gets a
// write only once Kafka acknowledged it, so that a write Kafka refused (a
// value over Producer.MaxMessageBytes, a lost leader past the retries)
// never reaches the storage, where it would outlive a restart while no
// view and no other instance ever sees it.
//
// The partition's goroutine owns latest and the storage: it adds writes,
// reads them, and applies the acknowledged ones, which the producer's
// acknowledgement goroutine queues in acked. A message counts as done (and
// may be committed) only after its writes are in the storage, so a commit
// never runs ahead of local storage, and the storage has one writer.
type unackedWrites struct {
	seq    uint64
	latest map[string]unackedWrite // the newest unacknowledged write of each key

	mu     sync.Mutex
	acked  []ackedWrite  // queued by the acknowledgement goroutine
	spare  []ackedWrite  // the previous batch, reused
	signal chan struct{} // has a value when acked may be non-empty
}

type unackedWrite struct {
	seq   uint64
	value []byte // nil for a delete
	del   bool
}

// tableWrite is one table write of a callback, waiting for its
// acknowledgement.
type tableWrite struct {
	c     *cbContext
	key   string
	seq   uint64
	value []byte // nil for a delete
	del   bool
}

// ackedWrite is an acknowledged table write and where Kafka stored it.
type ackedWrite struct {
	w         *tableWrite
	partition int32
	offset    int64
}

func newUnackedWrites() *unackedWrites {
	return &unackedWrites{latest: make(map[string]unackedWrite), signal: make(chan struct{}, 1)}
}

// add records a write of key and returns its sequence number.
func (u *unackedWrites) add(key string, value []byte, del bool) uint64 {
	u.seq++
	u.latest[key] = unackedWrite{seq: u.seq, value: value, del: del}
	return u.seq
}

// get returns a copy of the newest unacknowledged value of key; ok is
// false when key has none, del true when it is a delete.
func (u *unackedWrites) get(key string) (value []byte, del, ok bool) {
	w, ok := u.latest[key]
	if !ok || w.del {
		return nil, w.del, ok
	}
	// A copy: codecs may hand the bytes to the callback, which may keep
	// or modify them.
	return append(make([]byte, 0, len(w.value)), w.value...), false, true
}

// queue hands an acknowledged write to the partition's goroutine. It runs
// on the producer's acknowledgement goroutine and never blocks.
func (u *unackedWrites) queue(a ackedWrite) {
	u.mu.Lock()
	u.acked = append(u.acked, a)
	u.mu.Unlock()
	select {
	case u.signal <- struct{}{}:
	default:
	}
}

// take returns the queued writes; the caller hands the slice back with
// recycle once done with it.
func (u *unackedWrites) take() []ackedWrite {
	u.mu.Lock()
	defer u.mu.Unlock()
	batch := u.acked
	u.acked = u.spare[:0]
	u.spare = nil
	return batch
}

func (u *unackedWrites) recycle(batch []ackedWrite) {
	clear(batch) // drop the references to contexts and values
	u.mu.Lock()
	u.spare = batch[:0]
	u.mu.Unlock()
}

// applyAcked applies the acknowledged table writes to local storage, in the
// order Kafka acknowledged them, and completes them. A write whose key has
// a newer unacknowledged write stays visible through that one. The offset
// is stored if the write went to this partition (Goka stores it whatever
// the partition, which breaks recovery when inputs were partitioned with
// another hash).
func (pp *partitionProcessor) applyAcked() {
	batch := pp.unacked.take()
	if len(batch) == 0 {
		pp.unacked.recycle(batch)
		return
	}
	st := pp.table.Storage()
	for _, a := range batch {
		w := a.w
		var err error
		if w.del {
			err = st.Delete(w.key)
		} else {
			err = st.Set(w.key, w.value)
		}
		if err != nil {
			err = fmt.Errorf("writing table value of key %q to local storage: %w", w.key, err)
		} else {
			if cur, ok := pp.unacked.latest[w.key]; ok && cur.seq == w.seq {
				delete(pp.unacked.latest, w.key)
			}
			if a.partition == pp.partition {
				pp.table.StoreOffset(a.offset)
			}
		}
		w.c.finishOne(err, true)
	}
	pp.unacked.recycle(batch)
}

// acked is the acknowledgement of w's message: a success is queued for the
// partition's goroutine, a failure completes w at once (its write never
// reaches storage, and the processor stops).
func (w *tableWrite) acked(msg *sarama.ProducerMessage, err error) {
	if err != nil {
		w.c.finishOne(err, true)
		return
	}
	w.c.pp.unacked.queue(ackedWrite{w: w, partition: msg.Partition, offset: msg.Offset})
}
