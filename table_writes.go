package goka

import (
	"fmt"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/table"
)

// unackedWrites are a partition's table writes that Kafka has not
// acknowledged yet. Context.Value sees them at once; local storage gets a
// write only once Kafka acknowledged it, so that a write Kafka refused (a
// value over Producer.MaxMessageBytes, a lost leader past the retries)
// never reaches the storage, where it would outlive a restart while no
// view and no other instance ever sees it. The acknowledgement goroutine
// queues acknowledgements; the partition's goroutine applies them
// (applyAcked) and only then counts the write as done, so a commit never
// runs ahead of local storage, and the storage has one writer.
type unackedWrites = table.Pending[ackedWrite]

// tableWrite is one table write of a callback, waiting for its
// acknowledgement.
type tableWrite struct {
	c     *cbContext
	key   string
	seq   uint64
	value []byte // nil for a delete
	del   bool
	// folded is the write cache's entry that this write flushed, whose
	// other callbacks it completes too (write_cache.go); nil without the
	// cache. A pointer rather than their slice keeps cbContext, which
	// holds a tableWrite, within 256 bytes.
	folded *cacheEntry
}

// ackedWrite is an acknowledged table write and where Kafka stored it.
type ackedWrite struct {
	w         *tableWrite
	partition int32
	offset    int64
}

func newUnackedWrites() *unackedWrites { return table.NewPending[ackedWrite]() }

// applyAcked applies the acknowledged table writes to local storage, in the
// order Kafka acknowledged them, and completes them. A write whose key has
// a newer unacknowledged write stays visible through that one. The offset
// is stored if the write went to this partition (Goka stores it whatever
// the partition, which breaks recovery when inputs were partitioned with
// another hash), once for the whole batch, after its writes and before any
// of them is completed: so a commit still never runs ahead of local
// storage and its offset.
func (pp *partitionProcessor) applyAcked() {
	batch := pp.unacked.Take()
	defer pp.unacked.Recycle(batch)
	if pp.txn != nil {
		for _, a := range batch {
			// Exactly-once: the write reaches storage once its transaction
			// committed (applyTxnWrites); until then Value sees it here.
			pp.txn.writes = append(pp.txn.writes, a)
			pp.unacked.Done()
			a.w.c.finishOne(nil, true)
			a.w.finishMore(nil)
		}
		return
	}
	var (
		offsets batchOffset
		failed  map[int]error // by index in batch; storage errors are rare
	)
	for i, a := range batch {
		if err := pp.applyWrite(a); err != nil {
			if failed == nil {
				failed = make(map[int]error)
			}
			failed[i] = err
		} else {
			offsets.add(pp, a)
		}
	}
	offsets.store(pp)
	for i, a := range batch {
		err := failed[i]
		pp.unacked.Done()
		a.w.c.finishOne(err, true)
		a.w.finishMore(err)
	}
}

// batchOffset collects the offsets of a batch of applied table writes, to
// store the last one once for the batch (Table.StoreOffsets).
type batchOffset struct {
	last   int64
	writes uint
}

// add counts a, applied to local storage, if it went to pp's partition.
func (b *batchOffset) add(pp *partitionProcessor, a ackedWrite) {
	if a.partition == pp.partition {
		b.last, b.writes = max(b.last, a.offset), b.writes+1
	}
}

// store stores the batch's last offset, if it has one.
func (b *batchOffset) store(pp *partitionProcessor) {
	if b.writes > 0 {
		pp.table.StoreOffsets(b.last, b.writes)
	}
}

// applyWrite writes an acknowledged table write to local storage; its
// offset is the caller's to store (batchOffset).
func (pp *partitionProcessor) applyWrite(a ackedWrite) error {
	w := a.w
	var err error
	st := pp.table.Storage()
	if w.del {
		err = st.Delete(w.key)
	} else {
		err = st.Set(w.key, w.value)
	}
	if err != nil {
		return fmt.Errorf("writing table value of key %q to local storage: %w", w.key, err)
	}
	pp.unacked.Forget(w.key, w.seq)
	return nil
}

// acked is the acknowledgement of w's message: a success is queued for the
// partition's goroutine, a failure completes w at once (its write never
// reaches storage, and the processor stops).
func (w *tableWrite) acked(msg *sarama.ProducerMessage, err error) {
	if err != nil {
		w.c.pp.unacked.Done()
		err = w.c.pp.produceFailed(err)
		w.c.finishOne(err, true)
		w.finishMore(err)
		return
	}
	w.c.pp.unacked.Queue(ackedWrite{w: w, partition: msg.Partition, offset: msg.Offset})
}
