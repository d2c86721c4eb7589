package goka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"golang.org/x/sync/errgroup"

	"github.com/e3793d55/goka/internal/kafka"
	"github.com/e3793d55/goka/internal/table"
)

// Processor runs the callbacks of a group graph: it joins the consumer
// group named after the group, recovers the group table of each assigned
// partition and processes the partitions' messages, one goroutine per
// partition.
type Processor struct {
	brokers []string
	graph   *GroupGraph
	opts    *poptions
	log     Logger
	state   *Signal

	lookups map[string]*View

	// tablesClosing tracks the partition consumers of stopped standby
	// tables that are still closing (stopStandbys); closingMu guards
	// closingTables, which a table about to consume the same partition
	// waits for (tableClosed).
	tablesClosing sync.WaitGroup
	closingMu     sync.Mutex
	closingTables map[topicPartition]chan struct{}

	// changeMu serializes the changes of the partition sets: Setup,
	// Cleanup and the standby start and stop. It is held while partitions
	// stop and storages open, so nothing a callback can reach may take it.
	changeMu sync.Mutex
	// mu guards the fields below it. It is held only to read or swap
	// them, never while waiting for a goroutine or for I/O: Get, Stats and
	// VisitAll take it, and callbacks call those.
	mu         sync.RWMutex
	partitions map[int32]*partitionProcessor
	standby    map[int32]*standbyPartition
	// stopping are partitions revoked by a cooperative rebalance whose
	// processors have not closed their storages yet (cooperative.go).
	stopping map[int32]*partitionProcessor
	// lastActive are the partitions processed in lastGeneration (-1:
	// none), for the join metadata of the cooperative strategy; an eager
	// member keeps them after Cleanup.
	lastActive     []int32
	lastGeneration int32
	// rebalance is the last generation's assignment as reported, for
	// Stats (nil before the first).
	rebalance     *RebalanceInfo
	numPartitions int
	// changed is closed and replaced whenever partitions changes, so that
	// WaitForReady wakes up instead of polling.
	changed chan struct{}

	// Set in Run before any partition starts, read-only afterwards.
	tmgr     TopicManager
	producer Producer
	consumer sarama.Consumer

	started atomic.Bool
	runMu   sync.Mutex // guards cancel, err, failErr
	cancel  context.CancelFunc
	err     error
	failErr error
	failed  chan struct{} // closed by the first fail
	done    chan struct{} // closed when Run returned

	outage kafka.BrokerWatch // whether the brokers answer; see consume
	// sess cancels the running consumer-group session: the broker watch
	// ends it in an outage, a failed transaction to rejoin (txnFailed).
	sess kafka.SessionCancel
	// txnRejoins counts the transactions that failed since one last
	// committed (exactly-once).
	txnRejoins atomic.Int64
	// bg runs fenceStale's requests, which take no context; Run waits.
	bg sync.WaitGroup
	// coop is the cooperative strategy's state; nil with the eager one.
	coop *coop
}

// NewProcessor validates the group graph and the options and returns a
// processor. It does no network I/O: topics are checked and created by Run.
func NewProcessor(brokers []string, gg *GroupGraph, options ...ProcessorOption) (*Processor, error) {
	if gg == nil {
		return nil, errors.New("creating processor: nil group graph")
	}
	verr := gg.Validate()
	opts := new(poptions)
	opts.applyDefaults(gg)
	// Options run before an invalid graph is reported, as in Goka: the
	// tester of WithTester registers the graph and fails its test.
	for _, o := range options {
		o(opts, gg)
	}
	if verr != nil {
		return nil, fmt.Errorf("creating processor: %w", verr)
	}
	for _, hook := range opts.graphHooks {
		hook(gg)
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("creating processor of group %q: %w", gg.Group(), err)
	}
	opts.finishClients()
	if globalConfigCopy().Producer.RequiredAcks == sarama.NoResponse {
		return nil, fmt.Errorf("creating processor of group %q: Producer.RequiredAcks NoResponse is not supported: table writes must be acknowledged", gg.Group())
	}
	if len(brokers) == 0 && !opts.testerClientID {
		return nil, fmt.Errorf("creating processor of group %q: %w", gg.Group(), ErrNoBrokers)
	}

	p := &Processor{
		brokers:    brokers,
		graph:      gg,
		opts:       opts,
		log:        opts.log,
		state:      NewSignal(ProcStateIdle, ProcStateStarting, ProcStateSetup, ProcStateRunning, ProcStateStopping, ProcStateStopped),
		lookups:    make(map[string]*View),
		partitions: make(map[int32]*partitionProcessor),
		standby:    make(map[int32]*standbyPartition),
		stopping:   make(map[int32]*partitionProcessor),
		changed:    make(chan struct{}),

		lastGeneration: -1,
		failed:         make(chan struct{}),
		done:           make(chan struct{}),
	}
	for _, e := range gg.LookupTables() {
		v, err := NewView(brokers, Table(e.Topic()), e.Codec(),
			WithViewLogger(opts.log),
			WithViewHasher(opts.hasher),
			WithViewClientID(opts.clientID+"-lookup-"+e.Topic()),
			WithViewStorageBuilder(opts.builders.storage),
			WithViewConsumerSaramaBuilder(opts.builders.consumerSarama),
			WithViewTopicManagerBuilder(opts.builders.topicmgr),
			WithViewBackoffBuilder(opts.builders.backoff),
			WithViewCallback(opts.updateCallback),
			withViewObservers(opts.obs),
		)
		if err != nil {
			return nil, fmt.Errorf("creating lookup view of %q: %w", e.Topic(), err)
		}
		p.lookups[e.Topic()] = v
	}
	if err := p.setupCooperative(); err != nil {
		return nil, fmt.Errorf("creating processor of group %q: %w", gg.Group(), err)
	}
	return p, nil
}

// Graph returns the group graph of the processor.
func (p *Processor) Graph() *GroupGraph { return p.graph }

// StateReader returns the state of the processor.
func (p *Processor) StateReader() StateReader { return p.state }

// Recovered reports whether the processor is running with every assigned
// partition recovered.
func (p *Processor) Recovered() bool {
	// During a broker outage nothing is processed, whatever the state of
	// the partitions of the last session.
	if !p.state.IsState(ProcStateRunning) || p.outage.Down() {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, pp := range p.partitions {
		if !pp.state.IsState(PPStateRunning) {
			return false
		}
	}
	return true
}

// WaitForReady waits until the processor runs with every assigned
// partition recovered, or until it stopped.
func (p *Processor) WaitForReady() error {
	return p.WaitForReadyContext(context.Background())
}

// WaitForReadyContext is WaitForReady bounded by ctx; it returns ctx's
// error when ctx ends first.
func (p *Processor) WaitForReadyContext(ctx context.Context) error {
	for {
		running, stop := p.state.WaitForStateMinWithCleanup(ProcStateRunning)
		select {
		case <-running:
			stop()
		case <-p.done:
			stop()
			return nil
		case <-ctx.Done():
			stop()
			return ctx.Err()
		}
		if p.state.State() > ProcStateRunning {
			return nil
		}
		p.mu.RLock()
		changed := p.changed
		p.mu.RUnlock()
		ready := true
		for _, pp := range p.activePartitions() {
			select {
			case <-pp.recovered:
			case <-pp.stopped:
				ready = false
			case <-p.done:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if ready && p.state.IsState(ProcStateRunning) {
			return nil
		}
		// A rebalance came in between: wait for the next generation.
		select {
		case <-changed:
		case <-p.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Stop cancels Run. It panics if Run was not called, as Goka's does.
func (p *Processor) Stop() {
	p.runMu.Lock()
	cancel := p.cancel
	p.runMu.Unlock()
	if cancel == nil {
		panic("goka: Processor.Stop called before Run")
	}
	cancel()
}

// Done returns a channel closed when Run returned.
func (p *Processor) Done() <-chan struct{} { return p.done }

// Error returns the error Run returned, once it returned.
func (p *Processor) Error() error {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	return p.err
}

// isDone reports whether Run returned.
func (p *Processor) isDone() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// activePartitions returns the partitions this instance processes, in no
// particular order.
func (p *Processor) activePartitions() []*partitionProcessor {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Collect(maps.Values(p.partitions))
}

// partitionsChangedLocked wakes the waiters for a change of p.partitions.
// Callers hold p.mu for writing.
func (p *Processor) partitionsChangedLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// fail records the first fatal error and stops Run.
func (p *Processor) fail(err error) {
	p.runMu.Lock()
	if p.failErr == nil {
		p.failErr = err
		close(p.failed)
	}
	cancel := p.cancel
	p.runMu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (p *Processor) failure() error {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	return p.failErr
}

func (p *Processor) newTable(topic string, partition int32, mode PPRunMode) *partitionTable {
	cfg := tableConfig(topic, partition, p.opts.builders.storage, p.consumer, p.tmgr, p.opts.updateCallback, p.log, mode)
	cfg.BeforeConsume = func(ctx context.Context) error { return p.tableClosed(ctx, topicPartition{topic, partition}) }
	return table.New(p.opts.obs.withTableHooks(p.graph.Group(), cfg))
}

// topicPartition names a table partition.
type topicPartition struct {
	topic     string
	partition int32
}

// tableClosed waits until no stopped standby table's consumer of tp is
// still closing.
func (p *Processor) tableClosed(ctx context.Context, tp topicPartition) error {
	p.closingMu.Lock()
	ch := p.closingTables[tp]
	p.closingMu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run runs the processor until ctx is cancelled or an error occurs. It
// returns nil after a cancel and the error otherwise. Every goroutine Run
// starts has ended when it returns. Run can be called only once.
func (p *Processor) Run(ctx context.Context) (rerr error) {
	if !p.started.CompareAndSwap(false, true) {
		return fmt.Errorf("processor of group %q: %w", p.graph.Group(), ErrAlreadyRunning)
	}
	runCtx, cancel := context.WithCancel(ctx)
	p.runMu.Lock()
	p.cancel = cancel
	p.runMu.Unlock()
	defer func() {
		cancel()
		p.bg.Wait()
		if ferr := p.failure(); ferr != nil {
			rerr = errors.Join(ferr, rerr)
		}
		p.state.SetState(ProcStateStopped)
		p.opts.obs.processorStop(p)
		p.runMu.Lock()
		p.err = rerr
		p.runMu.Unlock()
		close(p.done)
	}()
	p.state.SetState(ProcStateStarting)
	p.opts.obs.processorRun(p)
	return p.run(runCtx)
}

func (p *Processor) run(ctx context.Context) (rerr error) {
	var cleanups []func() error
	defer func() {
		p.state.SetState(ProcStateStopping)
		var errs []error
		for i := len(cleanups) - 1; i >= 0; i-- {
			errs = append(errs, cleanups[i]())
		}
		rerr = errors.Join(append([]error{rerr}, errs...)...)
	}()

	tmgr, err := p.opts.builders.topicmgr(p.brokers)
	if err != nil {
		return fmt.Errorf("processor %q: %w", p.graph.Group(), err) // the builders name the topic manager
	}
	cleanups = append(cleanups, tmgr.Close)
	p.tmgr = tmgr

	n, err := p.prepareTopics(ctx)
	if ctx.Err() != nil {
		return nil // a cancelled ctx is a clean stop, as below
	}
	if err != nil {
		return err
	}
	// Get reads the partition count from other goroutines under mu.
	p.mu.Lock()
	p.numPartitions = n
	p.mu.Unlock()

	if !p.opts.exactlyOnce() { // under exactly-once each partition has its own
		producer, err := p.opts.builders.producer(p.brokers, p.opts.clientID, p.opts.hasher)
		if err != nil {
			return fmt.Errorf("processor %q: creating producer: %w", p.graph.Group(), err)
		}
		cleanups = append(cleanups, producer.Close)
		p.producer = producer
	}

	consumer, err := p.opts.builders.consumerSarama(p.brokers, p.opts.clientID)
	if err != nil {
		return fmt.Errorf("processor %q: creating consumer: %w", p.graph.Group(), err)
	}
	cleanups = append(cleanups, func() error {
		p.tablesClosing.Wait() // stopped standby tables' partition consumers
		return consumer.Close()
	})
	p.consumer = consumer

	if err := p.runLookups(ctx, &cleanups); err != nil || ctx.Err() != nil {
		return err
	}

	cleanups = append(cleanups, p.stopStandby)
	if err := p.prepareStandby(ctx); err != nil || ctx.Err() != nil {
		return err
	}

	cg, err := p.opts.builders.consumerGroup(p.brokers, string(p.graph.Group()), p.opts.clientID)
	if err != nil {
		return fmt.Errorf("processor %q: creating consumer group: %w", p.graph.Group(), err)
	}
	var errWG sync.WaitGroup
	errWG.Add(1)
	go func() {
		defer errWG.Done()
		for err := range cg.Errors() {
			p.log.Printf("goka: processor %q: consumer group: %v", p.graph.Group(), err)
		}
	}()
	cleanups = append(cleanups, func() error {
		err := cg.Close()
		errWG.Wait()
		return err
	})

	return p.consume(ctx, cg)
}

// consume runs consumer-group sessions until ctx ends. Sessions follow each
// other without a pause (Goka sleeps 5 s); only errors back off, and not
// after a session that was set up: losing a session (e.g. its coordinator
// restarted) is not a failure to join. A broker watch runs alongside: when
// no broker answers, it shows the outage, ends the session (whose
// heartbeats fail anyway) and the next one starts when a broker answers
// again, without backoff; after the outage timeout it stops the processor.
func (p *Processor) consume(ctx context.Context, cg sarama.ConsumerGroup) error {
	backoff, err := p.opts.builders.backoff()
	if err != nil {
		return fmt.Errorf("processor %q: creating backoff: %w", p.graph.Group(), err)
	}
	topics := p.consumedTopics()
	// The handler gets Run's ctx, not a session's: standby partitions
	// started between sessions live as long as Run.
	h := &groupHandler{p: p, ctx: ctx}
	h.clock.begin()
	sess := &p.sess
	stopWatch := p.watchBrokers(ctx, sess)
	defer stopWatch()
	if p.coop != nil {
		var keeper sync.WaitGroup
		kctx, stop := context.WithCancel(ctx)
		keeper.Go(func() { p.keepStandbys(kctx) })
		defer keeper.Wait()
		defer stop()
	}
	// failingSince is when the sessions began to fail one after another
	// without one being set up; zero while they do not. Sessions failing
	// for longer than the broker-outage timeout end Run, as Goka's first
	// failing session does: the broker watch only sees brokers that do not
	// accept connections, not ones that fail every request.
	var failingSince time.Time
	// streaks counts the fences of stale transactions that did not help
	// (exactly-once); a session that was set up ends them.
	streaks := fenceStreaks{}
	for {
		if p.outage.Down() {
			select {
			case <-ctx.Done():
				return nil
			case <-p.outage.WaitBack():
			}
		}
		sctx := sess.Start(ctx)
		if p.outage.Down() {
			// The outage began before the session could be cancelled.
			sess.EndForOutage()
		}
		began, setups := time.Now(), h.setups.Load()
		err := cg.Consume(sctx, topics, h)
		sess.Cancel()
		// A failure is reported by Run, and a cancelled ctx is a clean stop:
		// the session error is a consequence of either.
		if ferr := p.failure(); ferr != nil {
			return p.outageCause(ferr)
		}
		if ctx.Err() != nil {
			return nil //nolint:nilerr // see above
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return fmt.Errorf("processor %q: %w", p.graph.Group(), err)
		}
		// Between sessions nothing is processed: Setup sets Running again.
		p.state.SetState(ProcStateSetup)
		if p.opts.exactlyOnce() && errors.Is(err, sarama.ErrUnstableOffsetCommit) {
			fenced, ferr := p.fenceStale(ctx)
			if ferr != nil {
				p.log.Printf("goka: processor %q: %v", p.graph.Group(), ferr)
			}
			for _, part := range streaks.observe(fenced) {
				p.log.Printf("goka: processor %q: the unstable offsets of partition %d kept %d sessions in a row from starting, though the transaction of %q was aborted after each: Kafka may hold a hanging transaction on a partition it wrote (one its coordinator ended without writing its marker there, which no producer can end; kafka-transactions.sh find-hanging lists it) that the processor could not end yet (it waits until the transaction is older than Producer.Transaction.Timeout, ends it as the coordinator's log __transaction_state says it was decided, needs CLUSTER_ACTION, DESCRIBE_CONFIGS, READ on __transaction_state and a SASL mechanism other than GSSAPI, and commits only on leaders that verify transactional writes: Kafka 3.6 or later with transaction.partition.verification.enable). Do not abort it unchecked: those a broker restart left in our tests had been committed, and aborting them made their inputs be processed twice",
					p.graph.Group(), part, streaks[part], transactionalID(p.graph.Group(), part))
			}
			backoff.Reset()
			continue
		}
		outage := sess.EndedForOutage()
		if err == nil || outage || h.setups.Load() > setups {
			// A rebalance, a session ended by the broker watch, or a
			// session lost after it was set up.
			failingSince = time.Time{}
			if h.setups.Load() > setups {
				clear(streaks)
			}
			backoff.Reset()
			if err != nil && !outage {
				p.log.Printf("goka: processor %q: consumer group session ended: %v; rejoining", p.graph.Group(), err)
			}
			continue
		}
		if failingSince.IsZero() {
			failingSince = began
		} else if d := p.opts.brokerOutageTimeout; d > 0 && time.Since(failingSince) > d {
			return fmt.Errorf("processor %q: consumer group sessions failed for %v (WithBrokerOutageTimeout %v): %w",
				p.graph.Group(), time.Since(failingSince).Round(time.Second), d, err)
		}
		if time.Since(began) > p.opts.backoffResetTime {
			backoff.Reset()
		}
		wait := backoff.Duration()
		p.log.Printf("goka: processor %q: consumer group session ended: %v; retrying in %v", p.graph.Group(), err, wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func (p *Processor) consumedTopics() []string {
	topics := p.graph.InputStreams().Topics()
	if loop := p.graph.LoopStream(); loop != nil {
		topics = append(topics, loop.Topic())
	}
	return topics
}

// prepareTopics checks that inputs and joins exist and are copartitioned,
// and creates the loop and table topics if they are missing. It returns the
// number of partitions.
func (p *Processor) prepareTopics(ctx context.Context) (int, error) {
	var (
		n     = -1
		first string
	)
	check := append(p.graph.InputStreams().Topics(), p.graph.JointTables().Topics()...)
	for _, topic := range check {
		parts, err := kafka.WhileNotFound(ctx, func() ([]int32, error) { return topicPartitions(ctx, p.tmgr, topic) })
		if err != nil {
			return 0, fmt.Errorf("processor %q: topic %q: %w", p.graph.Group(), topic, err)
		}
		if err := kafka.CheckPartitionIDs(topic, parts); err != nil {
			return 0, fmt.Errorf("processor %q: %w", p.graph.Group(), err)
		}
		if n == -1 {
			n, first = len(parts), topic
			continue
		}
		if len(parts) != n {
			return 0, fmt.Errorf("processor %q: %w: topic %q has %d partitions, topic %q has %d",
				p.graph.Group(), ErrNotCopartitioned, first, n, topic, len(parts))
		}
	}
	if loop := p.graph.LoopStream(); loop != nil {
		if err := ensureStream(ctx, p.tmgr, loop.Topic(), n); err != nil {
			return 0, fmt.Errorf("processor %q: loop topic: %w", p.graph.Group(), err)
		}
	}
	if table := p.graph.GroupTable(); table != nil {
		if err := ensureTable(ctx, p.tmgr, table.Topic(), n); err != nil {
			return 0, fmt.Errorf("processor %q: table topic: %w", p.graph.Group(), err)
		}
	}
	if err := p.ensureTimeStore(ctx, n); err != nil {
		return 0, err
	}
	return n, nil
}

// runLookups starts the lookup views and waits until all are recovered.
func (p *Processor) runLookups(ctx context.Context, cleanups *[]func() error) error {
	if len(p.lookups) == 0 {
		return nil
	}
	viewCtx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(viewCtx)
	for name, v := range p.lookups {
		g.Go(func() error {
			err := v.Run(gctx)
			if err != nil {
				err = fmt.Errorf("lookup table %q: %w", name, err)
				p.fail(fmt.Errorf("processor %q: %w", p.graph.Group(), err))
			}
			return err
		})
	}
	*cleanups = append(*cleanups, func() error {
		cancel()
		_ = g.Wait() // reported through p.fail
		return nil
	})
	for _, v := range p.lookups {
		select {
		case <-v.WaitRunning():
		case <-gctx.Done():
			if ctx.Err() != nil {
				return nil //nolint:nilerr // a stop, not a lookup failure
			}
			return g.Wait() // the first lookup error; the others stop on gctx
		}
	}
	return nil
}

// Get returns the value of key in the group table, read from the local
// storage of the partition holding key. It fails with an error wrapping
// ErrPartitionNotHeld if this instance does not hold that partition (neither
// active nor, with WithHotStandby, passive), and with ErrNotRunning before
// Run has set up the topics and after Run returned.
func (p *Processor) Get(key string) (interface{}, error) {
	table := p.graph.GroupTable()
	if table == nil {
		return nil, fmt.Errorf("processor %q: %w", p.graph.Group(), ErrStateless)
	}
	p.mu.RLock()
	n := p.numPartitions
	var (
		part int32
		pt   *partitionTable
	)
	if n > 0 {
		part = kafka.PartitionOf(p.opts.hasher, key, n)
		if pp, ok := p.partitions[part]; ok {
			pt = pp.table
		} else if sb, ok := p.standby[part]; ok {
			pt = sb.table
		}
	}
	p.mu.RUnlock()
	if n <= 0 || p.isDone() {
		// Before Run set up the topics, or after it returned: a caller
		// must be able to tell "stopped" from "ask another instance".
		return nil, fmt.Errorf("processor %q: %w", p.graph.Group(), ErrNotRunning)
	}
	if pt == nil {
		return nil, fmt.Errorf("this processor does not contain partition %d: %w", part, ErrPartitionNotHeld)
	}
	data, err := pt.Get(key)
	if errors.Is(err, ErrNotRunning) && !p.isDone() {
		// The partition's storage closed under us: a rebalance is taking
		// the partition away, so another instance will serve it.
		return nil, fmt.Errorf("partition %d is being released by this processor: %w", part, ErrPartitionNotHeld)
	}
	if err != nil {
		return nil, fmt.Errorf("processor %q: get %q: %w", p.graph.Group(), key, err)
	}
	if data == nil {
		return nil, nil
	}
	v, err := table.Codec().Decode(data)
	if err != nil {
		return nil, fmt.Errorf("processor %q: decoding value of %q: %w", p.graph.Group(), key, err)
	}
	return v, nil
}

// Stats returns the statistics of the processor.
func (p *Processor) Stats() *ProcessorStats {
	return p.StatsWithContext(context.Background())
}

// StatsWithContext returns the statistics of the processor. ctx is
// accepted for Goka compatibility: collecting the statistics does no I/O
// and does not wait, so nothing here needs bounding.
func (p *Processor) StatsWithContext(ctx context.Context) *ProcessorStats {
	s := &ProcessorStats{Group: map[int32]*PartitionProcStats{}, Lookup: map[string]*ViewStats{}}
	p.mu.RLock()
	for part, pp := range p.partitions {
		s.Group[part] = pp.statsSnapshot()
	}
	for part, sb := range p.standby {
		st := sb.statsWith(map[string]*InputStats{}, map[string]*OutputStats{})
		st.Standby = true
		st.StandbyLag, _ = sb.lag()
		s.Group[part] = st
	}
	p.mu.RUnlock()
	for name, v := range p.lookups {
		s.Lookup[name] = v.Stats(ctx)
	}
	s.Brokers = brokerStats(&p.outage)
	s.Assignment = p.assignmentStats()
	return s
}

// rebalancedTo records r, this member's assignment of a new generation,
// for Stats and reports it to the rebalance observers.
func (p *Processor) rebalancedTo(r RebalanceInfo) {
	p.mu.Lock()
	p.rebalance = &r
	p.mu.Unlock()
	p.opts.obs.rebalancedTo(r)
}

// assignmentStats returns the last assignment, nil before the first.
func (p *Processor) assignmentStats() *AssignmentStats {
	p.mu.RLock()
	r := p.rebalance
	p.mu.RUnlock()
	if r == nil {
		return nil
	}
	a := &AssignmentStats{
		Generation: r.Generation, MemberID: r.MemberID, Cooperative: r.Cooperative,
		Active: slices.Clone(r.Assigned), Added: slices.Clone(r.Added), Revoked: slices.Clone(r.Revoked),
		Incoming: slices.Clone(r.Incoming), Standby: slices.Clone(r.Standby), Warmup: slices.Clone(r.Warmup),
		ProbeAfter: r.ProbeAfter, Duration: r.Duration,
	}
	if p.coop != nil {
		_, _, a.Rebalancing = p.coop.generation()
	}
	return a
}

// watchBrokers runs the processor's broker watch until the returned
// function is called, which waits for it. An outage moves a running
// processor to ProcStateSetup and ends its session; one that lasts the
// outage timeout stops the processor with an error naming the brokers.
func (p *Processor) watchBrokers(ctx context.Context, sess *kafka.SessionCancel) (stop func()) {
	if p.opts.testerClientID || len(p.brokers) == 0 {
		return func() {} // the tester has no brokers to probe
	}
	var began time.Time
	return p.outage.Go(ctx, p.brokers, p.opts.brokerOutageTimeout, func(down bool) {
		if !down {
			p.log.Printf("goka: processor %q: brokers reachable again after %v", p.graph.Group(), time.Since(began).Round(time.Millisecond))
			return
		}
		began = time.Now()
		p.log.Printf("goka: processor %q: none of the brokers %v answers: %s; riding out the outage for %v",
			p.graph.Group(), p.brokers, p.outage.Stats().LastError, p.opts.brokerOutageTimeout)
		// consume sets Setup again after the session ends, and the next
		// session's Setup sets Running.
		if p.state.IsState(ProcStateRunning) {
			p.state.SetState(ProcStateSetup)
		}
		sess.EndForOutage()
	}, func(err error) { p.fail(fmt.Errorf("processor %q: %w", p.graph.Group(), err)) })
}

// outageCause returns, for a processor that failed while no broker
// answered, the outage error, so that Run names the brokers even when a
// request sarama gave up on failed first; nil otherwise (Run reports the
// failure itself).
func (p *Processor) outageCause(failure error) error {
	if errors.Is(failure, ErrBrokerUnreachable) {
		return nil
	}
	if oerr := p.outage.OutageError(p.brokers, time.Nanosecond, time.Now()); oerr != nil {
		return fmt.Errorf("processor %q: failed during an outage: %w", p.graph.Group(), oerr)
	}
	return nil
}
