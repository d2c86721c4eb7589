package goka

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/kafka"
	"github.com/e3793d55/goka/internal/table"
	"github.com/e3793d55/goka/internal/window"
	"github.com/e3793d55/goka/storage"
)

// Clock is the wall clock of a processor's timers and punctuation. The
// tester's clock moves only when a test advances it.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) ClockTimer
}

// ClockTimer is a timer of a Clock.
type ClockTimer interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time                                 { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) ClockTimer { return time.AfterFunc(d, f) }

const (
	noTime  = math.MinInt64
	maxTime = math.MaxInt64
)

// timeAck is an acknowledged time-store write: the store entries it
// carries, the produced one and its local index entries (most writes
// have none, so the first is not in a slice of its own).
type timeAck struct {
	c         *cbContext
	entry     window.Entry
	local     []window.Entry
	partition int32
	offset    int64
}

// windowCall is the window a WindowCallback addresses.
type windowCall struct {
	w        window.W
	olds     []window.W // sessions merged into w, deleted on SetValue
	value    []byte     // the aggregate when hasValue (merged sessions, after Value or SetValue)
	hasValue bool
	// cached: the cache of open windows knows whether w exists (read by
	// Value or SetValue); exists is what it knows.
	cached, exists bool
}

type punctState struct {
	e    *punctuateEdge
	next int64
}

// timeState is the time of one partition: its window store, stream time,
// timers and punctuation. Only the partition goroutine uses it, except
// wake (clock goroutines) and the acknowledgement queue.
type timeState struct {
	pp       *partitionProcessor
	gt       *graphTime
	we       *windowEdge // nil without Windowed
	spec     window.Spec
	table    *partitionTable // nil without a time store
	pending  *window.Pending[timeAck]
	inflight atomic.Int64
	// txnAcks are the acknowledged writes of the open transaction under
	// exactly-once, applied to local storage once it committed (eos.go).
	txnAcks []timeAck
	// txnPurged are the windows purged by the open transaction, deleted
	// from local storage once it committed: if it aborts, the messages
	// that closed them are processed again and must find them.
	txnPurged []string
	topic     string
	salter    *window.Salter
	clock     Clock
	ctx       context.Context

	stream    int64  // the stream time, noTime before any message
	closed    int64  // windows with close+grace <= closed are closed and emitted
	purged    int64  // the stream time of the last purge
	purgeFrom []byte // where the next purge scan starts
	scanned   int64  // the bound of the last purge scan, noTime before one
	// open holds the open time windows (WindowCache); nil for sessions,
	// with the cache off, and before start. indexless: the default
	// retention, where the windows open holds have no index entry in
	// local storage (startOpen).
	open      *window.Open
	indexless bool
	evictErr  error // the first failed index write of evictOpen
	cur       *cbContext
	call      windowCall
	buf       []window.W

	fireC      chan chan struct{}
	stopped    chan struct{}
	wallTimer  ClockTimer
	wallAt     int64
	nextStream int64
	punct      []punctState

	late atomic.Int64
}

// newTimeState returns the time of pp, nil for a group without time edges;
// it replaces the callback of the windowed input.
func newTimeState(pp *partitionProcessor) *timeState {
	gt := pp.graph.time
	if gt == nil {
		return nil
	}
	ts := &timeState{
		pp: pp, gt: gt, table: pp.win, topic: string(WindowTable(pp.graph.Group())),
		clock: pp.opts.clock, stream: noTime, closed: noTime, scanned: noTime,
		fireC: make(chan chan struct{}), stopped: make(chan struct{}),
		wallAt: maxTime, nextStream: maxTime,
		pending: window.NewPending[timeAck](),
	}
	if ts.clock == nil {
		ts.clock = realClock{}
	}
	pp.proc.mu.RLock()
	n := pp.proc.numPartitions
	pp.proc.mu.RUnlock()
	// The partition of a changelog key, as the producer's hash
	// partitioner computes it (kafka.PartitionOf), with one hasher reused
	// by the partition goroutine.
	ts.salter = window.NewSalter(pp.opts.hasher(), n)
	if len(gt.windows) > 0 {
		ts.we = gt.windows[0]
		ts.spec = ts.we.spec()
		if in := pp.inputs[ts.we.topic]; in != nil {
			in.cb = ts.windowed
		}
	}
	for _, p := range gt.puncts {
		ts.punct = append(ts.punct, punctState{e: p, next: noTime})
	}
	return ts
}

// newWindowTable creates the time store of partition part, nil if the
// group has none.
func (p *Processor) newWindowTable(part int32, mode PPRunMode) *partitionTable {
	if !p.graph.time.usesTimeStore() {
		return nil
	}
	var spec window.Spec
	if len(p.graph.time.windows) > 0 {
		spec = p.graph.time.windows[0].spec()
	}
	cfg := tableConfig(string(WindowTable(p.graph.Group())), part, p.opts.timeStorageBuilder(), p.consumer, p.tmgr, p.opts.updateCallback, p.log, mode)
	cfg.Apply = windowApply(spec)
	return table.New(cfg)
}

// ensureTimeStore creates the changelog of the time store.
func (p *Processor) ensureTimeStore(ctx context.Context, n int) error {
	if !p.graph.time.usesTimeStore() {
		return nil
	}
	if err := ensureTable(ctx, p.tmgr, string(WindowTable(p.graph.Group())), n); err != nil {
		return fmt.Errorf("processor %q: time store topic: %w", p.graph.Group(), err)
	}
	return nil
}

// windowApply applies a changelog record of the time store: the salt is
// dropped and a window gets its index entry.
func windowApply(spec window.Spec) table.ApplyFunc {
	return func(msg *sarama.ConsumerMessage, st storage.Storage) error {
		k, d, err := window.Unsalted(msg.Key)
		if err != nil {
			return fmt.Errorf("time store record at offset %d: %w", msg.Offset, err)
		}
		del := msg.Value == nil
		if err := setOrDelete(st, k, msg.Value, del); err != nil {
			return err
		}
		if d.Prefix == window.PrefixWindow {
			return setOrDelete(st, window.IndexKey(spec.CloseTime(d.W), d.Key, d.W), indexValue, del)
		}
		return nil
	}
}

var indexValue = []byte{1}

func setOrDelete(st storage.Storage, k, v []byte, del bool) error {
	return setOrDeleteString(st, string(k), v, del)
}

func setOrDeleteString(st storage.Storage, k string, v []byte, del bool) error {
	if del {
		return st.Delete(k)
	}
	return st.Set(k, v)
}

func encodeTime(t int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t)) }

// start recovers the time store and schedules the wall clock.
func (ts *timeState) start(ctx context.Context) error {
	if ts == nil {
		return nil
	}
	ts.ctx = ctx
	if ts.table != nil {
		if err := ts.table.Run(ctx, false); err != nil {
			return fmt.Errorf("error setting up (partition=%d): recovering time store: %w", ts.pp.partition, err)
		}
		if !ts.table.IsRecovered() {
			return nil
		}
		v, err := ts.table.Storage().Get(string(window.StreamTimeKey))
		if err != nil {
			return fmt.Errorf("reading stream time (partition=%d): %w", ts.pp.partition, err)
		}
		if len(v) == 8 {
			ts.stream = int64(binary.BigEndian.Uint64(v))
			ts.closed = ts.stream
		}
		ts.nextStream = ts.firstTimer(StreamTime)
		if err := ts.startOpen(); err != nil {
			return err
		}
	}
	now := ts.clock.Now().UnixMilli()
	for i := range ts.punct {
		p := &ts.punct[i]
		switch {
		case p.e.kind == WallClock:
			p.next = nextMultiple(now, p.e.interval.Milliseconds())
		case ts.stream != noTime:
			p.next = nextMultiple(ts.stream, p.e.interval.Milliseconds())
		}
	}
	ts.schedule()
	return nil
}

// startOpen creates the cache of open windows once the store is
// recovered.
//
// With the default retention (a window expires as it closes) the cached
// windows have no index entries in local storage: they are closed and
// purged from the cache, and only the windows the cache evicts get an
// entry (evictOpen). So the store is read in full here, after a clean
// stop and after a crash alike: its index entries are deleted, its open
// windows loaded into the cache (which evicts what does not fit) and its
// closed ones, already emitted, purged. The store holds little then:
// with that retention only the windows still open.
//
// With a longer retention, purges scan the index, so every window keeps
// its entry and the cache holds only windows new since the start: the
// persisted stream time is a close boundary less than an advance below
// the stream time it was persisted at, so every window that starts more
// than an advance after it is new.
func (ts *timeState) startOpen() error {
	if ts.we == nil || ts.spec.Kind == window.Session {
		return nil
	}
	limit := ts.we.cfg.cacheBytes()
	if limit == 0 {
		return nil
	}
	st := ts.table.Storage()
	if ts.spec.Retention != ts.spec.MinRetention() {
		from := int64(noTime)
		if ts.stream != noTime {
			from = ts.stream + ts.spec.Advance
		} else {
			// The stream time is persisted before the first window, so
			// a store without it should hold none; if it does, the
			// cache holds only windows after the last of them.
			err := scanStore(st, window.PrefixWindow, func(k, _ []byte) error {
				if w, ok := window.Bounds(k); ok {
					from = max(from, w.Start)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("reading time store (partition=%d): %w", ts.pp.partition, err)
			}
		}
		ts.open = window.NewOpen(from, limit, nil)
		return nil
	}
	ts.indexless = true
	ts.open = window.NewOpen(noTime, limit, ts.evictOpen)
	var drop []string
	err := scanStore(st, window.PrefixIndex, func(k, _ []byte) error {
		drop = append(drop, string(k))
		return nil
	})
	if err == nil {
		err = scanStore(st, window.PrefixWindow, func(k, v []byte) error {
			d, err := window.Decode(k)
			if err != nil {
				return err
			}
			if ts.stream != noTime && ts.spec.Closed(d.W, ts.stream) {
				drop = append(drop, string(k))
				return nil
			}
			ts.open.Set(d.Key, d.W.Start, v, false)
			return nil
		})
	}
	for _, k := range drop {
		if err != nil {
			break
		}
		err = st.Delete(k)
	}
	if err == nil {
		err = ts.evictErr
	}
	if err != nil {
		return fmt.Errorf("loading open windows (partition=%d): %w", ts.pp.partition, err)
	}
	return nil
}

// scanStore calls fn with a copy of every entry of st under prefix.
func scanStore(st storage.Storage, prefix byte, fn func(k, v []byte) error) error {
	return scanRange(st, []byte{prefix}, []byte{prefix + 1}, fn)
}

// scanRange calls fn with a copy of every entry of st in [start, limit).
func scanRange(st storage.Storage, start, limit []byte, fn func(k, v []byte) error) error {
	it, err := st.IteratorWithRange(start, limit)
	if err != nil {
		return err
	}
	defer it.Release()
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			return err
		}
		if err := fn(bytes.Clone(it.Key()), bytes.Clone(v)); err != nil {
			return err
		}
	}
	return it.Err()
}

// evictOpen gives the windows the cache evicts their index entries, so
// that closing and purging find them in the store (without a cache
// index, startOpen). Eviction runs within a callback or startOpen, so a
// failed write is kept for startOpen and otherwise stops the processor
// like any storage failure in a callback.
func (ts *timeState) evictOpen(start int64, keys map[string][]byte) {
	if !ts.indexless {
		return
	}
	w := window.W{Start: start, End: start + ts.spec.Size}
	st := ts.table.Storage()
	for k := range keys {
		if err := st.Set(string(window.IndexKey(ts.spec.CloseTime(w), k, w)), indexValue); err != nil {
			if ts.cur != nil {
				ts.cur.misuse("writing the index of evicted windows: %w", err)
			}
			ts.evictErr = err
			return
		}
	}
}

func floorMultiple(t, iv int64) int64 {
	q := t / iv
	if t%iv != 0 && t < 0 {
		q--
	}
	return q * iv
}
func nextMultiple(t, iv int64) int64 { return floorMultiple(t, iv) + iv }

// stop ends the wall clock.
func (ts *timeState) stop() {
	if ts == nil {
		return
	}
	close(ts.stopped)
	if ts.wallTimer != nil {
		ts.wallTimer.Stop()
	}
}

// ackSignal has a value when acknowledged writes wait; nil without time.
func (ts *timeState) ackSignal() <-chan struct{} {
	if ts == nil {
		return nil
	}
	return ts.pending.Signal()
}

// fires delivers the wall clock's wake-ups; nil without time.
func (ts *timeState) fires() <-chan chan struct{} {
	if ts == nil {
		return nil
	}
	return ts.fireC
}

// wake runs on the clock's goroutine: it hands the wake-up to the partition
// goroutine and returns when that handled it (so that the tester's
// AdvanceTime returns with the timers fired) or stopped.
func (ts *timeState) wake() {
	done := make(chan struct{})
	select {
	case ts.fireC <- done:
		select {
		case <-done:
		case <-ts.stopped:
		}
	case <-ts.stopped:
	}
}

// write produces one time-store record through the partition's producer,
// as a table write: its acknowledgement is applied by the partition
// goroutine (applyAcked) together with the local entries, and c completes
// only then.
func (ts *timeState) write(c *cbContext, key, value []byte, del bool, local ...window.Entry) {
	entry := ts.pending.Add(key, value, del)
	var locals []window.Entry
	if len(local) > 0 {
		locals = make([]window.Entry, 0, len(local))
		for _, l := range local {
			locals = append(locals, ts.pending.Add(l.Key, l.Value, l.Del))
		}
	}
	if del {
		value = nil
	}
	ts.inflight.Add(1)
	c.mu.Lock()
	c.pending++
	c.mu.Unlock()
	c.pp.stats.countOutput(ts.topic, len(value))
	salted := ts.salter.Salted(key, ts.pp.partition)
	c.pp.producer.EmitWithHeaders(ts.topic, salted, value, nil).ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
		if err != nil {
			ts.inflight.Add(-1)
			c.finishOne(fmt.Errorf("producing to time store %q: %w", ts.topic, err), true)
			return
		}
		ts.pending.Queue(timeAck{c: c, entry: entry, local: locals, partition: msg.Partition, offset: msg.Offset})
	})
}

// applyAcked applies the acknowledged time-store writes to local storage.
// A window past retention is deleted instead (it was purged meanwhile).
func (ts *timeState) applyAcked() {
	for _, a := range ts.pending.Take() {
		if ts.pp.txn != nil {
			// Exactly-once: storage gets the write once its transaction
			// committed (applyCommitted); reads see it pending meanwhile.
			ts.txnAcks = append(ts.txnAcks, a)
			ts.inflight.Add(-1)
			a.c.finishOne(nil, true)
			continue
		}
		err := ts.applyAck(a)
		ts.inflight.Add(-1)
		a.c.finishOne(err, true)
	}
}

// applyCommitted applies the writes of the committed transaction.
func (ts *timeState) applyCommitted() error {
	if ts == nil {
		return nil
	}
	var errs []error
	for _, a := range ts.txnAcks {
		errs = append(errs, ts.applyAck(a))
	}
	clear(ts.txnAcks)
	ts.txnAcks = ts.txnAcks[:0]
	if len(ts.txnPurged) > 0 {
		st := ts.table.Storage()
		for _, k := range ts.txnPurged {
			if err := st.Delete(k); err != nil {
				errs = append(errs, fmt.Errorf("purging windows: %w", err))
				break
			}
		}
		clear(ts.txnPurged)
		ts.txnPurged = ts.txnPurged[:0]
	}
	return errors.Join(errs...)
}

// dropUncommitted forgets the writes of an aborted transaction: the
// partition stops, and its pending entries with it.
func (ts *timeState) dropUncommitted() {
	if ts == nil {
		return
	}
	clear(ts.txnAcks)
	ts.txnAcks = ts.txnAcks[:0]
	clear(ts.txnPurged)
	ts.txnPurged = ts.txnPurged[:0]
}

// applyAck writes one acknowledged time-store write to local storage.
func (ts *timeState) applyAck(a timeAck) error {
	st := ts.table.Storage()
	if err := ts.applyEntry(st, a.entry); err != nil {
		return err
	}
	for _, e := range a.local {
		if err := ts.applyEntry(st, e); err != nil {
			return err
		}
	}
	if a.partition == ts.pp.partition {
		ts.table.StoreOffset(a.offset)
	}
	return nil
}

// applyEntry writes one entry of an acknowledged write to st.
func (ts *timeState) applyEntry(st storage.Storage, e window.Entry) error {
	del := e.Del
	if ts.we != nil {
		if w, ok := window.Bounds(e.Key); ok && ts.spec.Expired(w, ts.stream) {
			del = true
		}
	}
	if err := setOrDeleteString(st, e.Str, e.Value, del); err != nil {
		return fmt.Errorf("writing time store to local storage: %w", err)
	}
	ts.pending.Forget(e)
	return nil
}

// get reads store key k, pending writes first.
func (ts *timeState) get(c *cbContext, k []byte) []byte {
	if e, ok := ts.pending.Get(k); ok {
		if e.Del {
			return nil
		}
		return e.Value
	}
	v, err := ts.table.Storage().Get(string(k))
	if err != nil {
		c.misuse("reading time store: %w", err)
	}
	return v
}

// begin is called before the callback of every input message: it advances
// the stream time and, if it moved, closes windows, fires stream-time
// timers and punctuates, all completing with the message.
func (ts *timeState) begin(c *cbContext) {
	if ts == nil {
		return
	}
	ts.cur = c
	t := c.timestamp.UnixMilli()
	if c.timestamp.IsZero() || t <= ts.stream {
		return
	}
	ts.stream = t
	if ts.we != nil {
		ts.closeWindows(c)
	}
	if len(ts.gt.timers) > 0 && ts.stream >= ts.nextStream {
		ts.fireDue(StreamTime, ts.stream, c)
		ts.nextStream = ts.firstTimer(StreamTime)
	}
	for i := range ts.punct {
		p := &ts.punct[i]
		if p.e.kind != StreamTime {
			continue
		}
		iv := p.e.interval.Milliseconds()
		if p.next == noTime {
			p.next = nextMultiple(t, iv)
			continue
		}
		if t >= p.next {
			p.next = nextMultiple(t, iv)
			ts.punctuate(p.e, floorMultiple(t, iv), c)
		}
	}
}

// closeWindows emits the windows the stream time closed, persists the
// stream time's boundary with them and purges the windows past retention.
func (ts *timeState) closeWindows(c *cbContext) {
	b := ts.spec.Boundary(ts.stream)
	if b <= ts.closed {
		return
	}
	prev := ts.closed
	ts.closed = b
	final := ts.we.cfg.final
	// The windows the cache does not know of (all without one) are
	// found in the store's index: those that start at or before
	// open.From, that is, close at or before From+Size.
	hi := b - ts.spec.Grace
	if ts.open != nil {
		hi = min(hi, ts.open.From()+ts.spec.Size)
	}
	if final != nil && (prev == noTime || hi > prev-ts.spec.Grace) {
		from := []byte{window.PrefixIndex}
		if prev != noTime {
			_, from = window.IndexUpTo(prev - ts.spec.Grace)
		}
		_, limit := window.IndexUpTo(hi)
		type closedWin struct {
			key string
			w   window.W
		}
		var closed []closedWin
		err := ts.pending.Range(ts.table.Storage(), from, limit, func(k, _ []byte) bool {
			if d, err := window.Decode(k); err == nil {
				closed = append(closed, closedWin{d.Key, d.W})
			}
			return true
		})
		if err != nil {
			c.misuse("scanning closed windows: %w", err)
		}
		for _, cw := range closed {
			data := ts.get(c, window.Key(cw.key, cw.w))
			if data == nil {
				continue
			}
			ts.emitWindow(c, final, cw.key, cw.w, data)
		}
	}
	if ts.open != nil {
		ts.closeOpen(c, final, b-ts.spec.Grace-ts.spec.Size)
	}
	ts.write(c, window.StreamTimeKey, encodeTime(b), false)
	ts.purge(c)
}

// closeOpen closes the cached windows that start at or before upTo: it
// emits them to final (if not nil) and, with the default retention (they
// expire as they close; they have no index entry), deletes them from
// local storage. A write of one still unacknowledged is deleted again when
// applied (applyAck), since its window expired.
func (ts *timeState) closeOpen(c *cbContext, final *edge, upTo int64) {
	ts.open.Close(upTo, func(start int64, keys []string, values map[string][]byte) {
		w := window.W{Start: start, End: start + ts.spec.Size}
		for _, k := range keys {
			if data := values[k]; final != nil && data != nil {
				ts.emitWindow(c, final, k, w, data)
			}
			if ts.indexless {
				ts.purgeLocal(c, string(window.Key(k, w)))
			}
		}
	})
}

// purgeLocal deletes key of a window past retention from local storage,
// under exactly-once once the transaction committed (applyCommitted).
func (ts *timeState) purgeLocal(c *cbContext, key string) {
	if ts.pp.txn != nil {
		ts.txnPurged = append(ts.txnPurged, key)
		return
	}
	if err := ts.table.Storage().Delete(key); err != nil {
		c.misuse("purging windows: %w", err)
	}
}

// emitWindow emits the aggregate data of window w of key to out.
func (ts *timeState) emitWindow(c *cbContext, out *edge, key string, w window.W, data []byte) {
	v, err := ts.we.aggregate.Decode(data)
	if err != nil {
		c.misuse("decoding aggregate of key %q: %w", key, err)
	}
	enc, err := out.codec.Encode(v)
	if err != nil {
		c.misuse("encoding window of key %q for topic %q: %w", key, out.topic, err)
	}
	h := Headers{
		HeaderWindowStart: strconv.AppendInt(nil, w.Start, 10),
		HeaderWindowEnd:   strconv.AppendInt(nil, w.End, 10),
	}
	c.emitRaw(out.topic, key, enc, c.pp.opts.producerDefaultHeaders.Merged(h), nil)
}

// purge deletes the windows past retention from local storage, at most
// once per retention of stream time (an iterator over LevelDB copies its
// unflushed batch), so a window stays at most twice its retention. The
// changelog keeps them until compaction; recovery purges them again.
func (ts *timeState) purge(c *cbContext) {
	if ts.purged != 0 && ts.stream-ts.purged < ts.spec.Retention {
		return
	}
	ts.purged = ts.stream
	var bound int64
	if ts.spec.Kind == window.Session {
		bound = ts.stream - ts.spec.Retention + ts.spec.Gap
	} else {
		bound = ts.stream - ts.spec.Retention + ts.spec.Size
	}
	if ts.indexless && ts.scanned > ts.open.From()+ts.spec.Size {
		// closeOpen purges every window that starts after open.From, and
		// the last scan covered those before it.
		return
	}
	ts.scanned = bound
	_, limit := window.IndexUpTo(bound - 1)
	// Start where the last purge ended: below it are only the tombstones
	// of purged entries, which LevelDB would iterate over each time.
	from := ts.purgeFrom
	if from == nil {
		from = []byte{window.PrefixIndex}
	}
	ts.purgeFrom = limit
	var keys [][]byte
	err := scanRange(ts.table.Storage(), from, limit, func(k, _ []byte) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		c.misuse("purging windows: %w", err)
	}
	for _, k := range keys {
		d, derr := window.Decode(k)
		if derr != nil || !ts.spec.Expired(d.W, ts.stream) {
			continue
		}
		wk := window.Key(d.Key, d.W)
		if _, ok := ts.pending.Get(wk); ok {
			continue // applyAcked deletes it
		}
		ts.purgeLocal(c, string(k))
		ts.purgeLocal(c, string(wk))
	}
}

// windowed replaces the callback of the windowed input: it calls the
// WindowCallback once per open window of the message.
func (ts *timeState) windowed(_ Context, msg any) {
	c := ts.cur
	t := c.timestamp.UnixMilli()
	late := false
	defer func() { c.win = nil }()
	if ts.spec.Kind == window.Session {
		late = ts.session(c, msg, t)
	} else {
		ts.buf = ts.spec.Assign(ts.buf[:0], t)
		for _, w := range ts.buf {
			if ts.spec.Closed(w, ts.stream) {
				late = true
				continue
			}
			ts.call = windowCall{w: w}
			c.win = &ts.call
			ts.we.cb(c, msg)
		}
	}
	c.win = nil
	if late {
		ts.late.Add(1)
		// Lateness past the close of the message's last window (for
		// sessions: of a session of the message alone).
		closes := t + ts.spec.Gap
		if ts.spec.Kind != window.Session {
			closes = t - t%ts.spec.Advance + ts.spec.Size
		}
		ts.pp.opts.obs.lateRecord(LateRecordInfo{Group: ts.pp.graph.Group(), Topic: string(c.topic), Partition: ts.pp.partition,
			Window: string(WindowTable(ts.pp.graph.Group())), Lateness: time.Duration(ts.stream-closes-ts.spec.Grace) * time.Millisecond})
		if ts.we.cfg.late != nil {
			ts.we.cfg.late(c, msg)
		}
	}
}

// session finds the sessions of the message's key within gap of t, merges
// them with t and calls the callback; it reports whether the merged
// session is closed (the message is late).
func (ts *timeState) session(c *cbContext, msg any, t int64) bool {
	gap := ts.spec.Gap
	start, limit := window.KeyPrefix(c.key)
	nw := window.W{Start: t, End: t}
	var olds []window.W
	var vals [][]byte
	err := ts.pending.Range(ts.table.Storage(), start, limit, func(k, v []byte) bool {
		d, err := window.Decode(k)
		// A closed session is final (it was emitted): it merges no more.
		if err == nil && d.W.End >= t-gap && d.W.Start <= t+gap && !ts.spec.Closed(d.W, ts.stream) {
			olds, vals = append(olds, d.W), append(vals, v)
			nw.Start, nw.End = min(nw.Start, d.W.Start), max(nw.End, d.W.End)
		}
		return true
	})
	if err != nil {
		c.misuse("reading sessions of key %q: %w", c.key, err)
	}
	if ts.spec.Closed(nw, ts.stream) {
		return true
	}
	ts.call = windowCall{w: nw, olds: olds}
	switch len(vals) {
	case 0:
		ts.call.hasValue = true
	case 1:
		ts.call.value, ts.call.hasValue = vals[0], true
	default:
		var acc any
		for i, v := range vals {
			d, err := ts.we.aggregate.Decode(v)
			if err != nil {
				c.misuse("decoding session of key %q: %w", c.key, err)
			}
			if i == 0 {
				acc = d
			} else {
				acc = ts.we.cfg.merge(acc, d)
			}
		}
		data, err := ts.we.aggregate.Encode(acc)
		if err != nil {
			c.misuse("encoding merged session of key %q: %w", c.key, err)
		}
		ts.call.value, ts.call.hasValue = data, true
	}
	c.win = &ts.call
	ts.we.cb(c, msg)
	return false
}

// windowValue is Context.Value in a WindowCallback.
func (c *cbContext) windowValue() any {
	ts, call := c.pp.time, c.win
	data := call.value
	if !call.hasValue {
		if data, call.exists, call.cached = ts.getOpen(c.key, call.w); !call.cached {
			data = ts.get(c, window.Key(c.key, call.w))
		}
		call.value, call.hasValue = data, true
	}
	if data == nil {
		return nil
	}
	v, err := ts.we.aggregate.Decode(data)
	if err != nil {
		c.misuse("decoding window aggregate of key %q: %w", c.key, err)
	}
	return v
}

// getOpen reads window w of key from the cache of open windows: known is
// false without a cache or if the cache does not know w.
func (ts *timeState) getOpen(key string, w window.W) (data []byte, ok, known bool) {
	if ts.open == nil {
		return nil, false, false
	}
	return ts.open.Get(key, w.Start)
}

// setWindowValue is Context.SetValue and Delete in a WindowCallback.
func (c *cbContext) setWindowValue(value any, del bool, options []ContextOption) {
	ts, call := c.pp.time, c.win
	var data []byte
	if !del {
		var err error
		if data, err = ts.we.aggregate.Encode(value); err != nil {
			c.misuse("encoding window aggregate of key %q: %w", c.key, err)
		}
	}
	for _, old := range call.olds {
		if old != call.w {
			ts.write(c, window.Key(c.key, old), nil, true,
				window.Entry{Key: window.IndexKey(ts.spec.CloseTime(old), c.key, old), Del: true})
		}
	}
	call.olds = nil
	var local []window.Entry
	if !call.cached {
		_, call.exists, call.cached = ts.getOpen(c.key, call.w)
	}
	if !call.cached || (!ts.indexless && (del || !call.exists)) {
		// A window the cache holds has its index entry already, or
		// needs none (indexless).
		local = append(local, window.Entry{Key: window.IndexKey(ts.spec.CloseTime(call.w), c.key, call.w), Value: indexValue, Del: del})
	}
	ts.write(c, window.Key(c.key, call.w), data, del, local...)
	if ts.open != nil {
		ts.open.Set(c.key, call.w.Start, data, del)
		call.exists = !del && call.w.Start > ts.open.From()
		call.cached = call.w.Start > ts.open.From()
	}
	call.value, call.hasValue = data, true
	if up := ts.we.cfg.updates; up != nil && !del {
		ts.emitWindow(c, up, c.key, call.w, data)
	}
	_ = options
}

func toWindow(w window.W) Window {
	return Window{Start: time.UnixMilli(w.Start), End: time.UnixMilli(w.End)}
}

// Window implements TimeContext.
func (c *cbContext) Window() Window {
	if c.win == nil {
		return Window{}
	}
	return toWindow(c.win.w)
}

// StreamTime implements TimeContext.
func (c *cbContext) StreamTime() time.Time {
	ts := c.pp.time
	if ts == nil || ts.stream == noTime {
		return time.Time{}
	}
	return time.UnixMilli(ts.stream)
}

// Now implements TimeContext.
func (c *cbContext) Now() time.Time {
	if ts := c.pp.time; ts != nil {
		return ts.clock.Now()
	}
	if c.pp.opts.clock != nil {
		return c.pp.opts.clock.Now()
	}
	return time.Now()
}

// Windows implements TimeContext.
func (c *cbContext) Windows(key string, from, to time.Time) []WindowValue {
	ts := c.pp.time
	if ts == nil || ts.we == nil {
		c.misuse("cannot read windows: group %q has no Windowed edge", c.pp.graph.Group())
	}
	start, limit := window.KeyRange(key, from.UnixMilli(), to.UnixMilli())
	var out []WindowValue
	err := ts.pending.Range(ts.table.Storage(), start, limit, func(k, v []byte) bool {
		d, err := window.Decode(k)
		if err != nil {
			return true
		}
		val, err := ts.we.aggregate.Decode(v)
		if err != nil {
			c.misuse("decoding window of key %q: %w", key, err)
		}
		out = append(out, WindowValue{Window: toWindow(d.W), Value: val})
		return true
	})
	if err != nil {
		c.misuse("reading windows of key %q: %w", key, err)
	}
	return out
}

// Windows returns the windows of key whose start is in [from, to], oldest
// first, from the local time store of the partition of key (acknowledged
// writes only). It fails with ErrPartitionNotHeld when this instance does
// not hold that partition, and for a group without Windowed.
func (p *Processor) Windows(key string, from, to time.Time) ([]WindowValue, error) {
	if p.graph.time == nil || len(p.graph.time.windows) == 0 {
		return nil, fmt.Errorf("processor %q: no Windowed edge", p.graph.Group())
	}
	p.mu.RLock()
	n := p.numPartitions
	var pp *partitionProcessor
	if n > 0 {
		part := int32(0)
		if n > 1 {
			part = kafka.PartitionOf(p.opts.hasher, key, n)
		}
		pp = p.partitions[part]
	}
	p.mu.RUnlock()
	if pp == nil || pp.win == nil {
		return nil, fmt.Errorf("windows of key %q: %w", key, ErrPartitionNotHeld)
	}
	return readWindows(pp.win, p.graph.time.windows[0].aggregate, key, from, to)
}

// readWindows reads the windows of key from tbl through its storage guard.
func readWindows(tbl *partitionTable, agg Codec, key string, from, to time.Time) ([]WindowValue, error) {
	start, limit := window.KeyRange(key, from.UnixMilli(), to.UnixMilli())
	var out []WindowValue
	err := tbl.WithStorage(func(st storage.Storage) error {
		return scanRange(st, start, limit, func(k, raw []byte) error {
			d, err := window.Decode(k)
			if err != nil {
				return err
			}
			v, err := agg.Decode(raw)
			if err != nil {
				return fmt.Errorf("decoding window of key %q: %w", key, err)
			}
			out = append(out, WindowValue{Window: toWindow(d.W), Value: v})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("windows of key %q: %w", key, err)
	}
	return out, nil
}

// LateMessages returns how many messages of the windowed input were late
// (for at least one of their windows) on the partitions this instance
// holds now.
func (p *Processor) LateMessages() int64 {
	var n int64
	for _, pp := range p.activePartitions() {
		if pp.time != nil {
			n += pp.time.late.Load()
		}
	}
	return n
}

// inFlight counts the time-store writes not acknowledged yet; 0 without
// time.
func (ts *timeState) inFlight() int64 {
	if ts == nil {
		return 0
	}
	return ts.inflight.Load()
}
