package pebble

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/e3793d55/goka/storage"
)

const (
	// DefaultFlushSize is the default of [WithFlushSize]: pending writes
	// are written once they hold about 1 MiB, as with LevelDB
	// ([storage.DefaultFlushSize]).
	DefaultFlushSize = storage.DefaultFlushSize

	// DefaultFlushInterval is the default of [WithFlushInterval], as with
	// LevelDB ([storage.DefaultFlushInterval]).
	DefaultFlushInterval = storage.DefaultFlushInterval

	// DefaultCacheSize is the default of [WithCacheSize]: one 32 MiB block
	// cache for all partitions of a builder.
	DefaultCacheSize = 32 << 20

	// DefaultMemTableSize is the default of [WithMemTableSize]: 4 MiB per
	// partition, Pebble's own default.
	DefaultMemTableSize = 4 << 20
)

// offsetKey is the key under which the offset is kept, the same as LevelDB's
// (and Goka's) "__offset".
const offsetKey = "__offset"

var offsetKeyBytes = []byte(offsetKey)

// markerName is the file written into a damaged directory; the same name as
// package storage's, so that [storage.CorruptedError.Discard] moves it aside.
const markerName = "DAMAGED"

// pendingOverhead approximates the memory, beyond key and value bytes, of one
// pending write (slice slot and map entry).
const pendingOverhead = 64

// Option configures the storages of a [Builder].
type Option func(*config)

type config struct {
	flushSize     int
	flushInterval time.Duration
	cacheSize     int64
	memTableSize  uint64
	options       func(*pebble.Options)
}

// WithFlushSize sets how many bytes of pending writes a storage buffers
// before it writes them in one batch (default [DefaultFlushSize]). Zero
// writes every Set, Delete and SetOffset at once. Negative sizes are
// rejected.
func WithFlushSize(bytes int) Option { return func(c *config) { c.flushSize = bytes } }

// WithFlushInterval makes a write flush if the previous flush is at least d
// old (default [DefaultFlushInterval]); checked on writes only, as with
// LevelDB. Zero disables the check. Negative durations are rejected.
func WithFlushInterval(d time.Duration) Option { return func(c *config) { c.flushInterval = d } }

// WithCacheSize sets the size in bytes of the block cache that all
// partitions of one builder share (default [DefaultCacheSize]), so that
// the cache does not grow with the partition count. It must be positive.
func WithCacheSize(bytes int64) Option { return func(c *config) { c.cacheSize = bytes } }

// WithMemTableSize sets Pebble's memtable size per partition (default
// [DefaultMemTableSize]). Pebble keeps up to two memtables per partition
// (one being flushed), so this bounds a partition's write memory. It must be
// at least 64 KiB.
func WithMemTableSize(bytes uint64) Option { return func(c *config) { c.memTableSize = bytes } }

// WithOptions lets fn change the [pebble.Options] every partition is opened
// with, after this package set its own (cache, memtable size, a silent
// logger, the plain file system). Default: none.
func WithOptions(fn func(*pebble.Options)) Option { return func(c *config) { c.options = fn } }

func newConfig(opts []Option) (config, error) {
	c := config{
		flushSize:     DefaultFlushSize,
		flushInterval: DefaultFlushInterval,
		cacheSize:     DefaultCacheSize,
		memTableSize:  DefaultMemTableSize,
	}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.flushSize < 0:
		return c, fmt.Errorf("pebble: WithFlushSize must not be negative, got %d", c.flushSize)
	case c.flushInterval < 0:
		return c, fmt.Errorf("pebble: WithFlushInterval must not be negative, got %v", c.flushInterval)
	case c.cacheSize <= 0:
		return c, fmt.Errorf("pebble: WithCacheSize must be positive, got %d", c.cacheSize)
	case c.memTableSize < 64<<10:
		return c, fmt.Errorf("pebble: WithMemTableSize must be at least 64 KiB, got %d", c.memTableSize)
	}
	return c, nil
}

// sharedCache is the block cache of a builder's open partitions: created
// with the first and released with the last, so that a builder holds no
// memory while none of its storages is open.
type sharedCache struct {
	mu    sync.Mutex
	size  int64
	cache *pebble.Cache
	users int
}

func (s *sharedCache) acquire() *pebble.Cache {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		s.cache = pebble.NewCache(s.size)
	}
	s.users++
	return s.cache
}

func (s *sharedCache) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users--; s.users == 0 {
		s.cache.Unref()
		s.cache = nil
	}
}

// Builder returns a [storage.Builder] of Pebble storages, one database per
// partition in <path>/<topic>.<partition>, created as needed. Pass it to
// goka.WithStorageBuilder or goka.WithViewStorageBuilder. Invalid options
// make every call of the builder fail.
func Builder(path string, opts ...Option) storage.Builder {
	cfg, cfgErr := newConfig(opts)
	cache := &sharedCache{size: cfg.cacheSize}
	return func(topic string, partition int32) (storage.Storage, error) {
		if cfgErr != nil {
			return nil, cfgErr
		}
		if topic == "" || topic == "." || topic == ".." || strings.ContainsAny(topic, `/\`) {
			return nil, fmt.Errorf("pebble: invalid topic name %q for a directory name", topic)
		}
		return open(filepath.Join(path, fmt.Sprintf("%s.%d", topic, partition)), cfg, cache)
	}
}

type pendingWrite struct {
	key     string
	value   []byte // in the arena
	deleted bool
}

// db is one partition's Pebble storage. Like package storage's LevelDB, it
// buffers writes (newest per key) and writes them with the offset in one
// batch; mu guards the buffer, Pebble its own state.
type db struct {
	dir   string
	cfg   config
	cache *sharedCache
	pdb   *pebble.DB

	damaged atomic.Pointer[storage.CorruptedError]

	mu            sync.RWMutex
	closed        bool
	pending       []pendingWrite
	index         map[string]int
	arena         []byte
	keySize       int
	offset        int64
	hasOffset     bool
	offsetPending bool
	lastFlush     time.Time
	batch         *pebble.Batch
	offBuf        [20]byte
}

// quietLogger drops Pebble's informational messages; errors reach the
// caller as errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func open(dir string, cfg config, cache *sharedCache) (*db, error) {
	if _, err := os.Lstat(filepath.Join(dir, markerName)); err == nil {
		data, _ := os.ReadFile(filepath.Join(dir, markerName))
		return nil, &storage.CorruptedError{Path: dir, Err: fmt.Errorf("marked damaged by an earlier run: %s", bytes.TrimSpace(data))}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pebble: open %s: %w", dir, err)
	}
	c := cache.acquire()
	o := &pebble.Options{
		Cache:        c,
		MemTableSize: cfg.memTableSize,
		Logger:       quietLogger{},
		// The plain file system, not Pebble's default disk-health
		// checking wrapper: that runs a goroutine per database, which a
		// failed Open leaves running.
		FS: vfs.Default,
	}
	if cfg.options != nil {
		cfg.options(o)
	}
	pdb, err := pebble.Open(dir, o)
	if err != nil {
		cache.release()
		if pebble.IsCorruptionError(err) {
			return nil, markDamaged(dir, err)
		}
		return nil, fmt.Errorf("pebble: open %s: %w", dir, err)
	}
	s := &db{dir: dir, cfg: cfg, cache: cache, pdb: pdb, index: map[string]int{}, lastFlush: time.Now(), batch: pdb.NewBatch()}
	v, closer, err := pdb.Get(offsetKeyBytes)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		_ = s.closeDB()
		return nil, s.dbError("read offset", err)
	default:
		off, perr := strconv.ParseInt(string(v), 10, 64)
		_ = closer.Close()
		if perr != nil {
			_ = s.closeDB()
			return nil, fmt.Errorf("pebble: %s: invalid offset under %q: %w", dir, offsetKey, perr)
		}
		s.offset, s.hasOffset = off, true
	}
	return s, nil
}

// markDamaged writes the marker into dir and returns the error that says
// so; [storage.CorruptedError.Discard] moves the directory aside.
func markDamaged(dir string, cause error) *storage.CorruptedError {
	_ = os.WriteFile(filepath.Join(dir, markerName), []byte(cause.Error()+"\n"), 0o644)
	return &storage.CorruptedError{Path: dir, Err: cause}
}

func (s *db) dbError(op string, err error) error {
	if errors.Is(err, pebble.ErrClosed) {
		return storage.ErrClosed
	}
	if pebble.IsCorruptionError(err) {
		s.damaged.CompareAndSwap(nil, markDamaged(s.dir, err))
		return s.damaged.Load()
	}
	return fmt.Errorf("pebble: %s: %s: %w", s.dir, op, err)
}

func (s *db) checkLocked() error {
	if s.closed {
		return storage.ErrClosed
	}
	if d := s.damaged.Load(); d != nil {
		return d
	}
	return nil
}

func reserved(op string) error { return fmt.Errorf("pebble: %s: %w", op, storage.ErrReservedKey) }

// Open does nothing: the builder opened the database. It fails after Close
// and once the storage is damaged.
func (s *db) Open() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.checkLocked()
}

// Close flushes pending writes (unless the storage is damaged) and closes
// the database. Calling it again returns nil.
func (s *db) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var ferr error
	if s.damaged.Load() == nil {
		ferr = s.flushLocked()
	}
	return errors.Join(ferr, s.closeDB())
}

func (s *db) closeDB() error {
	_ = s.batch.Close()
	err := s.pdb.Close()
	s.cache.release()
	if err != nil {
		return fmt.Errorf("pebble: %s: close: %w", s.dir, err)
	}
	return nil
}

// Has reports whether key exists, seeing pending writes.
func (s *db) Has(key string) (bool, error) {
	v, err := s.get("has", key, false)
	return v != nil, err
}

// Get returns a copy of the value of key, seeing pending writes, or nil.
func (s *db) Get(key string) ([]byte, error) {
	return s.get("get", key, true)
}

// get returns the value of key (non-nil if present; a copy if want).
func (s *db) get(op, key string, want bool) ([]byte, error) {
	if key == offsetKey {
		return nil, reserved(op)
	}
	s.mu.RLock()
	if err := s.checkLocked(); err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	if i, ok := s.index[key]; ok {
		var v []byte
		if p := &s.pending[i]; !p.deleted {
			v = append(make([]byte, 0, len(p.value)), p.value...)
		}
		s.mu.RUnlock()
		return v, nil
	}
	s.mu.RUnlock()
	v, closer, err := s.pdb.Get([]byte(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, s.dbError(fmt.Sprintf("%s %q", op, key), err)
	}
	out := []byte{}
	if want {
		out = append(make([]byte, 0, len(v)), v...)
	}
	_ = closer.Close()
	return out, nil
}

// Set buffers value under key; it copies value.
func (s *db) Set(key string, value []byte) error {
	if key == offsetKey {
		return reserved("set")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(); err != nil {
		return err
	}
	start := len(s.arena)
	s.arena = append(s.arena, value...)
	s.putLocked(key, s.arena[start:len(s.arena):len(s.arena)], false)
	return s.maybeFlushLocked()
}

// Delete buffers the deletion of key.
func (s *db) Delete(key string) error {
	if key == offsetKey {
		return reserved("delete")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(); err != nil {
		return err
	}
	s.putLocked(key, nil, true)
	return s.maybeFlushLocked()
}

func (s *db) putLocked(key string, value []byte, deleted bool) {
	if i, ok := s.index[key]; ok {
		s.pending[i].value, s.pending[i].deleted = value, deleted
		return
	}
	s.index[key] = len(s.pending)
	s.pending = append(s.pending, pendingWrite{key: key, value: value, deleted: deleted})
	s.keySize += len(key) + pendingOverhead
}

// GetOffset returns the last offset set, pending or written, or def.
func (s *db) GetOffset(def int64) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkLocked(); err != nil {
		return 0, err
	}
	if !s.hasOffset {
		return def, nil
	}
	return s.offset, nil
}

// SetOffset buffers offset; it is written in the batch of the values
// buffered with it.
func (s *db) SetOffset(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(); err != nil {
		return err
	}
	s.offset, s.hasOffset, s.offsetPending = offset, true, true
	return s.maybeFlushLocked()
}

// MarkRecovered flushes what recovery wrote.
func (s *db) MarkRecovered() error { return s.Flush() }

// Flush writes the pending values and the offset in one atomic batch.
func (s *db) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(); err != nil {
		return err
	}
	return s.flushLocked()
}

func (s *db) maybeFlushLocked() error {
	if len(s.arena)+s.keySize >= s.cfg.flushSize ||
		(s.cfg.flushInterval > 0 && time.Since(s.lastFlush) >= s.cfg.flushInterval) {
		return s.flushLocked()
	}
	return nil
}

// flushLocked writes pending writes and offset in one batch, without sync
// (as LevelDB and Goka: recovery replays the table topic after a crash). On
// error it keeps them for a later flush.
func (s *db) flushLocked() error {
	if len(s.pending) == 0 && !s.offsetPending {
		s.lastFlush = time.Now()
		return nil
	}
	s.batch.Reset()
	for i := range s.pending {
		p := &s.pending[i]
		// The batch copies key and value; the conversion does not allocate.
		var err error
		if p.deleted {
			err = s.batch.Delete([]byte(p.key), nil)
		} else {
			err = s.batch.Set([]byte(p.key), p.value, nil)
		}
		if err != nil {
			return fmt.Errorf("pebble: %s: batch: %w", s.dir, err)
		}
	}
	if s.offsetPending {
		if err := s.batch.Set(offsetKeyBytes, strconv.AppendInt(s.offBuf[:0], s.offset, 10), nil); err != nil {
			return fmt.Errorf("pebble: %s: batch: %w", s.dir, err)
		}
	}
	if err := s.pdb.Apply(s.batch, pebble.NoSync); err != nil {
		return s.dbError(fmt.Sprintf("write batch of %d records", s.batch.Count()), err)
	}
	s.offsetPending = false
	clear(s.pending)
	s.pending = s.pending[:0]
	clear(s.index)
	s.arena = s.arena[:0]
	s.keySize = 0
	if limit := 2*s.cfg.flushSize + 64<<10; cap(s.arena) > limit {
		s.arena = nil
	}
	s.lastFlush = time.Now()
	return nil
}

// Iterator flushes pending writes and returns an iterator over all keys.
func (s *db) Iterator() (storage.Iterator, error) { return s.newIterator(nil, nil) }

// IteratorWithRange flushes pending writes and returns an iterator over
// [start, limit), or over the keys with prefix start if limit is empty.
func (s *db) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	start = bytes.Clone(start)
	if len(limit) == 0 {
		return s.newIterator(start, prefixEnd(start))
	}
	return s.newIterator(start, bytes.Clone(limit))
}

// prefixEnd is the smallest key above every key with prefix p, or nil if
// there is none (p is empty or all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func (s *db) newIterator(lower, upper []byte) (storage.Iterator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(); err != nil {
		return nil, err
	}
	if err := s.flushLocked(); err != nil {
		return nil, err
	}
	if len(lower) == 0 {
		lower = nil // Pebble's invariant checks index a non-nil lower bound
	}
	if lower != nil && upper != nil && bytes.Compare(lower, upper) >= 0 {
		upper = lower // empty range; Pebble rejects lower > upper
	}
	it, err := s.pdb.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, s.dbError("iterate", err)
	}
	return &iterator{it: it, s: s}, nil
}

// iterator adapts a Pebble iterator, a snapshot of the database when it was
// created: it skips the offset key and makes Next return the key Seek found.
type iterator struct {
	it      *pebble.Iterator
	s       *db
	started bool
	seeked  bool // Seek positioned it; Next returns seekOK without moving
	seekOK  bool
	err     error
}

func (i *iterator) Next() bool {
	var ok bool
	switch {
	case i.seeked:
		ok, i.seeked = i.seekOK, false
	case !i.started:
		ok = i.it.First()
	default:
		ok = i.it.Next()
	}
	i.started = true
	for ok && bytes.Equal(i.it.Key(), offsetKeyBytes) {
		ok = i.it.Next()
	}
	return ok
}

func (i *iterator) Err() error {
	if i.err != nil {
		return i.err
	}
	if err := i.it.Error(); err != nil {
		return i.s.dbError("iterate", err)
	}
	return nil
}

// Key returns the current key, valid until the next Next or Seek.
func (i *iterator) Key() []byte { return i.it.Key() }

// Value returns the current value, valid until the next Next or Seek.
func (i *iterator) Value() ([]byte, error) {
	v, err := i.it.ValueAndErr()
	if err != nil {
		i.err = i.s.dbError("iterate", err)
		return nil, i.err
	}
	return v, nil
}

func (i *iterator) Release() { _ = i.it.Close() }

func (i *iterator) Seek(key []byte) bool {
	var ok bool
	if len(key) == 0 {
		ok = i.it.First() // the same; Pebble's invariant checks index a non-nil seek key
	} else {
		ok = i.it.SeekGE(key)
	}
	for ok && bytes.Equal(i.it.Key(), offsetKeyBytes) {
		ok = i.it.Next()
	}
	i.started, i.seeked, i.seekOK = true, true, ok
	return ok
}

// Compile-time checks.
var (
	_ storage.Storage  = (*db)(nil)
	_ storage.Flusher  = (*db)(nil)
	_ storage.Iterator = (*iterator)(nil)
)
