package goka

import (
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/storage"
)

// unackedWrites are the table writes of one partition that Kafka has not
// acknowledged yet. Context.Value sees them at once; local storage gets a
// write only once Kafka acknowledged it, so that a write Kafka refused (a
// value over Producer.MaxMessageBytes, a lost leader past the retries)
// never reaches the storage, where it would outlive a restart while no
// view and no other instance ever sees it.
//
// The partition's goroutine adds writes and reads them; the producer's
// acknowledgement goroutine applies them to storage and forgets them.
type unackedWrites struct {
	mu     sync.Mutex
	seq    uint64
	latest map[string]unackedWrite // the newest unacknowledged write of each key
}

type unackedWrite struct {
	seq   uint64
	value []byte // nil for a delete
	del   bool
}

func newUnackedWrites() *unackedWrites {
	return &unackedWrites{latest: make(map[string]unackedWrite)}
}

// add records a write of key and returns its sequence number.
func (u *unackedWrites) add(key string, value []byte, del bool) uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.seq++
	u.latest[key] = unackedWrite{seq: u.seq, value: value, del: del}
	return u.seq
}

// get returns a copy of the newest unacknowledged value of key; ok is
// false when key has none, del true when it is a delete.
func (u *unackedWrites) get(key string) (value []byte, del, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	w, ok := u.latest[key]
	if !ok || w.del {
		return nil, w.del, ok
	}
	// A copy: codecs may hand the bytes to the callback, which may keep
	// or modify them.
	return append(make([]byte, 0, len(w.value)), w.value...), false, true
}

// tableWrite is one table write of a callback, waiting for its
// acknowledgement.
type tableWrite struct {
	pp    *partitionProcessor
	key   string
	seq   uint64
	value []byte // nil for a delete
	del   bool
}

// Apply applies the acknowledged write to st and then forgets it, unless a
// newer write of its key is waiting for its acknowledgement. In that order,
// a concurrent get sees the write either here or in the storage; the
// storage write is outside unackedWrites.mu, which the partition's
// goroutine takes for every table write and read. Acknowledgements come
// from one goroutine, so two writes of a key are applied in order.
func (w *tableWrite) Apply(st storage.Storage) error {
	var err error
	if w.del {
		err = st.Delete(w.key)
	} else {
		err = st.Set(w.key, w.value)
	}
	if err != nil {
		return err
	}
	u := w.pp.unacked
	u.mu.Lock()
	if cur, ok := u.latest[w.key]; ok && cur.seq == w.seq {
		delete(u.latest, w.key)
	}
	u.mu.Unlock()
	return nil
}

// acked applies an acknowledged table write to local storage and stores
// its offset if it went to this partition (Goka stores it whatever the
// partition, which breaks recovery when inputs were partitioned with
// another hash). A partition that already closed its storage skips it: the
// write is in the table topic, and the next owner recovers it.
func (w *tableWrite) acked(msg *sarama.ProducerMessage) error {
	err := w.pp.table.ApplyWrite(w, msg.Offset, msg.Partition == w.pp.partition)
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("writing table value of key %q to local storage: %w", w.key, err)
	}
	return nil
}
