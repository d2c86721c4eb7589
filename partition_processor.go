package goka

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"golang.org/x/sync/errgroup"

	"github.com/e3793d55/goka/internal/commit"
)

// partitionProcessor processes one assigned partition: it recovers the
// group table and the joined tables of the partition, then processes the
// messages of every input topic and the loop of that partition, and the
// visits, one at a time in one goroutine.
type partitionProcessor struct {
	proc      *Processor
	graph     *GroupGraph
	opts      *poptions
	partition int32
	session   sarama.ConsumerGroupSession
	producer  Producer

	partitionTables
	lookups map[string]*View
	outputs map[string]Codec

	input  chan *sarama.ConsumerMessage
	visits chan *visitItem

	state  *Signal
	stats  *partitionStatsCollector
	inputs map[string]*inputTopic // the input streams and the loop topic

	// unacked are the table writes Kafka has not acknowledged yet.
	unacked *unackedWrites
	wcache  *writeCache // nil unless WithTableWriteCache (write_cache.go)

	// txn is the transaction state under ExactlyOnce (eos.go), nil under
	// AtLeastOnce; bg runs its producer's constructor.
	txn *partitionTxn
	bg  sync.WaitGroup
	// time is the window store, stream time, timers and punctuation
	// (window_runtime.go); nil for a group without them.
	time *timeState

	cancel    context.CancelFunc
	parent    context.Context // start's: a restart starts the successor under it
	recovered chan struct{}   // closed when processing starts
	stopped   chan struct{}   // closed when processing ends
	done      chan struct{}   // closed when storages are closed
	err       error

	// Under ExactlyOnce, after an aborted transaction (eos_restart.go):
	// replay are the input messages to process again before the input
	// channel, restarts the restarts in a row that led to this processor
	// (partition goroutine only), and next the processor that replaced
	// this one, set under Processor.mu before done closes.
	replay   []*sarama.ConsumerMessage
	restarts int
	next     *partitionProcessor
}

// inputTopic is what processing a message of one input topic needs, found
// with one map lookup per message.
type inputTopic struct {
	tracker *commit.Tracker
	codec   Codec
	cb      ProcessCallback
	// hwm is the high-water mark of the topic partition's claim, stored by
	// ConsumeClaim with every message it hands over.
	hwm atomic.Int64
	// Under ExactlyOnce (partition goroutine only): the offset to commit
	// after the messages processed so far, and the one last committed.
	txnNext, committedNext int64
}

type visitItem struct {
	ctx  context.Context // of the VisitAll call: once done, the visit is skipped
	name string
	key  string
	meta interface{}
	cb   ProcessCallback
	done func(error)
}

func newPartitionProcessor(proc *Processor, partition int32, session sarama.ConsumerGroupSession) *partitionProcessor {
	pp := &partitionProcessor{
		proc:      proc,
		graph:     proc.graph,
		opts:      proc.opts,
		partition: partition,
		session:   session,
		producer:  proc.producer,
		lookups:   proc.lookups,
		outputs:   make(map[string]Codec),
		input:     make(chan *sarama.ConsumerMessage, proc.opts.partitionChannelSize),
		visits:    make(chan *visitItem, proc.opts.partitionChannelSize),
		state:     NewSignal(PPStateIdle, PPStateRecovering, PPStateRunning, PPStateStopping, PPStateStopped),
		stats:     newPartitionStatsCollector(),
		inputs:    make(map[string]*inputTopic),
		recovered: make(chan struct{}),
		stopped:   make(chan struct{}),
		done:      make(chan struct{}),
		unacked:   newUnackedWrites(),
	}
	for _, e := range proc.graph.OutputStreams() {
		pp.outputs[e.Topic()] = e.Codec()
	}
	for _, t := range proc.consumedTopics() {
		pp.inputs[t] = &inputTopic{tracker: new(commit.Tracker), codec: proc.graph.codec(t), cb: proc.graph.callback(t)}
	}
	pp.partitionTables = proc.newPartitionTables(partition, runModeActive)
	if proc.opts.exactlyOnce() {
		pp.txn = &partitionTxn{id: transactionalID(proc.graph.Group(), partition)}
		pp.producer = nil // openTxn sets the partition's own
	}
	pp.wcache = newWriteCache(pp, proc.opts.writeCacheBytes)
	pp.time = newTimeState(pp)
	return pp
}

// start runs the partition in a goroutine of its own until stop.
func (pp *partitionProcessor) start(ctx context.Context) {
	pp.parent = ctx
	ctx, pp.cancel = context.WithCancel(ctx)
	go func() {
		defer close(pp.done)
		err := pp.run(ctx)
		if cerr := pp.closeTxn(); cerr != nil {
			pp.proc.log.Printf("goka: processor %q: partition %d: %v", pp.graph.Group(), pp.partition, cerr)
		}
		if cerr := pp.closeTables(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		pp.bg.Wait()
		pp.state.SetState(PPStateStopped)
		var terr *txnError
		switch {
		case err == nil:
		case errors.As(err, &terr) && pp.proc.failure() == nil:
			// Nothing of the transaction is visible: the partition
			// restarts from what was committed, or rejoining resumes
			// every partition from there.
			if pp.restart(ctx, err) {
				return
			}
			pp.proc.txnFailed(err)
		default:
			pp.err = err
			pp.proc.fail(err)
		}
	}()
}

// wait waits until the partition, cancelled with pp.cancel, closed its
// storages, and returns its error.
func (pp *partitionProcessor) wait() error {
	<-pp.done
	return pp.err
}

// partitionTables are the group table (if any) and the joined tables of
// one partition, as an active partition and a standby partition hold them.
type partitionTables struct {
	table *partitionTable // nil for a stateless processor
	joins map[string]*partitionTable
	win   *partitionTable // the time store (window_runtime.go), if any
}

// newPartitionTables creates (without opening) the tables of partition
// part in run mode mode.
func (p *Processor) newPartitionTables(part int32, mode PPRunMode) partitionTables {
	pt := partitionTables{joins: make(map[string]*partitionTable)}
	if t := p.graph.GroupTable(); t != nil {
		pt.table = p.newTable(t.Topic(), part, mode)
	}
	for _, e := range p.graph.JointTables() {
		pt.joins[e.Topic()] = p.newTable(e.Topic(), part, mode)
	}
	pt.win = p.newWindowTable(part, mode)
	return pt
}

// tables lists the group table (if any) and the joined tables.
func (pt *partitionTables) tables() []*partitionTable {
	out := make([]*partitionTable, 0, len(pt.joins)+1)
	if pt.table != nil {
		out = append(out, pt.table)
	}
	for _, j := range pt.joins {
		out = append(out, j)
	}
	if pt.win != nil {
		out = append(out, pt.win)
	}
	return out
}

func (pt *partitionTables) closeTables() error {
	var errs []error
	for _, t := range pt.tables() {
		errs = append(errs, t.Close())
	}
	return errors.Join(errs...)
}

func (pt *partitionTables) flushTables() error {
	var errs []error
	for _, t := range pt.tables() {
		errs = append(errs, t.Flush())
	}
	return errors.Join(errs...)
}

// statsWith returns the partition's statistics with the given input and
// output statistics and a snapshot of its tables.
func (pt *partitionTables) statsWith(in map[string]*InputStats, out map[string]*OutputStats) *PartitionProcStats {
	s := &PartitionProcStats{Now: time.Now(), Joined: map[string]*TableStats{}, Input: in, Output: out}
	if pt.table != nil {
		s.TableStats = tableStats(pt.table)
	}
	for name, j := range pt.joins {
		s.Joined[name] = tableStats(j)
	}
	return s
}

func (pp *partitionProcessor) run(ctx context.Context) error {
	defer close(pp.stopped)
	pp.state.SetState(PPStateRecovering)
	if pp.txn != nil {
		if !pp.restartDelay(ctx) {
			return nil
		}
		// Before recovery: initializing the producer fences the previous
		// owner's and ends its transaction, whose records recovery
		// would otherwise wait for.
		if err := pp.openTxn(ctx); err != nil || ctx.Err() != nil {
			return err
		}
		if err := pp.dropCommittedReplay(ctx); err != nil || ctx.Err() != nil {
			return err
		}
	}
	for _, t := range pp.tables() {
		if err := t.Open(); err != nil {
			return fmt.Errorf("error setting up (partition=%d): %w", pp.partition, err)
		}
	}

	// Joined tables are recovered and then followed for as long as the
	// partition runs; the group table is only recovered.
	// joinFailed is closed by the first failure of a joined table, whose
	// error joins.Wait returns; it is also closed when ctx ends.
	joinCtx, cancelJoins := context.WithCancel(ctx)
	joins, joinFailedCtx := errgroup.WithContext(joinCtx)
	joinFailed := joinFailedCtx.Done()
	defer func() {
		cancelJoins()
		_ = joins.Wait() // an error was returned when it happened
	}()
	for _, j := range pp.joins {
		joins.Go(func() error {
			if err := j.Run(joinFailedCtx, true); err != nil {
				return fmt.Errorf("joined table %s/%d: %w", j.Topic(), j.Partition(), err)
			}
			return nil
		})
	}
	joinErr := func() error {
		if ctx.Err() != nil {
			return nil //nolint:nilerr // a stop: the joins ended on the cancel
		}
		return joins.Wait()
	}
	if pp.table != nil {
		if err := pp.table.Run(ctx, false); err != nil {
			return fmt.Errorf("error setting up (partition=%d): recovering: %w", pp.partition, err)
		}
	}
	for _, j := range pp.joins {
		select {
		case <-j.Recovered():
		case <-joinFailed:
			return joinErr()
		}
	}
	if err := pp.time.start(ctx); err != nil {
		return err
	}
	defer pp.time.stop()
	if ctx.Err() != nil {
		return nil
	}
	if pp.table != nil && !pp.table.IsRecovered() {
		return nil
	}

	pp.state.SetState(PPStateRunning)
	close(pp.recovered)
	defer pp.state.SetState(PPStateStopping)
	if err := pp.processReplay(ctx); err != nil {
		pp.abortOpenTxn(err)
		return err
	}

	flush := time.NewTicker(pp.opts.storageFlushInterval)
	defer flush.Stop()
	var commitC <-chan time.Time
	if pp.txn != nil {
		commitT := time.NewTicker(pp.opts.commitInterval)
		defer commitT.Stop()
		commitC = commitT.C
	}
	for {
		select {
		case <-ctx.Done():
			return pp.stop(ctx)
		case <-joinFailed:
			if err := joinErr(); err != nil {
				pp.abortOpenTxn(err)
				return err
			}
			return pp.stop(ctx) // ctx ended
		case <-commitC:
			if err := pp.commitTxn(ctx, false); err != nil {
				return err
			}
		case msg := <-pp.input:
			if err := pp.processBuffered(ctx, msg); err != nil {
				pp.abortOpenTxn(err)
				return err
			}
		case <-pp.unacked.Signal():
			pp.applyAcked()
		case <-pp.time.ackSignal():
			pp.time.applyAcked()
		case done := <-pp.time.fires():
			if pp.txn != nil {
				// Timers and punctuation write and emit in the
				// partition's transaction too.
				if err := pp.beginTxn(); err != nil {
					close(done)
					return err
				}
			}
			pp.time.fire(done)
		case v := <-pp.visits:
			pp.visit(ctx, v)
		case <-flush.C:
			pp.wcache.flush()
			if err := pp.flushTables(); err != nil {
				return err
			}
		}
	}
}

// stop ends a partition whose ctx ended: what it processed is committed
// (exactly-once) or acknowledged (at-least-once), and the storage flushed.
func (pp *partitionProcessor) stop(ctx context.Context) error {
	var err error
	if pp.txn != nil {
		err = pp.commitTxn(ctx, true)
	} else {
		pp.drain()
	}
	return errors.Join(err, pp.flushTables())
}

// processBuffered processes msg and then the messages already buffered,
// taken with non-blocking receives, much cheaper than the select of run; the
// bound drainBatch keeps visits, flushes and ctx served.
func (pp *partitionProcessor) processBuffered(ctx context.Context, msg *sarama.ConsumerMessage) error {
	for n := 1; ; n++ {
		if err := pp.process(ctx, msg); err != nil {
			return err
		}
		if n == drainBatch {
			return nil
		}
		select {
		case msg = <-pp.input:
		default:
			return nil
		}
	}
}

// drainTimeout bounds how long a stopping partition waits for the
// messages it processed to be acknowledged.
const drainTimeout = 10 * time.Second

// drain waits until every processed message is done, so that the final
// commit of the session covers them and the instance taking the partition
// over does not process them again. It gives up after drainTimeout (a
// DeferCommit function that is never called) or when the processor fails.
// Acknowledged table writes are applied meanwhile, and once more at the
// end: they are in Kafka, so local storage gets them whatever happens.
func (pp *partitionProcessor) drain() {
	pp.wcache.flush()
	defer pp.applyAcked()
	if pp.proc.outage.Down() {
		// No broker answers: nothing in flight can be acknowledged, and
		// no commit can reach Kafka. Waiting would only delay the stop.
		return
	}
	timeout := time.NewTimer(drainTimeout)
	defer timeout.Stop()
	if pp.waitInputsDone(timeout.C) || pp.proc.failure() != nil {
		return
	}
	pending := 0
	for _, in := range pp.inputs {
		pending += in.tracker.Pending()
	}
	pp.proc.log.Printf("goka: partition %d stopped with %d messages not acknowledged after %v; they will be processed again", pp.partition, pending, drainTimeout)
}

// waitInputsDone waits until every input message taken is done, applying
// acknowledged writes meanwhile. It returns false when stop fires (nil:
// never) or the processor fails first.
func (pp *partitionProcessor) waitInputsDone(stop <-chan time.Time) bool {
	for _, in := range pp.inputs {
		for idle := in.tracker.Idle(); idle != nil; {
			select {
			case <-idle:
				idle = nil
			case <-pp.unacked.Signal():
				pp.applyAcked()
			case <-pp.time.ackSignal():
				pp.time.applyAcked()
			case <-pp.proc.failed:
				return false
			case <-stop:
				return false
			}
		}
	}
	return true
}

// abortOpenTxn aborts the open transaction, if any, of a partition that
// ends with err.
func (pp *partitionProcessor) abortOpenTxn(err error) {
	if pp.txn != nil && pp.txn.open {
		_ = pp.abortTxn(err)
	}
}

// process runs the callback of one input message. The message is marked
// for commit once the callback returned and everything it produced is
// acknowledged, and only if all of that succeeded.
func (pp *partitionProcessor) process(ctx context.Context, msg *sarama.ConsumerMessage) error {
	in := pp.inputs[msg.Topic]
	if in == nil {
		return &MessageError{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset, Key: string(msg.Key),
			Err: fmt.Errorf("topic %q is not an input of group %q", msg.Topic, pp.graph.Group())}
	}
	pp.stats.countInput(msg.Topic, len(msg.Value), msg.Offset, in.hwm.Load(), msg.Timestamp)
	if pp.txn != nil {
		pp.txn.uncommitted = append(pp.txn.uncommitted, msg)
		if err := pp.beginTxn(); err != nil {
			return err
		}
		in.txnNext = msg.Offset + 1
		pp.txn.messages++
	}
	if msg.Value == nil && pp.opts.nilHandling == NilIgnore {
		in.tracker.Add(msg.Offset)
		pp.markDone(in.tracker, msg.Topic, msg.Offset)
		return nil
	}
	var value interface{}
	if msg.Value != nil || pp.opts.nilHandling == NilDecode {
		var err error
		value, err = in.codec.Decode(msg.Value)
		if err != nil {
			return &MessageError{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset, Key: string(msg.Key),
				Err: fmt.Errorf("decoding value with %T: %w", in.codec, err)}
		}
	}

	topic, offset, key := msg.Topic, msg.Offset, string(msg.Key)
	cctx := &cbContext{
		pp:         pp,
		ctx:        ctx,
		topic:      Stream(msg.Topic),
		key:        key,
		partition:  msg.Partition,
		offset:     msg.Offset,
		timestamp:  msg.Timestamp,
		rawHeaders: msg.Headers,
		tracker:    in.tracker,
	}
	in.tracker.Add(offset)
	span := pp.opts.obs.beginMessage(cctx, in.hwm.Load())
	pp.time.begin(cctx)
	err := pp.runCallback(in.cb, cctx, value)
	span.end(err)
	cctx.callbackReturned(err)
	if err != nil {
		return &MessageError{Topic: topic, Partition: pp.partition, Offset: offset, Key: key, Err: err}
	}
	return nil
}

// messageDone completes the input message of c: the processor fails with
// err, or the message is marked done for the commit.
func (pp *partitionProcessor) messageDone(c *cbContext, err error) {
	if err != nil {
		pp.proc.fail(&MessageError{Topic: string(c.topic), Partition: pp.partition, Offset: c.offset, Key: c.key, Err: err})
		return
	}
	pp.markDone(c.tracker, string(c.topic), c.offset)
}

func (pp *partitionProcessor) markDone(tracker *commit.Tracker, topic string, offset int64) {
	if next, ok := tracker.Done(offset); ok && pp.txn == nil {
		// Under exactly-once the offsets are committed in the
		// transaction instead (commitTxn).
		pp.session.MarkOffset(topic, pp.partition, next, "")
	}
}

// runCallback runs cb, turning a panic (including Context.Fail and Context
// misuse) into a *PanicError carrying the value and the stack.
func (pp *partitionProcessor) runCallback(cb ProcessCallback, cctx *cbContext, value interface{}) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if fe, ok := r.(*failError); ok {
				r = fe.err
			}
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	cb(pp.opts.contextWrapper(cctx), value)
	return nil
}

func (pp *partitionProcessor) visit(ctx context.Context, v *visitItem) {
	// A visit counts as done once its table writes are in local storage,
	// which this goroutine applies: finish the previous visit's writes
	// before starting the next one, so that a long visit does not hold
	// back the completion (and Get's view) of the one before, as in Goka.
	for pp.unacked.InFlight() > 0 {
		select {
		case <-pp.unacked.Signal():
			pp.applyAcked()
		case <-ctx.Done():
			return
		case <-pp.proc.failed:
			return
		}
	}
	if err := v.ctx.Err(); err != nil {
		return // VisitAll returned on the cancel and counts no more visits
	}
	done := v.done
	if pp.txn != nil {
		if err := pp.beginTxn(); err != nil {
			done(err)
			pp.proc.txnFailed(err)
			return
		}
		// A visit is done once its transaction committed.
		done = pp.deferVisit(done)
	}
	cctx := &cbContext{
		pp:        pp,
		ctx:       ctx,
		topic:     Stream(v.name),
		key:       v.key,
		partition: pp.partition,
		timestamp: time.Now(),
		done:      done,
	}
	err := pp.runCallback(v.cb, cctx, v.meta)
	cctx.callbackReturned(err)
	if err != nil {
		pp.proc.fail(fmt.Errorf("visitor %q, key %q (partition=%d): %w", v.name, v.key, pp.partition, err))
	}
}

func (pp *partitionProcessor) statsSnapshot() *PartitionProcStats {
	s := pp.statsWith(pp.stats.snapshot())
	if pp.txn != nil {
		s.Transactions = pp.txn.snapshot()
	}
	if pp.time != nil {
		s.LateMessages = pp.time.late.Load()
	}
	return s
}
