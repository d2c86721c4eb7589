package storage

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/iterator"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// pendingOverhead approximates the memory, beyond the key and value bytes,
// that one pending write costs: its slot in the pending slice and its map
// entry. It makes the flush size a bound on memory even for tiny records.
const pendingOverhead = 64

// smallIndex is the least size up to which the pending index map is
// cleared and reused after a flush (see reuseIndex).
const smallIndex = 256

// pendingWrite is a buffered Set or Delete.
type pendingWrite struct {
	key     string // owned: strings are immutable
	value   []byte // slice of levelDB.arena; unused for deletes
	deleted bool
}

// levelDB is the LevelDB storage. It buffers writes in memory (the pending
// writes, indexed by key, with their values in one arena) and writes them to
// LevelDB together with the offset in one batch. See the package
// documentation, section "Batching and durability".
type levelDB struct {
	db   *leveldb.DB
	name string // directory, or "leveldb" if unknown; for error messages
	dir  string // directory, or "" if unknown (New); for the damage marker
	cfg  levelDBConfig

	// damaged is set once LevelDB reported corrupt data; every later call
	// but Close returns it. See the package documentation, section
	// "Damaged storage".
	damaged atomic.Pointer[CorruptedError]

	mu      sync.RWMutex
	closed  bool
	index   map[string]int // key → position in pending
	pending []pendingWrite // distinct keys, in order of first write
	arena   []byte         // values of pending; reset by flush
	keySize int            // bytes of pending keys plus pendingOverhead each

	offset        int64 // last offset set, written or pending
	hasOffset     bool  // offset is valid
	offsetPending bool  // offset not yet written to LevelDB

	lastFlush time.Time

	// Reused by flush. Only touched with mu held for writing.
	batch  leveldb.Batch
	keyBuf []byte
	offBuf [20]byte
}

var _ interface {
	Storage
	Flusher
} = (*levelDB)(nil)

// New returns a storage that keeps its data in db, with the default batching
// settings (see [DefaultFlushSize] and [DefaultFlushInterval]). The storage
// owns db: Close closes it. New reads the offset stored under "__offset" and
// fails if it is not an ASCII decimal int64.
func New(db *leveldb.DB) (Storage, error) {
	return NewLevelDB(db)
}

// NewLevelDB is like [New] but takes options. [WithDBOptions] has no effect
// here since db is open already.
func NewLevelDB(db *leveldb.DB, opts ...LevelDBOption) (Storage, error) {
	cfg, err := newLevelDBConfig(opts)
	if err != nil {
		return nil, err
	}
	return newLevelDB(db, "", cfg)
}

// newLevelDB returns the storage of db, which was opened in dir ("" if
// unknown).
func newLevelDB(db *leveldb.DB, dir string, cfg levelDBConfig) (*levelDB, error) {
	if db == nil {
		return nil, errors.New("storage: nil *leveldb.DB")
	}
	name := dir
	if name == "" {
		name = "leveldb"
	}
	s := &levelDB{
		db:        db,
		name:      name,
		dir:       dir,
		cfg:       cfg,
		index:     make(map[string]int),
		lastFlush: time.Now(),
	}
	data, err := db.Get(offsetKeyBytes, nil)
	switch {
	case errors.Is(err, leveldb.ErrNotFound):
	case isCorruption(err):
		return nil, s.damage(fmt.Errorf("read offset: %w", err))
	case err != nil:
		return nil, s.errorf("read offset: %w", err)
	default:
		if s.offset, err = decodeOffset(data); err != nil {
			return nil, s.errorf("%w", err)
		}
		s.hasOffset = true
	}
	return s, nil
}

func (s *levelDB) errorf(format string, args ...any) error {
	return fmt.Errorf("storage: %s: "+format, append([]any{s.name}, args...)...)
}

// damage records that LevelDB reported corrupt data, marks the directory
// (see markerName) and returns the error that this and every later call
// but Close return.
func (s *levelDB) damage(cause error) error {
	if ce := s.damaged.Load(); ce != nil {
		return ce
	}
	s.damaged.CompareAndSwap(nil, corrupted(s.dir, cause))
	return s.damaged.Load()
}

// broken returns the error of a damaged storage, or nil.
func (s *levelDB) broken() error {
	if ce := s.damaged.Load(); ce != nil {
		return ce
	}
	return nil
}

func (s *levelDB) reserved(op string) error {
	return s.errorf("%s: %w", op, ErrReservedKey)
}

// Open does nothing: the database was opened by the builder or passed to
// New. It fails after Close and once the storage is damaged.
func (s *levelDB) Open() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.broken()
}

// Close flushes pending writes and closes the database. A failed flush
// loses the pending writes together with their offset; the database is
// closed anyway. A damaged storage is closed without flushing: its damage
// was reported already and it is to be rebuilt. Calling Close again returns
// nil.
func (s *levelDB) Close() error {
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
	if err := s.db.Close(); err != nil {
		return errors.Join(ferr, s.errorf("close: %w", err))
	}
	return ferr
}

// Has reports whether key exists, seeing pending writes.
func (s *levelDB) Has(key string) (bool, error) {
	if key == offsetKey {
		return false, s.reserved("has")
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return false, ErrClosed
	}
	if err := s.broken(); err != nil {
		s.mu.RUnlock()
		return false, err
	}
	if i, ok := s.index[key]; ok {
		deleted := s.pending[i].deleted
		s.mu.RUnlock()
		return !deleted, nil
	}
	s.mu.RUnlock()

	// Not pending: LevelDB has the latest value. A write racing with this
	// read is seen or not, as with any concurrent read.
	ok, err := s.db.Has([]byte(key), nil)
	if err != nil {
		return false, s.dbError("has", key, err)
	}
	return ok, nil
}

// Get returns a copy of the value of key, seeing pending writes, or nil if
// key does not exist.
func (s *levelDB) Get(key string) ([]byte, error) {
	if key == offsetKey {
		return nil, s.reserved("get")
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	if err := s.broken(); err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	if i, ok := s.index[key]; ok {
		var value []byte
		if p := &s.pending[i]; !p.deleted {
			// Copy before unlocking: a flush reuses the arena.
			value = append(make([]byte, 0, len(p.value)), p.value...)
		}
		s.mu.RUnlock()
		return value, nil
	}
	s.mu.RUnlock()

	value, err := s.db.Get([]byte(key), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, s.dbError("get", key, err)
	}
	if value == nil {
		// goleveldb returns nil for an empty value; nil means absent.
		value = []byte{}
	}
	return value, nil
}

func (s *levelDB) dbError(op, key string, err error) error {
	if errors.Is(err, leveldb.ErrClosed) {
		return ErrClosed
	}
	if isCorruption(err) {
		return s.damage(fmt.Errorf("%s %q: %w", op, key, err))
	}
	return s.errorf("%s %q: %w", op, key, err)
}

// Set buffers value under key. It copies value; the caller may reuse it.
func (s *levelDB) Set(key string, value []byte) error {
	if key == offsetKey {
		return s.reserved("set")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.broken(); err != nil {
		return err
	}
	start := len(s.arena)
	s.arena = append(s.arena, value...)
	s.putLocked(key, s.arena[start:len(s.arena):len(s.arena)], false)
	return s.maybeFlushLocked()
}

// Delete buffers the deletion of key.
func (s *levelDB) Delete(key string) error {
	if key == offsetKey {
		return s.reserved("delete")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.broken(); err != nil {
		return err
	}
	s.putLocked(key, nil, true)
	return s.maybeFlushLocked()
}

func (s *levelDB) putLocked(key string, value []byte, deleted bool) {
	if i, ok := s.index[key]; ok {
		p := &s.pending[i]
		p.value, p.deleted = value, deleted
		return
	}
	s.index[key] = len(s.pending)
	s.pending = append(s.pending, pendingWrite{key: key, value: value, deleted: deleted})
	s.keySize += len(key) + pendingOverhead
}

// GetOffset returns the last offset set, pending or written, or def if no
// offset was ever stored.
func (s *levelDB) GetOffset(def int64) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	if err := s.broken(); err != nil {
		return 0, err
	}
	if !s.hasOffset {
		return def, nil
	}
	return s.offset, nil
}

// SetOffset buffers offset; it is written in the same batch as the values
// buffered with it.
func (s *levelDB) SetOffset(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.broken(); err != nil {
		return err
	}
	s.offset, s.hasOffset, s.offsetPending = offset, true, true
	return s.maybeFlushLocked()
}

// MarkRecovered flushes what recovery wrote.
func (s *levelDB) MarkRecovered() error {
	return s.Flush()
}

// Flush writes the pending values and offset to LevelDB in one atomic batch.
func (s *levelDB) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.broken(); err != nil {
		return err
	}
	return s.flushLocked()
}

// pendingSize approximates the memory held by pending writes.
func (s *levelDB) pendingSize() int {
	return len(s.arena) + s.keySize
}

func (s *levelDB) maybeFlushLocked() error {
	if s.pendingSize() >= s.cfg.flushSize ||
		(s.cfg.flushInterval > 0 && time.Since(s.lastFlush) >= s.cfg.flushInterval) {
		return s.flushLocked()
	}
	return nil
}

// flushLocked writes pending writes and offset in one batch. On error it
// keeps them, so a later flush may retry.
func (s *levelDB) flushLocked() error {
	if len(s.pending) == 0 && !s.offsetPending {
		s.lastFlush = time.Now()
		return nil
	}
	s.batch.Reset()
	for i := range s.pending {
		p := &s.pending[i]
		s.keyBuf = append(s.keyBuf[:0], p.key...) // the batch copies it
		if p.deleted {
			s.batch.Delete(s.keyBuf)
		} else {
			s.batch.Put(s.keyBuf, p.value)
		}
	}
	if s.offsetPending {
		s.batch.Put(offsetKeyBytes, encodeOffset(s.offBuf[:0], s.offset))
	}
	if err := s.db.Write(&s.batch, nil); err != nil {
		if isCorruption(err) {
			// A compaction found a corrupt table: goleveldb fails every
			// write from then on.
			return s.damage(fmt.Errorf("write batch of %d records: %w", s.batch.Len(), err))
		}
		return s.errorf("write batch of %d records: %w", s.batch.Len(), err)
	}

	s.offsetPending = false
	clear(s.pending) // drop references to keys and the arena
	s.pending = s.pending[:0]
	if len(s.index) > s.reuseIndex() {
		s.index = make(map[string]int)
	} else {
		clear(s.index)
	}
	s.arena = s.arena[:0]
	s.keySize = 0
	// Do not keep buffers that one huge value or batch inflated.
	if limit := 2*s.cfg.flushSize + 64<<10; cap(s.arena) > limit {
		s.arena = nil
	}
	if limit := 2*s.cfg.flushSize + 64<<10; cap(s.batch.Dump()) > limit {
		s.batch = leveldb.Batch{}
	}
	s.lastFlush = time.Now()
	return nil
}

// reuseIndex is the size up to which the pending index map is cleared and
// reused after a flush: as many keys as a flush-size batch can hold, so
// that a busy storage does not grow a new map (rehashing it several
// times) after every flush. A map that grew larger (a batch written
// without a size bound) is dropped, so that its memory and the cost of
// clearing it do not stay.
func (s *levelDB) reuseIndex() int {
	return max(smallIndex, s.cfg.flushSize/pendingOverhead)
}

// Iterator flushes pending writes and returns an iterator over all keys.
func (s *levelDB) Iterator() (Iterator, error) {
	return s.newIterator(nil)
}

// IteratorWithRange flushes pending writes and returns an iterator over
// [start, limit), or over the keys with prefix start if limit is empty.
func (s *levelDB) IteratorWithRange(start, limit []byte) (Iterator, error) {
	if len(limit) == 0 {
		return s.newIterator(util.BytesPrefix(bytes.Clone(start)))
	}
	return s.newIterator(&util.Range{Start: bytes.Clone(start), Limit: bytes.Clone(limit)})
}

func (s *levelDB) newIterator(r *util.Range) (Iterator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if err := s.broken(); err != nil {
		return nil, err
	}
	if err := s.flushLocked(); err != nil {
		return nil, err
	}
	return &levelDBIterator{it: s.db.NewIterator(r, nil), s: s}, nil
}

// levelDBIterator adapts a LevelDB iterator: it skips the offset key and
// makes Seek position before the key found, so that Next returns it.
type levelDBIterator struct {
	it     iterator.Iterator
	s      *levelDB
	seeked bool // Seek positioned it; Next returns seekOK without moving
	seekOK bool
}

func (i *levelDBIterator) Next() bool {
	var ok bool
	if i.seeked {
		ok, i.seeked = i.seekOK, false
	} else {
		ok = i.it.Next()
	}
	for ok && bytes.Equal(i.it.Key(), offsetKeyBytes) {
		ok = i.it.Next()
	}
	return ok
}

func (i *levelDBIterator) Err() error {
	if err := i.it.Error(); err != nil {
		if isCorruption(err) {
			return i.s.damage(fmt.Errorf("iterate: %w", err))
		}
		return fmt.Errorf("storage: %s: iterate: %w", i.s.name, err)
	}
	return nil
}

// Key returns the current key. The slice is valid until the next call to
// Next or Seek and must not be modified.
func (i *levelDBIterator) Key() []byte { return i.it.Key() }

// Value returns the current value. The slice is valid until the next call to
// Next or Seek and must not be modified.
func (i *levelDBIterator) Value() ([]byte, error) { return i.it.Value(), nil }

func (i *levelDBIterator) Release() { i.it.Release() }

func (i *levelDBIterator) Seek(key []byte) bool {
	ok := i.it.Seek(key)
	for ok && bytes.Equal(i.it.Key(), offsetKeyBytes) {
		ok = i.it.Next()
	}
	i.seeked, i.seekOK = true, ok
	return ok
}
