package table

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/storage"
)

// ErrNotRunning is wrapped by the errors of reads of a table whose storage is
// not open (before Open or after Close). The root package re-exports it as
// goka.ErrNotRunning.
var ErrNotRunning = errors.New("not running")

// offsetNotStored is what GetOffset returns for a storage without offset
// (Goka's sentinel).
const offsetNotStored int64 = -3

// Offsets reads the offsets of a topic partition from the brokers; at is an
// offset or sarama.OffsetNewest (the high-water mark) or
// sarama.OffsetOldest.
type Offsets interface {
	GetOffset(ctx context.Context, topic string, partition int32, at int64) (int64, error)
}

// EndProber is implemented by Offsets that can look at the raw record batches
// of a partition. NoDataBetween reports whether [from, hwm) of the partition
// holds no data record, only transaction markers or records compacted away.
type EndProber interface {
	NoDataBetween(ctx context.Context, topic string, partition int32, from, hwm int64) (bool, error)
}

// AppliedNotifier is implemented by partition consumers that want to know
// when a record they delivered is applied to the storage (the tester's do).
// Run checks for it once per consumer and calls RecordApplied after every
// record, on its own goroutine, without holding a lock.
type AppliedNotifier interface {
	RecordApplied(offset int64)
}

// ApplyFunc applies one table record to the storage. The table stores the
// offset after it.
type ApplyFunc func(msg *sarama.ConsumerMessage, st storage.Storage) error

// Logger is what the table logs to.
type Logger interface {
	Printf(format string, args ...any)
}

// Config is what a Table is built from. Every field without a stated default
// is required.
type Config struct {
	// Topic and Partition name the table partition.
	Topic     string
	Partition int32
	// Builder creates the storage.
	Builder storage.Builder
	// Consumer reads the table topic.
	Consumer sarama.Consumer
	// Offsets reads the oldest offset and the high-water mark; it may also
	// implement EndProber.
	Offsets Offsets
	// Apply applies one record.
	Apply ApplyFunc
	// Log receives progress and warnings. Default: nothing is logged.
	Log Logger
	// Mode is reported in snapshots and otherwise ignored; the root package
	// stores its PPRunMode here. Default: 0.
	Mode int
	// StopOnConsumerError makes Run return consumer errors instead of
	// logging them, so that an auto-reconnecting view notices a lost broker
	// rather than claiming to run while it receives nothing. Default: false
	// (only sarama.ErrOffsetOutOfRange stops Run).
	StopOnConsumerError bool
	// OnFlush, if set, is called after every Flush of a storage that
	// buffers (storage.Flusher) with its duration and error, for metrics.
	// Default: nil.
	OnFlush func(d time.Duration, err error)
	// OnRecovered, if set, is called when a Run recovered the partition,
	// with the records that Run applied and the time it took, also when
	// there was nothing to replay. Default: nil.
	OnRecovered func(records int64, d time.Duration)
	// BeforeConsume, if set, is called by Run right before it starts
	// consuming the partition (not when it is recovered and not
	// followed): it waits until an earlier consumer of the partition on
	// the same sarama.Consumer, e.g. a stopped standby's still closing
	// (CloseStorage), is closed, since sarama refuses a second one. An
	// error ends Run. Default: nil.
	BeforeConsume func(ctx context.Context) error
}

func (c *Config) applyDefaults() {
	if c.Log == nil {
		c.Log = nopLogger{}
	}
}

func (c *Config) validate() error {
	switch {
	case c.Topic == "":
		return errors.New("table config: empty Topic")
	case c.Builder == nil:
		return errors.New("table config: nil Builder")
	case c.Consumer == nil:
		return errors.New("table config: nil Consumer")
	case c.Offsets == nil:
		return errors.New("table config: nil Offsets")
	case c.Apply == nil:
		return errors.New("table config: nil Apply")
	}
	return nil
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// Table is one partition of one table topic kept in local storage.
type Table struct {
	topic     string
	partition int32
	builder   storage.Builder
	apply     ApplyFunc
	log       Logger
	stopOnErr bool
	cfgErr    error // from Config.validate, returned by Open

	onFlush       func(time.Duration, error)
	onRecovered   func(int64, time.Duration)
	beforeConsume func(context.Context) error

	// depMu guards consumer and offsets, which Rebind replaces between
	// runs.
	depMu    sync.Mutex
	consumer sarama.Consumer
	offsets  Offsets

	// stMu guards st against use after close by other goroutines; Close
	// takes it exclusively.
	stMu   sync.RWMutex
	st     storage.Storage
	closed bool

	// offMu makes StoreOffset's read-modify-write of the stored offset
	// atomic between concurrent callers.
	offMu sync.Mutex

	stats statsCollector

	recovered chan struct{}
	recOnce   sync.Once

	// closing tracks partition consumers closed in the background; Close
	// waits for them.
	closing sync.WaitGroup
}

// New returns a table built from cfg. It does no I/O; Open validates cfg.
func New(cfg Config) *Table {
	cfg.applyDefaults()
	t := &Table{
		topic:     cfg.Topic,
		partition: cfg.Partition,
		builder:   cfg.Builder,
		apply:     cfg.Apply,
		log:       cfg.Log,
		stopOnErr: cfg.StopOnConsumerError,
		consumer:  cfg.Consumer,
		offsets:   cfg.Offsets,
		recovered: make(chan struct{}),

		onFlush:       cfg.OnFlush,
		onRecovered:   cfg.OnRecovered,
		beforeConsume: cfg.BeforeConsume,
	}
	t.stats.mode = cfg.Mode
	t.cfgErr = cfg.validate()
	return t
}

// Topic returns the table topic.
func (t *Table) Topic() string { return t.topic }

// Partition returns the partition.
func (t *Table) Partition() int32 { return t.partition }

// Open builds and opens the storage. A storage found damaged (an error
// wrapping storage.ErrCorrupted that is a storage.Discarder) is discarded
// and built again, empty, once, with a log line and Snapshot.Rebuilds
// counting it; Run then recovers the whole partition from the table topic.
// Damage that cannot be discarded fails Open.
func (t *Table) Open() error {
	if t.cfgErr != nil {
		return fmt.Errorf("opening table %s/%d: %w", t.topic, t.partition, t.cfgErr)
	}
	t.stats.setStatus(StatusInitializing)
	st, err := t.build()
	if d := storage.Discarder(nil); errors.Is(err, storage.ErrCorrupted) && errors.As(err, &d) {
		// Never run on a storage known to be damaged: move it aside and
		// start empty, so that Run recovers the whole partition from the
		// table topic.
		kept, derr := d.Discard()
		if derr != nil {
			return errors.Join(err, derr)
		}
		t.log.Printf("goka: local storage of %s/%d is damaged; rebuilding it from the table topic, damaged copy kept in %q: %v", t.topic, t.partition, kept, err)
		t.stats.countRebuild()
		st, err = t.build()
	}
	if err != nil {
		return err
	}
	// Readers on other goroutines reach st under stMu: publish it under the
	// lock too.
	t.stMu.Lock()
	t.st = st
	t.stMu.Unlock()
	return nil
}

// build builds and opens the storage. A storage whose Open fails is closed,
// so that a storage.Discarder may move it aside.
func (t *Table) build() (storage.Storage, error) {
	st, err := t.builder(t.topic, t.partition)
	if err != nil {
		return nil, fmt.Errorf("building storage of %s/%d: %w", t.topic, t.partition, err)
	}
	if err := st.Open(); err != nil {
		return nil, errors.Join(fmt.Errorf("opening storage of %s/%d: %w", t.topic, t.partition, err), st.Close())
	}
	return st, nil
}

// Close waits for the partition consumers closing in the background, then
// closes the storage. Safe to call more than once; Run must have returned.
func (t *Table) Close() error {
	t.closing.Wait()
	return t.CloseStorage()
}

// CloseStorage closes the storage without waiting for the partition
// consumers Run closes in the background: a followed table's waits for its
// fetch in flight, which an idle partition's broker holds for up to
// Consumer.MaxWaitTime (sarama: 500 ms), and the storage can go to the
// partition's processor meanwhile. WaitClosed must still be called before
// their sarama.Consumer is closed. Safe to call more than once; Run must
// have returned.
func (t *Table) CloseStorage() error {
	t.stMu.Lock()
	defer t.stMu.Unlock()
	t.stats.setStatus(StatusStopped)
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

// WaitClosed waits until the partition consumers Run closes in the
// background are closed, so that their sarama.Consumer may be closed.
func (t *Table) WaitClosed() { t.closing.Wait() }

// Flush persists buffered writes of storages that buffer (storage.Flusher).
// It does nothing on a closed table.
func (t *Table) Flush() error {
	t.stMu.RLock()
	defer t.stMu.RUnlock()
	if t.closed || t.st == nil {
		return nil
	}
	if f, ok := t.st.(storage.Flusher); ok {
		var began time.Time
		if t.onFlush != nil {
			began = time.Now()
		}
		err := f.Flush()
		if t.onFlush != nil {
			t.onFlush(time.Since(began), err)
		}
		if err != nil {
			return fmt.Errorf("flushing storage of %s/%d: %w", t.topic, t.partition, err)
		}
	}
	return nil
}

// WithStorage calls fn with the storage while Close is held off. It returns
// an error wrapping ErrNotRunning, without calling fn, when the storage is
// not open. fn must not keep the storage, but may keep an iterator it opens
// (it is then the caller's to release before Close).
func (t *Table) WithStorage(fn func(storage.Storage) error) error {
	t.stMu.RLock()
	defer t.stMu.RUnlock()
	if t.closed || t.st == nil {
		return fmt.Errorf("table %s/%d: %w", t.topic, t.partition, ErrNotRunning)
	}
	return fn(t.st)
}

// Get reads key from the storage, through WithStorage.
func (t *Table) Get(key string) ([]byte, error) {
	var data []byte
	err := t.WithStorage(func(st storage.Storage) (err error) {
		data, err = st.Get(key)
		return err
	})
	return data, err
}

// Storage returns the storage without any guard. Only the goroutine that
// owns the partition may use it (a processor's partition goroutine, between
// Open and Close): nothing else closes the storage under it. Every other
// goroutine must use WithStorage.
func (t *Table) Storage() storage.Storage { return t.st }

// Rebind replaces the consumer and the offsets reader, for a view that
// reconnected with new clients. It must not be called while Run runs.
func (t *Table) Rebind(consumer sarama.Consumer, offsets Offsets) {
	t.depMu.Lock()
	t.consumer, t.offsets = consumer, offsets
	t.depMu.Unlock()
}

func (t *Table) deps() (sarama.Consumer, Offsets) {
	t.depMu.Lock()
	defer t.depMu.Unlock()
	return t.consumer, t.offsets
}

// StoreOffset records the offset of a table record this process wrote
// itself, unless the storage is closed or already holds a higher offset.
// Concurrent callers never lower the stored offset. It does not serialize
// with Run's own offset writes: a processor stores offsets of its writes
// only after Run recovered and returned.
func (t *Table) StoreOffset(offset int64) {
	t.StoreOffsets(offset, 1)
}

// StoreOffsets is StoreOffset for the last of writes table records this
// process wrote, at offset: a processor applies the acknowledgements that
// arrived together and stores the offset once for them, which saves it two
// locks, two storage calls and a clock read per record (issue 17). Storing
// only the last offset is safe because a stored offset below the storage's
// content only makes the next recovery re-apply records it already holds,
// in order.
func (t *Table) StoreOffsets(offset int64, writes uint) {
	t.stMu.RLock()
	defer t.stMu.RUnlock()
	if t.closed || t.st == nil {
		return
	}
	t.storeOffsetLocked(offset, writes)
}

// storeOffsetLocked is StoreOffsets for callers holding t.stMu with the
// storage open.
func (t *Table) storeOffsetLocked(offset int64, writes uint) {
	t.offMu.Lock()
	cur, err := t.st.GetOffset(offsetNotStored)
	if err == nil && offset <= cur {
		t.offMu.Unlock()
		return
	}
	err = t.st.SetOffset(offset)
	t.offMu.Unlock()
	if err != nil {
		t.log.Printf("goka: storing offset %d of %s/%d: %v", offset, t.topic, t.partition, err)
	}
	t.stats.countWrites(offset, writes)
}

// Recovered returns a channel closed once the table is recovered.
func (t *Table) Recovered() <-chan struct{} { return t.recovered }

// IsRecovered reports whether the table is recovered.
func (t *Table) IsRecovered() bool {
	select {
	case <-t.recovered:
		return true
	default:
		return false
	}
}

func (t *Table) markRecovered() error {
	if err := t.st.MarkRecovered(); err != nil {
		return fmt.Errorf("marking storage of %s/%d recovered: %w", t.topic, t.partition, err)
	}
	t.stats.recoveredAt(time.Now())
	t.recOnce.Do(func() { close(t.recovered) })
	return nil
}

// Snapshot returns the table's statistics.
func (t *Table) Snapshot() Snapshot { return t.stats.snapshot() }

// End returns the end offset of the table topic's partition as the table
// last knew it: the high-water mark its last Run recovered to (for a
// followed table, the last one its consumer saw), or past the last offset
// applied or stored, if further (a processor's own writes). False before a
// Run read the high-water mark. The cooperative strategy takes it as the
// lag of a member without a copy.
func (t *Table) End() (int64, bool) { return t.stats.end() }
