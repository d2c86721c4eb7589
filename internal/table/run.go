package table

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// ProbeAfter is how long recovery waits without a record, while still below
// the high-water mark, before it asks the EndProber whether anything is left
// to read.
const ProbeAfter = time.Second

// logInterval is how often recovery progress is logged.
const logInterval = 10 * time.Second

// drainBatch bounds the records Run takes from its consumer between two
// looks at its other channels.
const drainBatch = 256

// localAhead reports whether the local offset is not below the high-water
// mark: the storage claims records the topic does not have (yet).
func localAhead(local, hwm int64) bool { return local >= 0 && local >= hwm }

// recoveryStart decides where a run consumes from, given the local offset
// (negative: none stored), the oldest offset and the high-water mark of the
// partition. caughtUp means there is nothing to recover, and start is then
// where following begins; otherwise start is where recovery begins. start is
// an offset or sarama.OffsetOldest.
func recoveryStart(local, oldest, hwm int64) (start int64, caughtUp bool, err error) {
	start = sarama.OffsetOldest
	switch {
	case local > 0 && hwm == 0:
		return 0, false, fmt.Errorf("local storage is at offset %d but the topic partition is empty: the topic was probably recreated; delete the local storage", local)
	case localAhead(local, hwm):
		start = hwm
	case local >= 0 && local+1 >= oldest:
		start = local + 1
	}
	if start < hwm && hwm > oldest {
		return start, false, nil
	}
	// Caught up. A fresh storage of an empty partition follows from the
	// oldest offset, whatever retention does before the first record comes.
	if local < 0 && hwm <= oldest {
		return sarama.OffsetOldest, true, nil
	}
	return hwm, true, nil
}

// Run recovers the partition up to its high-water mark and, with follow,
// keeps applying new records until ctx is done. Cancelling ctx is not an
// error: Run returns nil and the storage stays consistent, so a later Run
// continues where this one stopped. Open must have succeeded.
func (t *Table) Run(ctx context.Context, follow bool) error {
	t.stats.setStatus(StatusConnecting)
	consumer, offsets := t.deps()
	local, oldest, hwm, err := t.readOffsets(ctx, offsets)
	if err != nil {
		if ctx.Err() != nil {
			// The offset reads end on ctx: a stop, not a failure.
			return nil
		}
		return err
	}
	start, caughtUp, err := recoveryStart(local, oldest, hwm)
	if err != nil {
		return fmt.Errorf("%s/%d: %w", t.topic, t.partition, err)
	}
	if localAhead(local, hwm) {
		t.log.Printf("goka: local offset %d of %s/%d is not below the high-water mark %d; treating it as recovered", local, t.topic, t.partition, hwm)
	}
	began := time.Now()
	t.stats.startRecovery(began, local, hwm)
	if caughtUp {
		if err := t.markRecovered(); err != nil {
			return err
		}
		// Nothing to replay is a recovery too: observers count one per
		// partition start, whatever it had to read.
		if t.onRecovered != nil {
			t.onRecovered(0, time.Since(began))
		}
		if !follow {
			return nil
		}
	}

	if t.beforeConsume != nil {
		if err := t.beforeConsume(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s/%d: before consuming: %w", t.topic, t.partition, err)
		}
	}
	pc, err := t.consumePartition(consumer, start)
	if err != nil {
		return err
	}
	// Close only reports errors already seen on pc.Errors(), which consume
	// handles. It waits for the broker consumer's fetch in flight (up to
	// Consumer.MaxWaitTime): a processor's table stops right after recovery
	// and must not wait for that before processing, so it closes in the
	// background and Close waits for it.
	defer t.closing.Go(func() { _ = pc.Close() })

	r := &run{t: t, ctx: ctx, pc: pc, follow: follow, hwm: hwm, caughtUp: caughtUp, next: max(start, oldest), began: time.Now()}
	r.prober, _ = offsets.(EndProber)
	r.notifier, _ = pc.(AppliedNotifier)
	if !caughtUp {
		t.stats.setStatus(StatusRecovering)
		t.log.Printf("goka: recovering %s/%d from offset %d to %d (%d records)", t.topic, t.partition, start, hwm, hwm-r.next)
	}
	return r.loop()
}

// readOffsets reads the local offset, the oldest offset and the high-water
// mark.
func (t *Table) readOffsets(ctx context.Context, offsets Offsets) (local, oldest, hwm int64, err error) {
	local, err = t.st.GetOffset(offsetNotStored)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("reading local offset of %s/%d: %w", t.topic, t.partition, err)
	}
	hwm, err = offsets.GetOffset(ctx, t.topic, t.partition, sarama.OffsetNewest)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("reading high-water mark of %s/%d: %w", t.topic, t.partition, err)
	}
	oldest, err = offsets.GetOffset(ctx, t.topic, t.partition, sarama.OffsetOldest)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("reading oldest offset of %s/%d: %w", t.topic, t.partition, err)
	}
	return local, oldest, hwm, nil
}

func (t *Table) consumePartition(consumer sarama.Consumer, start int64) (sarama.PartitionConsumer, error) {
	pc, err := consumer.ConsumePartition(t.topic, t.partition, start)
	if errors.Is(err, sarama.ErrOffsetOutOfRange) && start != sarama.OffsetOldest {
		// Compacted or deleted below our offset: start from what is there.
		t.log.Printf("goka: offset %d of %s/%d is out of range; recovering from the oldest offset", start, t.topic, t.partition)
		pc, err = consumer.ConsumePartition(t.topic, t.partition, sarama.OffsetOldest)
	}
	if err != nil {
		return nil, fmt.Errorf("consuming %s/%d from offset %d: %w", t.topic, t.partition, start, err)
	}
	return pc, nil
}

// run is the state of one Run's consume loop.
type run struct {
	t        *Table
	ctx      context.Context
	pc       sarama.PartitionConsumer
	prober   EndProber       // nil if the Offsets cannot probe
	notifier AppliedNotifier // nil unless pc wants to know
	follow   bool
	hwm      int64 // recovery's target
	caughtUp bool
	applied  int64     // records applied by this run
	next     int64     // the offset expected next
	began    time.Time // of the consume loop
	// probedNext is the next offset of probeLast's last probe.
	probedNext int64
}

// loop consumes until ctx is done, an error occurs or, without follow, the
// table is recovered.
func (r *run) loop() error {
	logTicker := time.NewTicker(logInterval)
	defer logTicker.Stop()
	probe := time.NewTicker(ProbeAfter)
	defer probe.Stop()
	// The first interval counts too: a tail of aborted transactions
	// delivers nothing from the start (an exactly-once partition
	// restarting after an abort recovers over one).
	appliedAtProbe := r.applied
	r.probedNext = -1
	if stop, err := r.probeLast(); stop || err != nil {
		return err
	}
	for {
		select {
		case <-r.ctx.Done():
			return nil
		case <-probe.C:
			// Probe only when a whole interval passed without a record.
			if r.caughtUp || r.applied != appliedAtProbe {
				appliedAtProbe = r.applied
				continue
			}
			if stop, err := r.probeEnd(); stop || err != nil {
				return err
			}
		case <-logTicker.C:
			if !r.caughtUp {
				off := r.t.stats.offset()
				r.t.log.Printf("goka: recovering %s/%d: at offset %d of %d, %d records left", r.t.topic, r.t.partition, off, r.hwm, r.hwm-off-1)
			}
		case cerr, ok := <-r.pc.Errors():
			if err := r.consumerError(cerr, ok); err != nil {
				return err
			}
		case msg, ok := <-r.pc.Messages():
			if stop, err := r.applyBuffered(msg, ok); stop || err != nil {
				return err
			}
			if stop, err := r.probeLast(); stop || err != nil {
				return err
			}
		}
	}
}

// applyBuffered applies msg and then the records already buffered, up to
// drainBatch in all: a select over all of loop's channels costs more than
// applying a record, so buffered records are taken with cheap non-blocking
// receives, and the bound keeps the other channels served. stop means Run
// is done.
func (r *run) applyBuffered(msg *sarama.ConsumerMessage, ok bool) (stop bool, err error) {
	for n := 1; ; n++ {
		if !ok {
			// Closed under a cancel is how a consumer stops; otherwise
			// the consumer failed.
			if r.ctx.Err() == nil {
				return true, fmt.Errorf("consumer of %s/%d closed unexpectedly", r.t.topic, r.t.partition)
			}
			return true, nil
		}
		if stop, err := r.applyOne(msg); stop || err != nil {
			return stop, err
		}
		if n == drainBatch {
			r.followHwm()
			return false, nil
		}
		select {
		case msg, ok = <-r.pc.Messages():
		default:
			r.followHwm()
			return false, nil
		}
	}
}

// followHwm keeps Snapshot.Hwm at the consumer's high-water mark once a
// followed table is recovered, so that Hwm-1-Offset is its lag (a standby's
// as its member reports it to the group), not only during recovery.
func (r *run) followHwm() {
	if r.follow && r.caughtUp {
		r.t.stats.raiseHwm(r.pc.HighWaterMarkOffset())
	}
}

// applyOne applies one record; stop means the table is recovered and not
// followed.
func (r *run) applyOne(msg *sarama.ConsumerMessage) (stop bool, err error) {
	if err := r.t.applyRecord(msg); err != nil {
		return true, err
	}
	if r.notifier != nil {
		r.notifier.RecordApplied(msg.Offset)
	}
	r.applied++
	r.next = msg.Offset + 1
	if r.caughtUp || msg.Offset < r.hwm-1 {
		return false, nil
	}
	return r.recovered("")
}

// recovered marks the table recovered and logs it; stop means Run is done.
func (r *run) recovered(why string) (stop bool, err error) {
	r.caughtUp = true
	if err := r.t.markRecovered(); err != nil {
		return true, err
	}
	took := time.Since(r.began)
	r.t.log.Printf("goka: recovered %s/%d: %d records in %v%s", r.t.topic, r.t.partition, r.applied, took.Round(time.Millisecond), why)
	if r.t.onRecovered != nil {
		r.t.onRecovered(r.applied, took)
	}
	return !r.follow, nil
}

// probeLast probes at once when only the offset before the high-water mark
// is left: under exactly-once every transaction ends with a commit marker,
// so a table written that way always ends with one, and recovery would
// otherwise wait ProbeAfter for it. One probe per position.
func (r *run) probeLast() (stop bool, err error) {
	if r.caughtUp || r.next < r.hwm-1 || r.next == r.probedNext {
		return false, nil
	}
	r.probedNext = r.next
	return r.probeEnd()
}

// probeEnd asks the prober whether anything is left between the next offset
// and the high-water mark; stop means Run is done.
func (r *run) probeEnd() (stop bool, err error) {
	if r.prober == nil {
		return false, nil
	}
	done, err := r.prober.NoDataBetween(r.ctx, r.t.topic, r.t.partition, r.next, r.hwm)
	if err != nil {
		r.t.log.Printf("goka: checking the end of %s/%d: %v", r.t.topic, r.t.partition, err)
	}
	if !done {
		return false, nil
	}
	return r.recovered(fmt.Sprintf("; offsets %d to %d hold no data (transaction markers or compacted)", r.next, r.hwm-1))
}

// consumerError handles an error of the partition consumer: offsets out of
// range (and, with StopOnConsumerError, every error) end Run; others are
// logged.
func (r *run) consumerError(cerr *sarama.ConsumerError, ok bool) error {
	t := r.t
	if !ok {
		return fmt.Errorf("consumer of %s/%d closed", t.topic, t.partition)
	}
	if errors.Is(cerr.Err, sarama.ErrOffsetOutOfRange) || t.stopOnErr {
		return fmt.Errorf("consuming %s/%d: %w", t.topic, t.partition, cerr.Err)
	}
	t.log.Printf("goka: consuming %s/%d: %v", t.topic, t.partition, cerr.Err)
	return nil
}

// applyRecord applies msg and stores its offset, under the storage lock so
// that Close waits for it.
func (t *Table) applyRecord(msg *sarama.ConsumerMessage) error {
	t.stMu.RLock()
	defer t.stMu.RUnlock()
	if err := t.apply(msg, t.st); err != nil {
		return fmt.Errorf("applying record of %s/%d at offset %d (key %q): %w", t.topic, t.partition, msg.Offset, msg.Key, err)
	}
	if err := t.st.SetOffset(msg.Offset); err != nil {
		return fmt.Errorf("storing offset %d of %s/%d: %w", msg.Offset, t.topic, t.partition, err)
	}
	t.stats.countApplied(msg.Offset, len(msg.Value))
	return nil
}
