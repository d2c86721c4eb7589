package goka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/commit"
)

// Exactly-once, following Kafka Streams' exactly_once design with one
// transactional producer per task (here: per partition; KIP-98, KIP-129):
//
//   - A partition opens its own transactional producer, with the
//     transactional ID "<group>-<partition>", before it recovers its table.
//     Initializing it fences any earlier producer of that ID (an instance
//     that lost the partition while paused, a zombie) and aborts its open
//     transaction, so that recovery and the session's offset fetch
//     (read_committed, RequireStable) see only committed data.
//   - Every table write, emit and loopback of the partition's callbacks
//     goes through that producer into the partition's open transaction.
//     Every commit interval, and when the partition stops, the partition
//     stops taking messages, waits for the deferred commits of the
//     transaction, adds the input offsets with the session's group
//     metadata (so that the group coordinator refuses them from a member
//     of an old generation, KIP-447) and commits.
//   - The transaction's table writes reach local storage only after the
//     commit succeeded (they are visible to Context.Value meanwhile through
//     the partition's unacknowledged writes), together with the table
//     offset in the next storage flush: storage never holds what Kafka does
//     not, and after a crash only the tail is replayed.
//   - A failed transaction is aborted and its partition restarts on its
//     own, as Kafka Streams revives a corrupted task without rejoining its
//     group: a new producer of the same ID, which fences the old one and
//     ends its transaction; recovery from committed table state; then the
//     input messages of the aborted transaction again, which the partition
//     kept since its last commit (sarama's claims cannot seek back), less
//     those the group's committed offsets already cover (a commit whose
//     answer was lost may have succeeded). The other partitions go on. A
//     fenced producer or group member (the partition moved on), a failure
//     in an outage or while the partition stops, and too many restarts in
//     a row make the instance rejoin the group instead, so that every
//     partition resumes from committed offsets. A callback error stops the
//     processor, as under at-least-once; its transaction is aborted.

// maxTxnRejoins bounds how many transactions in a row may fail before the
// processor stops: a broker refusing every commit (authorization, a
// misconfigured transaction coordinator) would otherwise make it rejoin
// forever.
const maxTxnRejoins = 10

// maxTxnRestarts bounds how many times in a row a partition restarts on its
// own after an aborted transaction; the next failure makes the instance
// rejoin (and counts towards maxTxnRejoins).
const maxTxnRestarts = 5

// txnRestartBackoff is how much longer each further restart in a row of a
// partition waits before it creates its producer: the first restarts at
// once.
const txnRestartBackoff = 200 * time.Millisecond

// transactionalID is the transactional ID of a partition's producer.
func transactionalID(group Group, partition int32) string {
	return string(group) + "-" + strconv.Itoa(int(partition))
}

// partitionTxn is the transaction state of one partition under
// ExactlyOnce. The partition's goroutine owns every field but the ones
// marked otherwise.
type partitionTxn struct {
	id   string
	prod *producer
	// client is prod's client, for the committed offsets a restart
	// fetches; closed after prod.
	client sarama.Client
	meta   *sarama.ConsumerGroupMetadata
	// uncommitted are the input messages taken since the last commit, in
	// order: a restart after an abort processes them again.
	uncommitted []*sarama.ConsumerMessage

	open     bool
	began    time.Time
	messages int // input messages in the open transaction
	// writes are the acknowledged table writes of the open transaction,
	// applied to local storage when it commits.
	writes []ackedWrite
	// deferred counts the DeferCommit functions of the open transaction
	// not called yet (any goroutine).
	deferred commit.Counter
	// visitsMu guards visitDone: the completions of the transaction's
	// visits, reported once it committed or aborted; they complete on the
	// acknowledgement goroutine.
	visitsMu  sync.Mutex
	visitDone []visitResult
	// produceErr is the first produce error of the open transaction (any
	// goroutine); such a transaction cannot commit.
	produceErr atomic.Pointer[error]

	stats txnStats
}

type visitResult struct {
	done func(error)
	err  error
}

// txnStats count a partition's transactions; read by Stats from other
// goroutines.
type txnStats struct {
	mu         sync.Mutex
	commits    int64
	aborts     int64
	lastCommit time.Time
	sumLatency time.Duration
	maxLatency time.Duration
	lastErr    error
	restarts   int64
}

// TransactionStats are the transactions of a partition under ExactlyOnce:
// how many committed and aborted since the partition was assigned, and how
// long their commit took (adding the offsets, flushing the producer and
// ending the transaction). Not in Goka.
type TransactionStats struct {
	ID          string // the transactional ID
	Commits     int64
	Aborts      int64
	LastCommit  time.Time     // zero before the first commit
	AvgLatency  time.Duration // mean commit latency
	MaxLatency  time.Duration
	LastAbortBy string // the cause of the last abort, if any
	// Restarts counts the times the partition restarted on its own from
	// its last commit after an aborted transaction, without the instance
	// rejoining its group.
	Restarts int64
}

func (s *txnStats) committed(latency time.Duration, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	s.lastCommit = now
	s.sumLatency += latency
	s.maxLatency = max(s.maxLatency, latency)
}

func (s *txnStats) aborted(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aborts++
	s.lastErr = cause
}

// inherit carries the counts of o, the transactions of the partition
// processor a restart replaces, over to s, with one more restart.
func (s *txnStats) inherit(o *txnStats) {
	o.mu.Lock()
	c := txnStats{commits: o.commits, aborts: o.aborts, lastCommit: o.lastCommit, sumLatency: o.sumLatency,
		maxLatency: o.maxLatency, lastErr: o.lastErr, restarts: o.restarts + 1}
	o.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits, s.aborts, s.lastCommit, s.sumLatency = c.commits, c.aborts, c.lastCommit, c.sumLatency
	s.maxLatency, s.lastErr, s.restarts = c.maxLatency, c.lastErr, c.restarts
}

func (t *partitionTxn) snapshot() *TransactionStats {
	s := &t.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := &TransactionStats{ID: t.id, Commits: s.commits, Aborts: s.aborts, LastCommit: s.lastCommit, MaxLatency: s.maxLatency, Restarts: s.restarts}
	if s.commits > 0 {
		ts.AvgLatency = s.sumLatency / time.Duration(s.commits)
	}
	if s.lastErr != nil {
		ts.LastAbortBy = s.lastErr.Error()
	}
	return ts
}

// txnError is a transaction the partition could not commit: it was
// aborted, and the partition restarts or the instance rejoins the group.
type txnError struct {
	partition int32
	cause     error
}

func (e *txnError) Error() string {
	return fmt.Sprintf("partition %d: transaction aborted: %v", e.partition, e.cause)
}

func (e *txnError) Unwrap() []error { return []error{ErrTransactionAborted, e.cause} }

// openTxn creates the partition's transactional producer. Creating it
// initializes the producer ID with the transaction coordinator, which
// fences the previous producer of the ID. Sarama's constructor takes no
// context: it runs in a goroutine of the partition (pp.bg), and when ctx
// ends first, that goroutine closes the producer once it is built.
func (pp *partitionProcessor) openTxn(ctx context.Context) error {
	cfg := *pp.opts.txnConfig
	id := pp.txn.id
	cfg.ClientID = pp.opts.clientID + "-" + strconv.Itoa(int(pp.partition))
	cfg.Producer.Transaction.ID = id
	cfg.Producer.Partitioner = sarama.NewCustomHashPartitioner(pp.opts.hasher)
	var (
		prod   *producer
		client sarama.Client
		err    error
		done   = make(chan struct{})
	)
	pp.bg.Go(func() {
		prod, client, err = newTxnProducer(pp.proc.brokers, &cfg)
		close(done)
	})
	select {
	case <-done:
	case <-ctx.Done():
		pp.bg.Go(func() {
			<-done
			if prod != nil {
				_ = prod.Close()
				_ = client.Close()
			}
		})
		return nil
	}
	if err != nil {
		return &txnError{partition: pp.partition, cause: fmt.Errorf("initializing transactional producer %q: %w", id, err)}
	}
	pp.txn.prod, pp.txn.client = prod, client
	pp.producer = prod
	pp.txn.meta = &sarama.ConsumerGroupMetadata{
		GroupID:      string(pp.graph.Group()),
		GenerationID: pp.session.GenerationID(),
		MemberID:     pp.session.MemberID(),
	}
	if inst := cfg.Consumer.Group.InstanceId; inst != "" {
		pp.txn.meta.GroupInstanceID = &inst
	}
	return nil
}

// newTxnProducer creates a transactional producer on a client of its own,
// which the caller closes after the producer.
func newTxnProducer(brokers []string, cfg *sarama.Config) (*producer, sarama.Client, error) {
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("creating producer on %v: %w", brokers, err)
	}
	ap, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("creating producer on %v: %w", brokers, err), client.Close())
	}
	return wrapProducer(ap), client, nil
}

// beginTxn opens a transaction if none is open; sarama's BeginTxn is a
// local state change.
func (pp *partitionProcessor) beginTxn() error {
	t := pp.txn
	if t.open {
		return nil
	}
	if err := t.prod.producer.BeginTxn(); err != nil {
		return &txnError{partition: pp.partition, cause: fmt.Errorf("beginning transaction: %w", err)}
	}
	t.open = true
	t.began = time.Now()
	return nil
}

// commitTxn commits the open transaction. While it runs the partition
// takes no message, so the transaction holds exactly the messages
// processed since it began. It first waits for the transaction's deferred
// commits: until ctx ends when stopping is false (the caller then stops
// and commits again with stopping set), for up to drainTimeout otherwise.
func (pp *partitionProcessor) commitTxn(ctx context.Context, stopping bool) error {
	t := pp.txn
	if t == nil || !t.open {
		return nil
	}
	if c := pp.proc.coop; c != nil && pp.opts.cooperative() && !stopping {
		if _, _, rebalancing := c.generation(); rebalancing {
			return nil // a rebalance is in progress: see beginCommit below
		}
	}
	if stopping && pp.proc.outage.Down() {
		// No broker answers: nothing can commit. The producer is closed
		// with the transaction open; the coordinator aborts it when the
		// next owner of the partition initializes its producer.
		pp.abandonTxn(errors.New("no broker answers"))
		return nil
	}
	// The write cache's writes belong to this transaction.
	pp.wcache.flush()
	if !pp.waitDeferred(ctx, stopping) {
		if !stopping {
			return nil // ctx ended: the stop commits
		}
		return pp.abortTxn(fmt.Errorf("%d deferred commits not called after %v", t.deferred.N(), drainTimeout))
	}
	if perr := t.produceErr.Load(); perr != nil {
		return pp.abortTxn(*perr)
	}
	meta := t.meta
	release := func() {}
	if c := pp.proc.coop; c != nil && pp.opts.cooperative() {
		// The generation changes while the session lasts. Between this
		// member's JoinGroup and its new assignment the coordinator
		// refuses the old generation: the transaction stays open and
		// commits after the rebalance, as Kafka Streams does not commit
		// while a rebalance is in progress. A commit that began before
		// the JoinGroup holds it back until it is done (memberState), so
		// the generation cannot move under it.
		gen, member, ok := c.beginCommit()
		switch {
		case ok:
			release = c.endCommit
		case !stopping:
			return nil
		default:
			gen, member, _ = c.generation()
		}
		m := *meta
		m.GenerationID, m.MemberID = gen, member
		meta = &m
	}
	offsets := make(map[string][]*sarama.PartitionOffsetMetadata, len(pp.inputs))
	for topic, in := range pp.inputs {
		if in.txnNext > in.committedNext {
			offsets[topic] = []*sarama.PartitionOffsetMetadata{{Partition: pp.partition, Offset: in.txnNext, LeaderEpoch: -1}}
		}
	}
	began := time.Now()
	if len(offsets) > 0 {
		if err := t.prod.producer.AddOffsetsToTxnWithGroupMetadata(offsets, meta); err != nil {
			release()
			return pp.abortTxn(fmt.Errorf("adding offsets: %w", err))
		}
	}
	err := t.prod.producer.CommitTxn()
	release()
	if err != nil {
		return pp.abortTxn(fmt.Errorf("committing: %w", err))
	}
	now := time.Now()
	t.open = false
	for _, in := range pp.inputs {
		in.committedNext = in.txnNext
	}
	clear(t.uncommitted)
	t.uncommitted = t.uncommitted[:0]
	pp.restarts = 0
	// CommitTxn returned once every message of the transaction was
	// acknowledged; their promises complete on the acknowledgement
	// goroutine: wait for them, then apply the table writes.
	if err := pp.waitAcks(); err != nil {
		return err
	}
	pp.applyTxnWrites()
	if err := pp.time.applyCommitted(); err != nil {
		pp.proc.fail(fmt.Errorf("partition %d: applying the committed time store: %w", pp.partition, err))
	}
	t.stats.committed(now.Sub(began), now)
	pp.opts.obs.transaction(TransactionInfo{Group: pp.graph.Group(), Partition: pp.partition, Committed: true, Messages: t.messages, Duration: now.Sub(began)})
	t.messages = 0
	pp.proc.txnRejoins.Store(0)
	pp.finishVisits(nil)
	return nil
}

// waitDeferred waits until the transaction's deferred commits were called.
func (pp *partitionProcessor) waitDeferred(ctx context.Context, stopping bool) bool {
	idle := pp.txn.deferred.Idle()
	select {
	case <-idle:
		return true
	default:
	}
	var timeout <-chan time.Time
	done := ctx.Done()
	if stopping {
		tm := time.NewTimer(drainTimeout)
		defer tm.Stop()
		timeout, done = tm.C, nil
	}
	for {
		select {
		case <-idle:
			return true
		case <-pp.unacked.Signal():
			pp.applyAcked()
		case <-pp.time.ackSignal():
			pp.time.applyAcked()
		case <-done:
			return false
		case <-timeout:
			return false
		case <-pp.proc.failed:
			return false
		}
	}
}

// waitAcks waits until the promises of every message of the committed
// transaction completed, collecting the acknowledged table writes.
func (pp *partitionProcessor) waitAcks() error {
	if !pp.waitInputsDone(nil) {
		return pp.proc.failure()
	}
	// Visits, timers and punctuation are not input messages: their
	// writes are counted here.
	for pp.unacked.InFlight() > 0 || pp.time.inFlight() > 0 {
		select {
		case <-pp.unacked.Signal():
			pp.applyAcked()
		case <-pp.time.ackSignal():
			pp.time.applyAcked()
		case <-pp.proc.failed:
			return pp.proc.failure()
		}
	}
	pp.applyAcked()
	if pp.time != nil {
		pp.time.applyAcked()
	}
	return nil
}

// applyTxnWrites applies the committed transaction's table writes to
// local storage, in the order Kafka acknowledged them.
func (pp *partitionProcessor) applyTxnWrites() {
	t := pp.txn
	var offsets batchOffset
	for i, a := range t.writes {
		if err := pp.applyWrite(a); err != nil {
			// Kafka has the write; only this instance's copy is broken.
			pp.proc.fail(fmt.Errorf("partition %d: applying a committed transaction: %w", pp.partition, err))
		} else {
			offsets.add(pp, a)
		}
		t.writes[i] = ackedWrite{}
	}
	offsets.store(pp)
	t.writes = t.writes[:0]
}

// abortTxn aborts the open transaction after cause and returns the error
// that makes the instance rejoin. Its table writes never reach storage:
// the partition stops, and its unacknowledged writes with it.
func (pp *partitionProcessor) abortTxn(cause error) error {
	t := pp.txn
	if t.prod.producer.TxnStatus()&sarama.ProducerTxnFlagFatalError == 0 && !pp.proc.outage.Down() {
		if err := t.prod.producer.AbortTxn(); err != nil {
			cause = errors.Join(cause, fmt.Errorf("aborting: %w", err))
		}
	}
	pp.abandonTxn(cause)
	return &txnError{partition: pp.partition, cause: cause}
}

// abandonTxn gives the open transaction up after cause, without a request.
func (pp *partitionProcessor) abandonTxn(cause error) {
	t := pp.txn
	t.open = false
	t.writes = t.writes[:0]
	pp.time.dropUncommitted()
	t.stats.aborted(cause)
	pp.opts.obs.transaction(TransactionInfo{Group: pp.graph.Group(), Partition: pp.partition, Messages: t.messages, Duration: time.Since(t.began), Err: cause})
	t.messages = 0
	pp.finishVisits(fmt.Errorf("transaction aborted: %w", cause))
	pp.proc.log.Printf("goka: processor %q: partition %d: transaction %q aborted: %v", pp.graph.Group(), pp.partition, t.id, cause)
}

// produceFailed returns the error a failed produce completes its message
// with: under exactly-once none, since the transaction cannot commit, is
// aborted, and its messages are processed again; err otherwise.
func (pp *partitionProcessor) produceFailed(err error) error {
	if err == nil || pp.txn == nil {
		return err
	}
	pp.txn.produceErr.CompareAndSwap(nil, &err)
	return nil
}

// deferVisit holds the completion of a visit until its transaction ends.
func (pp *partitionProcessor) deferVisit(done func(error)) func(error) {
	t := pp.txn
	return func(err error) {
		t.visitsMu.Lock()
		t.visitDone = append(t.visitDone, visitResult{done: done, err: err})
		t.visitsMu.Unlock()
	}
}

// finishVisits reports the visits of the ended transaction: their own
// error, or txnErr if the transaction did not commit.
func (pp *partitionProcessor) finishVisits(txnErr error) {
	t := pp.txn
	t.visitsMu.Lock()
	visits := t.visitDone
	t.visitDone = nil
	t.visitsMu.Unlock()
	for _, v := range visits {
		err := v.err
		if err == nil {
			err = txnErr
		}
		v.done(err)
	}
}

// closeTxn closes the partition's producer; an open transaction is left to
// the coordinator, which aborts it when the ID is initialized again or
// after Producer.Transaction.Timeout.
func (pp *partitionProcessor) closeTxn() error {
	t := pp.txn
	if t == nil || t.prod == nil {
		return nil
	}
	if t.open {
		pp.abandonTxn(errors.New("partition stopped"))
	}
	err := t.prod.Close()
	if cerr := t.client.Close(); cerr != nil && !errors.Is(cerr, sarama.ErrClosedClient) {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("closing transactional producer %q: %w", t.id, err)
	}
	return nil
}

// txnFailed handles a partition that ended with a transaction error: the
// instance rejoins the group, unless too many transactions failed in a row.
func (p *Processor) txnFailed(err error) {
	if n := p.txnRejoins.Add(1); n > maxTxnRejoins {
		p.fail(fmt.Errorf("processor %q: %d transactions in a row failed: %w", p.graph.Group(), n, err))
		return
	}
	p.log.Printf("goka: processor %q: %v; rejoining the group", p.graph.Group(), err)
	p.sess.Cancel()
}

// fenceStale ends the open transactions that keep a consumer-group session
// from starting. Sarama fetches a session's offsets (read_committed, so
// with RequireStable) before Setup, where a partition initializes its
// producer, which is what ends the open transaction of a previous owner
// that crashed or was paused: until that transaction times out
// (Producer.Transaction.Timeout) every session would fail with
// sarama.ErrUnstableOffsetCommit. So after such a failure the processor
// initializes the producers of the partitions whose offsets are unstable,
// which fences their previous producers and aborts their transactions, as
// a new owner would (Kafka Streams creates a task's producer before it
// fetches the task's offsets). A live owner fenced this way rejoins.
//
// It returns the partitions it fenced, for the caller's fenceStreaks.
func (p *Processor) fenceStale(ctx context.Context) ([]int32, error) {
	type result struct {
		fenced []int32
		err    error
	}
	done := make(chan result, 1)
	p.bg.Go(func() {
		fenced, err := p.fenceStaleSync(ctx)
		done <- result{fenced, err}
	})
	select {
	case r := <-done:
		return r.fenced, r.err
	case <-ctx.Done():
		return nil, nil
	}
}

// hangingAfter is how many sessions in a row that fail on one partition's
// unstable offsets, each followed by a fence, make the processor warn of a
// hanging transaction.
const hangingAfter = 3

// fenceStreaks counts, per partition, the fences in a row, one after each
// session that failed on its unstable offsets. A fence aborts every
// transaction the coordinator knows of its transactional ID, so offsets
// that stay unstable through several point at a hanging transaction: one
// a partition holds open while the coordinator has ended it
// (KIP-664, KIP-890), which no producer can end and which keeps the last
// stable offset, and so read_committed readers, where it is.
type fenceStreaks map[int32]int

// observe records one fence of the partitions fenced and returns those
// whose streak just reached hangingAfter, or a further multiple of it, in
// order. A partition that was not fenced this time ends its streak.
func (f fenceStreaks) observe(fenced []int32) []int32 {
	var hanging []int32
	for part := range f {
		if !slices.Contains(fenced, part) {
			delete(f, part)
		}
	}
	for _, part := range fenced {
		f[part]++
		if f[part]%hangingAfter == 0 {
			hanging = append(hanging, part)
		}
	}
	slices.Sort(hanging)
	return hanging
}

func (p *Processor) fenceStaleSync(ctx context.Context) ([]int32, error) {
	cfg := *p.opts.txnConfig
	cfg.ClientID = p.opts.clientID + "-fence"
	client, err := sarama.NewClient(p.brokers, &cfg)
	if err != nil {
		return nil, fmt.Errorf("fencing stale transactions: %w", err)
	}
	defer func() { _ = client.Close() }()
	coord, err := client.Coordinator(string(p.graph.Group()))
	if err != nil {
		return nil, fmt.Errorf("fencing stale transactions: coordinator of group %q: %w", p.graph.Group(), err)
	}
	p.mu.RLock()
	n := p.numPartitions
	p.mu.RUnlock()
	parts := make([]int32, n)
	for i := range parts {
		parts[i] = int32(i)
	}
	req := make(map[string][]int32)
	for _, t := range p.consumedTopics() {
		req[t] = parts
	}
	fetch := sarama.NewOffsetFetchRequest(cfg.Version, string(p.graph.Group()), req)
	fetch.RequireStable = true
	resp, err := coord.FetchOffset(fetch)
	if err != nil {
		return nil, fmt.Errorf("fencing stale transactions: fetching offsets of group %q: %w", p.graph.Group(), err)
	}
	unstable := make(map[int32]bool)
	for _, blocks := range resp.Blocks {
		for part, b := range blocks {
			if b.Err == sarama.ErrUnstableOffsetCommit || resp.Err == sarama.ErrUnstableOffsetCommit {
				unstable[part] = true
			}
		}
	}
	var (
		errs   []error
		fenced []int32
	)
	for _, part := range slices.Sorted(maps.Keys(unstable)) {
		c := cfg
		c.Producer.Transaction.ID = transactionalID(p.graph.Group(), part)
		prod, err := newProducer(p.brokers, &c)
		if err != nil {
			errs = append(errs, fmt.Errorf("fencing transactional ID %q: %w", c.Producer.Transaction.ID, err))
			continue
		}
		_ = prod.Close()
		fenced = append(fenced, part)
		p.log.Printf("goka: processor %q: aborted the stale transaction of %q, whose offsets kept the session from starting", p.graph.Group(), c.Producer.Transaction.ID)
	}
	if len(fenced) > 0 {
		ids := make([]string, len(fenced))
		for i, part := range fenced {
			ids[i] = transactionalID(p.graph.Group(), part)
		}
		errs = append(errs, p.endHanging(ctx, cfg, ids))
	}
	return fenced, errors.Join(errs...)
}
