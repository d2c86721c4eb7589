package goka

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"golang.org/x/sync/errgroup"

	"github.com/e3793d55/goka/internal/kafka"
	"github.com/e3793d55/goka/internal/table"
	"github.com/e3793d55/goka/storage"
)

// ViewState is the state of a view.
type ViewState int

// States of a view: Idle before Run and after it, Initializing while it
// opens its storages, Connecting while it connects, CatchUp while it
// recovers, Running once every partition is recovered.
const (
	ViewStateIdle ViewState = iota
	ViewStateInitializing
	ViewStateConnecting
	ViewStateCatchUp
	ViewStateRunning
)

// Iterator iterates over the keys and decoded values of a view in key
// order.
type Iterator interface {
	// Next advances the iterator; it returns false when exhausted.
	Next() bool
	// Err returns the error that stopped the iteration, if any.
	Err() error
	// Key returns the current key.
	Key() string
	// Value returns the current value, decoded.
	Value() (interface{}, error)
	// Release frees the iterator.
	Release()
	// Seek moves the iterator so that Next returns the first key >= key.
	Seek(key string) bool
}

// Getter reads a value by key; Processor.Get and View.Get are Getters.
type Getter func(string) (interface{}, error)

// View is a local copy of a whole table topic that follows its updates.
type View struct {
	brokers []string
	topic   string
	codec   Codec
	opts    *voptions
	log     Logger
	state   *Signal

	started atomic.Bool
	running chan struct{}

	mu         sync.RWMutex
	partitions []*partitionTable
	cancel     context.CancelFunc
	done       chan struct{}

	outage kafka.BrokerWatch // whether the brokers answer; see Run
}

// NewView returns a view of topic whose values codec decodes. It does no
// network I/O: Run connects.
func NewView(brokers []string, topic Table, codec Codec, options ...ViewOption) (*View, error) {
	if topic == "" {
		return nil, errors.New("creating view: empty table name")
	}
	if codec == nil {
		return nil, fmt.Errorf("creating view of %q: codec is nil", topic)
	}
	opts := new(voptions)
	opts.applyDefaults(topic)
	for _, o := range options {
		o(opts, topic, codec)
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("creating view of %q: %w", topic, err)
	}
	opts.finishReadCommitted()
	// Logged here rather than in the option so that it reaches the logger
	// the options chose, whatever their order.
	if opts.restartable {
		opts.log.Printf("goka: WithViewRestartable is deprecated, use WithViewAutoReconnect")
	}
	return &View{
		brokers: brokers,
		topic:   string(topic),
		codec:   codec,
		opts:    opts,
		log:     opts.log,
		state:   NewSignal(State(ViewStateIdle), State(ViewStateInitializing), State(ViewStateConnecting), State(ViewStateCatchUp), State(ViewStateRunning)),
		running: make(chan struct{}),
		done:    make(chan struct{}),
	}, nil
}

// default view storage paths in use by this process, so that two views of
// one table do not fight over one LevelDB directory: Goka's views share
// /tmp/goka/view, and the second one fails on the LevelDB lock.
var (
	viewPathsMu sync.Mutex
	viewPaths   = map[string]bool{}
)

func acquireViewPath(topic string) (string, func()) {
	viewPathsMu.Lock()
	defer viewPathsMu.Unlock()
	base := DefaultViewStoragePath()
	path := base
	for i := 1; viewPaths[path+"\x00"+topic]; i++ {
		path = filepath.Join(base, "instance-"+strconv.Itoa(i))
	}
	viewPaths[path+"\x00"+topic] = true
	return path, func() {
		viewPathsMu.Lock()
		defer viewPathsMu.Unlock()
		delete(viewPaths, path+"\x00"+topic)
	}
}

// Topic returns the table topic of the view.
func (v *View) Topic() string { return v.topic }

// Partitions returns the partitions of the table topic, in order. It is
// empty until Run has connected: the constructor does no network I/O.
func (v *View) Partitions() []int32 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]int32, 0, len(v.partitions))
	for _, p := range v.partitions {
		out = append(out, p.Partition())
	}
	return out
}

// CurrentState returns the state of the view.
func (v *View) CurrentState() ViewState { return ViewState(v.state.State()) }

// ObserveStateChanges returns an observer of the view's state; its values
// are ViewStates converted to State.
func (v *View) ObserveStateChanges() *StateChangeObserver { return v.state.ObserveStateChange() }

// WaitRunning returns a channel closed once the view is running for the
// first time.
func (v *View) WaitRunning() <-chan struct{} { return v.running }

// Recovered reports whether every partition is recovered.
func (v *View) Recovered() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if len(v.partitions) == 0 {
		return false
	}
	for _, p := range v.partitions {
		if !p.IsRecovered() {
			return false
		}
	}
	return true
}

// Close stops Run and waits until it returned. Closing a view that never
// ran does nothing.
func (v *View) Close() error {
	v.mu.RLock()
	cancel := v.cancel
	v.mu.RUnlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-v.done
	return nil
}

// Run recovers every partition of the table and then follows the table
// until ctx is cancelled (nil) or an error occurs. With
// WithViewAutoReconnect it retries after connection errors. When none of
// the brokers answers, the view stops its consumers and shows
// ViewStateConnecting until a broker answers again, then reconnects; after
// WithViewBrokerOutageTimeout without a broker (and without
// WithViewAutoReconnect) Run returns an error wrapping ErrBrokerUnreachable.
// A view runs only once.
func (v *View) Run(ctx context.Context) (rerr error) {
	if !v.started.CompareAndSwap(false, true) {
		return fmt.Errorf("view of %q: %w", v.topic, ErrAlreadyRunning)
	}
	ctx, cancel := context.WithCancel(ctx)
	v.mu.Lock()
	v.cancel = cancel
	v.mu.Unlock()
	defer func() {
		cancel()
		v.state.SetState(State(ViewStateIdle))
		v.opts.obs.viewStop(v)
		close(v.done)
	}()
	v.state.SetState(State(ViewStateInitializing))
	v.opts.obs.viewRun(v)

	builder := v.opts.builders.storage
	if builder == nil {
		path, release := acquireViewPath(v.topic)
		defer release()
		builder = storage.DefaultBuilder(path)
	}

	backoff, err := v.opts.builders.backoff()
	if err != nil {
		return fmt.Errorf("view of %q: creating backoff: %w", v.topic, err)
	}
	defer func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, p := range v.partitions {
			rerr = errors.Join(rerr, p.Close())
		}
	}()
	attempt := new(kafka.SessionCancel)
	watchErr, stopWatch := v.watchBrokers(ctx, attempt)
	defer stopWatch()
	for {
		if v.outage.Down() {
			v.state.SetState(State(ViewStateConnecting))
			select {
			case <-ctx.Done():
				return nil
			case err := <-watchErr:
				return fmt.Errorf("view of %q: %w", v.topic, err)
			case <-v.outage.WaitBack():
			}
		}
		began := time.Now()
		actx := attempt.Start(ctx)
		err := v.runOnce(actx, builder)
		attempt.Cancel()
		if ctx.Err() != nil {
			return nil
		}
		select {
		case werr := <-watchErr:
			return fmt.Errorf("view of %q: %w", v.topic, werr)
		default:
		}
		if attempt.EndedForOutage() {
			// Ended by the broker watch: reconnect once a broker answers.
			continue
		}
		if err == nil {
			return nil
		}
		if !v.opts.autoreconnect {
			return err
		}
		// A lost broker often fails the consumers before the watch's next
		// probe: wait until a broker accepts a connection, so that a
		// reconnect does not start (and block in sarama's retries, which
		// take no context) during an outage.
		for !v.opts.testerClientID && len(v.brokers) > 0 {
			if _, perr := kafka.ProbeBrokers(ctx, v.brokers, 0); perr == nil {
				break
			}
			v.state.SetState(State(ViewStateConnecting))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(kafka.ProbeInterval):
			}
		}
		if time.Since(began) > v.opts.backoffResetTime {
			backoff.Reset()
		}
		wait := backoff.Duration()
		v.log.Printf("goka: view of %q: %v; reconnecting in %v", v.topic, err, wait)
		v.state.SetState(State(ViewStateConnecting))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// runOnce connects, opens the storages on first use, recovers and follows
// every partition until ctx ends or a partition fails.
func (v *View) runOnce(ctx context.Context, builder storage.Builder) (rerr error) {
	v.state.SetState(State(ViewStateConnecting))
	tmgr, err := v.opts.builders.topicmgr(v.brokers)
	if err != nil {
		return fmt.Errorf("view of %q: %w", v.topic, err) // the builders name the topic manager
	}
	defer func() { rerr = errors.Join(rerr, tmgr.Close()) }()
	parts, err := v.waitForTopic(ctx, tmgr)
	if err != nil {
		return fmt.Errorf("view of %q: %w", v.topic, err)
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := kafka.CheckPartitionIDs(v.topic, parts); err != nil {
		return fmt.Errorf("view of %q: %w", v.topic, err)
	}
	consumer, err := v.opts.builders.consumerSarama(v.brokers, v.opts.clientID)
	if err != nil {
		return fmt.Errorf("view of %q: creating consumer: %w", v.topic, err)
	}
	defer func() { rerr = errors.Join(rerr, consumer.Close()) }()

	if err := v.openPartitions(len(parts), builder, consumer, tmgr); err != nil {
		return err
	}
	v.state.SetState(State(ViewStateCatchUp))

	// The first partition error cancels the others (gctx) and is what
	// group.Wait returns; a cancelled ctx is a stop.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	group, gctx := errgroup.WithContext(runCtx)
	for _, p := range v.partitions {
		group.Go(func() error { return p.Run(gctx, true) })
	}
	failed := func() error {
		if ctx.Err() != nil {
			return nil //nolint:nilerr // a stop
		}
		return fmt.Errorf("view of %q: %w", v.topic, group.Wait())
	}
	// Runs after group.Wait: the partition consumers closing in the
	// background must be done before the consumer closes.
	defer func() {
		for _, p := range v.partitions {
			p.WaitClosed()
		}
	}()
	defer func() { _ = group.Wait() }() // its error was returned by failed
	defer cancel()

	for _, p := range v.partitions {
		select {
		case <-p.Recovered():
		case <-gctx.Done():
			return failed()
		}
	}
	if ctx.Err() != nil {
		// Run's broker watch ended this attempt: it is not running.
		return nil
	}
	v.state.SetState(State(ViewStateRunning))
	select {
	case <-v.running:
	default:
		close(v.running)
	}
	<-gctx.Done()
	return failed()
}

// topicPollInterval is how often waitForTopic asks for a missing topic.
const topicPollInterval = 250 * time.Millisecond

// waitForTopic returns the partitions of the view's topic, waiting up to
// the TopicWait option for a topic that does not exist yet. It returns
// nil, nil when ctx ends first.
func (v *View) waitForTopic(ctx context.Context, tmgr TopicManager) ([]int32, error) {
	began := time.Now()
	deadline := began.Add(v.opts.topicWait)
	logged := false
	for {
		parts, err := topicPartitions(ctx, tmgr, v.topic)
		if ctx.Err() != nil {
			return nil, nil //nolint:nilerr // the wait ended on a stop: nil, nil as documented
		}
		if err == nil || !errors.Is(err, ErrTopicNotFound) {
			return parts, err
		}
		if !time.Now().Before(deadline) {
			if v.opts.topicWait == 0 {
				return nil, err
			}
			return nil, fmt.Errorf("%w (waited %v for it to be created)", err, time.Since(began).Round(time.Millisecond))
		}
		if !logged {
			logged = true
			v.log.Printf("goka: view of %q: topic does not exist yet; waiting up to %v for it to be created", v.topic, v.opts.topicWait)
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(topicPollInterval):
		}
	}
}

// openPartitions creates and opens the partition tables the first time and
// hands them the new consumer and topic manager on reconnects.
func (v *View) openPartitions(n int, builder storage.Builder, consumer sarama.Consumer, tmgr TopicManager) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.partitions != nil {
		if len(v.partitions) != n {
			return fmt.Errorf("view of %q: partition count changed from %d to %d", v.topic, len(v.partitions), n)
		}
		for _, p := range v.partitions {
			p.Rebind(consumer, tableOffsets{tmgr})
		}
		return nil
	}
	parts := make([]*partitionTable, 0, n)
	for i := 0; i < n; i++ {
		cfg := v.opts.obs.withTableHooks("", tableConfig(v.topic, int32(i), builder, consumer, tmgr, v.opts.updateCallback, v.log, runModePassive))
		cfg.StopOnConsumerError = v.opts.autoreconnect
		v.opts.windowApply(&cfg)
		p := table.New(cfg)
		if err := p.Open(); err != nil {
			for _, o := range parts {
				_ = o.Close()
			}
			return fmt.Errorf("view of %q: %w", v.topic, err)
		}
		parts = append(parts, p)
	}
	v.partitions = parts
	return nil
}

// partitionFor returns the partition table holding key.
func (v *View) partitionFor(key string) (*partitionTable, error) {
	state := v.CurrentState()
	if state == ViewStateIdle || state == ViewStateInitializing {
		return nil, fmt.Errorf("view of %q is %v: %w", v.topic, state, ErrNotRunning)
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if len(v.partitions) == 0 {
		return nil, fmt.Errorf("view of %q: %w", v.topic, ErrNotRunning)
	}
	return v.partitions[kafka.PartitionOf(v.opts.hasher, key, len(v.partitions))], nil
}

// Get returns the value of key, or nil if the table has none. During
// catch-up it serves what is recovered so far.
func (v *View) Get(key string) (interface{}, error) {
	p, err := v.partitionFor(key)
	if err != nil {
		return nil, err
	}
	data, err := p.Get(key)
	if err != nil {
		return nil, fmt.Errorf("view of %q: get %q: %w", v.topic, key, err)
	}
	if data == nil {
		return nil, nil
	}
	val, err := v.codec.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("view of %q: decoding value of %q: %w", v.topic, key, err)
	}
	return val, nil
}

// Has reports whether key has a value.
func (v *View) Has(key string) (bool, error) {
	p, err := v.partitionFor(key)
	if err != nil {
		return false, err
	}
	var has bool
	err = p.WithStorage(func(st storage.Storage) (err error) {
		has, err = st.Has(key)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("view of %q: has %q: %w", v.topic, key, err)
	}
	return has, nil
}

// Evict deletes key from the local copy only; the next record of key in
// the table topic brings it back.
func (v *View) Evict(key string) error {
	p, err := v.partitionFor(key)
	if err != nil {
		return err
	}
	err = p.WithStorage(func(st storage.Storage) error { return st.Delete(key) })
	if err != nil {
		return fmt.Errorf("view of %q: evict %q: %w", v.topic, key, err)
	}
	return nil
}

// Iterator returns an iterator over all keys of all partitions, in key
// order.
func (v *View) Iterator() (Iterator, error) {
	return v.iterator(func(st storage.Storage) (storage.Iterator, error) { return st.Iterator() })
}

// IteratorWithRange returns an iterator over the keys in [start, limit)
// of all partitions, in key order; an empty limit means every key with the
// prefix start.
func (v *View) IteratorWithRange(start, limit string) (Iterator, error) {
	return v.iterator(func(st storage.Storage) (storage.Iterator, error) {
		return st.IteratorWithRange([]byte(start), []byte(limit))
	})
}

func (v *View) iterator(open func(storage.Storage) (storage.Iterator, error)) (Iterator, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if len(v.partitions) == 0 {
		return nil, fmt.Errorf("view of %q: %w", v.topic, ErrNotRunning)
	}
	iters := make([]storage.Iterator, 0, len(v.partitions))
	for _, p := range v.partitions {
		var it storage.Iterator
		err := p.WithStorage(func(st storage.Storage) (err error) {
			it, err = open(st)
			return err
		})
		if err != nil {
			for _, o := range iters {
				o.Release()
			}
			return nil, fmt.Errorf("view of %q: iterating partition %d: %w", v.topic, p.Partition(), err)
		}
		iters = append(iters, it)
	}
	return &iterator{it: storage.NewMultiIterator(iters), codec: v.codec}, nil
}

// Stats returns the statistics of the view.
func (v *View) Stats(ctx context.Context) *ViewStats {
	s := &ViewStats{Partitions: map[int32]*TableStats{}}
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, p := range v.partitions {
		s.Partitions[p.Partition()] = tableStats(p)
	}
	s.Brokers = brokerStats(&v.outage)
	return s
}

// String returns the state's name, e.g. "running".
func (s ViewState) String() string {
	switch s {
	case ViewStateIdle:
		return "idle"
	case ViewStateInitializing:
		return "initializing"
	case ViewStateConnecting:
		return "connecting"
	case ViewStateCatchUp:
		return "catching up"
	case ViewStateRunning:
		return "running"
	}
	return "ViewState(" + strconv.Itoa(int(s)) + ")"
}

// iterator decodes the values of a storage iterator.
type iterator struct {
	it    storage.Iterator
	codec Codec
}

func (i *iterator) Next() bool           { return i.it.Next() }
func (i *iterator) Err() error           { return i.it.Err() }
func (i *iterator) Key() string          { return string(i.it.Key()) }
func (i *iterator) Release()             { i.it.Release() }
func (i *iterator) Seek(key string) bool { return i.it.Seek([]byte(key)) }

func (i *iterator) Value() (interface{}, error) {
	data, err := i.it.Value()
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, nil
	}
	return i.codec.Decode(data)
}

// watchBrokers runs the view's broker watch until the returned function is
// called, which waits for it. An outage moves the view to
// ViewStateConnecting and ends the running attempt (see Run); one that
// lasts the outage timeout, without WithViewAutoReconnect, is sent on the
// returned channel.
func (v *View) watchBrokers(ctx context.Context, attempt *kafka.SessionCancel) (<-chan error, func()) {
	errc := make(chan error, 1)
	if v.opts.testerClientID || len(v.brokers) == 0 {
		// The tester, and a processor's lookups under the tester, have no
		// brokers to probe.
		return errc, func() {}
	}
	bound := v.opts.outageTimeout
	if v.opts.autoreconnect {
		bound = 0
	}
	var began time.Time
	return errc, v.outage.Go(ctx, v.brokers, bound, func(down bool) {
		if !down {
			v.log.Printf("goka: view of %q: brokers reachable again after %v; reconnecting", v.topic, time.Since(began).Round(time.Millisecond))
			return
		}
		began = time.Now()
		v.log.Printf("goka: view of %q: none of the brokers %v answers: %s; disconnected until one does", v.topic, v.brokers, v.outage.Stats().LastError)
		v.state.SetState(State(ViewStateConnecting))
		attempt.EndForOutage()
	}, func(err error) {
		errc <- err
		attempt.EndForOutage()
	})
}
