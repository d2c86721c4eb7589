package goka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/storage"
)

// offsetNotStored is what GetOffset returns for a storage without offset
// (Goka's sentinel).
const offsetNotStored int64 = -3

// recoveryLogInterval is how often recovery progress is logged.
const recoveryLogInterval = 10 * time.Second

// partitionTable keeps one partition of a table topic in local storage:
// it recovers the partition up to the high-water mark and, when asked to,
// follows it afterwards. It is used by processors (group table, joins,
// hot standby) and views.
type partitionTable struct {
	topic     string
	partition int32
	builder   storage.Builder
	consumer  sarama.Consumer
	tmgr      TopicManager
	update    UpdateCallback
	log       Logger

	st    storage.Storage
	stats tableStatsCollector

	// stMu guards st against use after close by producer callbacks.
	stMu   sync.RWMutex
	closed bool

	recovered chan struct{}
	recOnce   sync.Once

	// closing tracks partition consumers closed in the background; close
	// waits for them.
	closing sync.WaitGroup

	// stopOnConsumerError makes run return consumer errors instead of
	// logging them, so that an auto-reconnecting view notices a lost
	// broker (and shows Connecting) rather than claiming to run while it
	// receives nothing.
	stopOnConsumerError bool
}

func newPartitionTable(topic string, partition int32, builder storage.Builder, consumer sarama.Consumer,
	tmgr TopicManager, update UpdateCallback, log Logger, mode PPRunMode) *partitionTable {
	t := &partitionTable{
		topic:     topic,
		partition: partition,
		builder:   builder,
		consumer:  consumer,
		tmgr:      tmgr,
		update:    update,
		log:       log,
		recovered: make(chan struct{}),
	}
	t.stats.runMode = mode
	return t
}

func (t *partitionTable) setStatus(s PartitionStatus) {
	t.stats.mu.Lock()
	t.stats.status = s
	t.stats.mu.Unlock()
}

// open builds and opens the storage. A storage found damaged (an error
// wrapping storage.ErrCorrupted that is a storage.Discarder) is discarded
// and built again, empty, once: recovery then reads the whole partition
// from the table topic. Damage that cannot be discarded fails the open.
func (t *partitionTable) open() error {
	t.setStatus(PartitionInitializing)
	build := func() (storage.Storage, error) {
		st, err := t.builder(t.topic, t.partition)
		if err != nil {
			return nil, fmt.Errorf("building storage of %s/%d: %w", t.topic, t.partition, err)
		}
		if err := st.Open(); err != nil {
			// Closed so that a Discarder may remove it.
			return nil, errors.Join(fmt.Errorf("opening storage of %s/%d: %w", t.topic, t.partition, err), st.Close())
		}
		return st, nil
	}
	st, err := build()
	if d := storage.Discarder(nil); errors.Is(err, storage.ErrCorrupted) && errors.As(err, &d) {
		kept, derr := d.Discard()
		if derr != nil {
			return errors.Join(err, derr)
		}
		t.log.Printf("goka: local storage of %s/%d is damaged; rebuilding it from the table topic, damaged copy kept in %q: %v", t.topic, t.partition, kept, err)
		t.stats.mu.Lock()
		t.stats.rebuilds++
		t.stats.mu.Unlock()
		st, err = build()
	}
	if err != nil {
		return err
	}
	// Processor.Get and View.Get read t.st from other goroutines under
	// stMu: publish it under the lock too.
	t.stMu.Lock()
	t.st = st
	t.stMu.Unlock()
	return nil
}

// close flushes and closes the storage. Safe to call more than once.
func (t *partitionTable) close() error {
	t.closing.Wait()
	t.stMu.Lock()
	defer t.stMu.Unlock()
	t.setStatus(PartitionStopped)
	if t.closed || t.st == nil {
		t.closed = true
		return nil
	}
	t.closed = true
	if err := t.st.Close(); err != nil {
		return fmt.Errorf("closing storage of %s/%d: %w", t.topic, t.partition, err)
	}
	return nil
}

// flush persists buffered writes of storages that buffer.
func (t *partitionTable) flush() error {
	t.stMu.RLock()
	defer t.stMu.RUnlock()
	if t.closed || t.st == nil {
		return nil
	}
	if f, ok := t.st.(storage.Flusher); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("flushing storage of %s/%d: %w", t.topic, t.partition, err)
		}
	}
	return nil
}

// storeOffset records the offset of a table record this process wrote
// itself, unless the storage is already closed.
func (t *partitionTable) storeOffset(offset int64) {
	t.stMu.RLock()
	defer t.stMu.RUnlock()
	if t.closed {
		return
	}
	cur, err := t.st.GetOffset(offsetNotStored)
	if err == nil && offset <= cur {
		return
	}
	if err := t.st.SetOffset(offset); err != nil {
		t.log.Printf("goka: storing offset %d of %s/%d: %v", offset, t.topic, t.partition, err)
	}
	t.stats.mu.Lock()
	t.stats.writes.Count++
	t.stats.lastWrite = time.Now()
	t.stats.mu.Unlock()
}

func (t *partitionTable) markRecovered() error {
	if err := t.st.MarkRecovered(); err != nil {
		return fmt.Errorf("marking storage of %s/%d recovered: %w", t.topic, t.partition, err)
	}
	t.stats.mu.Lock()
	t.stats.recovery.RecoveryTime = time.Now()
	t.stats.status = PartitionRunning
	t.stats.mu.Unlock()
	t.recOnce.Do(func() { close(t.recovered) })
	return nil
}

func (t *partitionTable) isRecovered() bool {
	select {
	case <-t.recovered:
		return true
	default:
		return false
	}
}

// run recovers the partition up to its high-water mark and, with follow,
// keeps applying new records until ctx is done. Cancelling ctx is not an
// error: run returns nil and the storage stays consistent, so a later run
// continues where this one stopped.
func (t *partitionTable) run(ctx context.Context, follow bool) error {
	t.setStatus(PartitionConnecting)
	local, err := t.st.GetOffset(offsetNotStored)
	if err != nil {
		return fmt.Errorf("reading local offset of %s/%d: %w", t.topic, t.partition, err)
	}
	hwm, err := t.tmgr.GetOffset(t.topic, t.partition, sarama.OffsetNewest)
	if err != nil {
		return fmt.Errorf("reading high-water mark of %s/%d: %w", t.topic, t.partition, err)
	}
	oldest, err := t.tmgr.GetOffset(t.topic, t.partition, sarama.OffsetOldest)
	if err != nil {
		return fmt.Errorf("reading oldest offset of %s/%d: %w", t.topic, t.partition, err)
	}

	start := sarama.OffsetOldest
	switch {
	case local > 0 && hwm == 0:
		return fmt.Errorf("local storage of %s/%d is at offset %d but the topic partition is empty: the topic was probably recreated; delete the local storage", t.topic, t.partition, local)
	case local >= hwm && local >= 0:
		t.log.Printf("goka: local offset %d of %s/%d is not below the high-water mark %d; treating it as recovered", local, t.topic, t.partition, hwm)
		start = hwm
	case local >= 0 && local+1 >= oldest:
		start = local + 1
	}

	t.stats.mu.Lock()
	t.stats.recovery = RecoveryStats{StartTime: time.Now(), Offset: local, Hwm: hwm}
	t.stats.mu.Unlock()

	caughtUp := start >= hwm || hwm <= oldest
	if caughtUp {
		if err := t.markRecovered(); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		start = hwm
		if local < 0 && hwm <= oldest {
			start = sarama.OffsetOldest
		}
	}

	pc, err := t.consumePartition(start)
	if err != nil {
		return err
	}
	// Close only reports errors already seen on pc.Errors(), which the loop
	// below handles. It waits for the broker consumer's fetch in flight (up
	// to Consumer.MaxWaitTime): a processor's table stops right after
	// recovery and must not wait for that before processing, so it closes
	// in the background.
	defer func() {
		t.closing.Add(1)
		go func() {
			defer t.closing.Done()
			_ = pc.Close()
		}()
	}()
	if !caughtUp {
		t.setStatus(PartitionRecovering)
		t.log.Printf("goka: recovering %s/%d from offset %d to %d (%d records)", t.topic, t.partition, start, hwm, hwm-max(start, oldest))
	}

	logTicker := time.NewTicker(recoveryLogInterval)
	defer logTicker.Stop()
	probe := time.NewTicker(recoveryProbeAfter)
	defer probe.Stop()
	var (
		appliedAtProbe int64 = -1
		applied        int64
		next           = max(start, oldest)
		began          = time.Now()
		ucx            = DefaultUpdateContext{topic: Stream(t.topic), partition: t.partition}
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-probe.C:
			// Probe only when a whole interval passed without a record.
			if caughtUp || applied != appliedAtProbe {
				appliedAtProbe = applied
				continue
			}
			prober, ok := t.tmgr.(endProber)
			if !ok {
				continue
			}
			done, err := prober.noDataBetween(t.topic, t.partition, next, hwm)
			if err != nil {
				t.log.Printf("goka: checking the end of %s/%d: %v", t.topic, t.partition, err)
			}
			if !done {
				continue
			}
			caughtUp = true
			if err := t.markRecovered(); err != nil {
				return err
			}
			t.log.Printf("goka: recovered %s/%d: %d records in %v; offsets %d to %d hold no data (transaction markers or compacted)",
				t.topic, t.partition, applied, time.Since(began).Round(time.Millisecond), next, hwm-1)
			if !follow {
				return nil
			}
		case <-logTicker.C:
			if !caughtUp {
				t.stats.mu.Lock()
				off := t.stats.recovery.Offset
				t.stats.mu.Unlock()
				t.log.Printf("goka: recovering %s/%d: at offset %d of %d, %d records left", t.topic, t.partition, off, hwm, hwm-off-1)
			}
		case cerr, ok := <-pc.Errors():
			if !ok {
				return fmt.Errorf("consumer of %s/%d closed", t.topic, t.partition)
			}
			if errors.Is(cerr.Err, sarama.ErrOffsetOutOfRange) || t.stopOnConsumerError {
				return fmt.Errorf("consuming %s/%d: %w", t.topic, t.partition, cerr.Err)
			}
			t.log.Printf("goka: consuming %s/%d: %v", t.topic, t.partition, cerr.Err)
		case msg, ok := <-pc.Messages():
			// A select over all the channels above costs more than applying
			// a record; so take the records that are already buffered with
			// cheap non-blocking receives, up to a bound that keeps the
			// other channels served.
			for i := 0; ; i++ {
				if !ok {
					if ctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("consumer of %s/%d closed unexpectedly", t.topic, t.partition)
				}
				// The tester sends nil after each record: receiving it
				// proves the record before it was applied.
				if msg != nil {
					ucx.offset, ucx.timestamp = msg.Offset, msg.Timestamp
					ucx.headers = nil
					if len(msg.Headers) > 0 {
						ucx.headers = HeadersFromSarama(msg.Headers)
					}
					if err := t.apply(ucx, msg); err != nil {
						return err
					}
					applied++
					next = msg.Offset + 1
					if !caughtUp && msg.Offset >= hwm-1 {
						caughtUp = true
						if err := t.markRecovered(); err != nil {
							return err
						}
						t.log.Printf("goka: recovered %s/%d: %d records in %v", t.topic, t.partition, applied, time.Since(began).Round(time.Millisecond))
						if !follow {
							return nil
						}
					}
				}
				if i == drainBatch {
					break
				}
				select {
				case msg, ok = <-pc.Messages():
					continue
				default:
				}
				break
			}
		}
	}
}

// drainBatch bounds the records a partition table takes from its consumer
// between two looks at its other channels.
const drainBatch = 256

func (t *partitionTable) apply(ucx DefaultUpdateContext, msg *sarama.ConsumerMessage) error {
	t.stMu.RLock()
	defer t.stMu.RUnlock()
	if err := t.update(ucx, t.st, string(msg.Key), msg.Value); err != nil {
		return fmt.Errorf("applying record of %s/%d at offset %d (key %q): %w", t.topic, t.partition, msg.Offset, msg.Key, err)
	}
	if err := t.st.SetOffset(msg.Offset); err != nil {
		return fmt.Errorf("storing offset %d of %s/%d: %w", msg.Offset, t.topic, t.partition, err)
	}
	t.stats.mu.Lock()
	t.stats.recovery.Offset = msg.Offset
	t.stats.input.Count++
	t.stats.input.Bytes += len(msg.Value)
	t.stats.input.LastOffset = msg.Offset
	t.stats.lastWrite = time.Now()
	t.stats.mu.Unlock()
	return nil
}

func (t *partitionTable) consumePartition(start int64) (sarama.PartitionConsumer, error) {
	pc, err := t.consumer.ConsumePartition(t.topic, t.partition, start)
	if errors.Is(err, sarama.ErrOffsetOutOfRange) && start != sarama.OffsetOldest {
		// Compacted or deleted below our offset: start from what is there.
		t.log.Printf("goka: offset %d of %s/%d is out of range; recovering from the oldest offset", start, t.topic, t.partition)
		pc, err = t.consumer.ConsumePartition(t.topic, t.partition, sarama.OffsetOldest)
	}
	if err != nil {
		return nil, fmt.Errorf("consuming %s/%d from offset %d: %w", t.topic, t.partition, start, err)
	}
	return pc, nil
}

// get reads key from the storage.
func (t *partitionTable) get(key string) ([]byte, error) {
	t.stMu.RLock()
	defer t.stMu.RUnlock()
	if t.closed || t.st == nil {
		return nil, fmt.Errorf("table %s/%d: %w", t.topic, t.partition, ErrNotRunning)
	}
	return t.st.Get(key)
}
