package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/e3793d55/goka/storage"
)

const (
	// offsetKey is the hash field that holds the offset, as in Goka.
	offsetKey = "__offset"

	// DefaultTimeout bounds every round trip to Redis (one command, one
	// MULTI/EXEC transaction or one HSCAN batch) unless [WithTimeout] sets
	// another bound.
	DefaultTimeout = 5 * time.Second

	// DefaultWriteBuffer is the number of buffered writes (Set and Delete) at
	// which a write flushes the buffer by itself, unless [WithWriteBuffer]
	// sets another number.
	DefaultWriteBuffer = 1000

	// scanCount is the COUNT hint of every HSCAN call.
	scanCount = 1000

	// maxArgs is the most fields one HSET or HDEL of a flush carries.
	maxArgs = 1000
)

var (
	// ErrClosed is returned by every method of a storage after Close.
	ErrClosed = errors.New("redis storage: closed")

	// ErrDataLost is returned when a hash that held an offset (read or written
	// by this storage) no longer has one: Redis lost the partition (a restart
	// without persistence, FLUSHALL, eviction or a deleted hash). The storage
	// cannot serve correct reads any more; the partition must be recovered
	// from Kafka, see the package documentation.
	ErrDataLost = errors.New("redis storage: data lost")

	// ErrReservedKey is returned for the key "__offset", the field that holds
	// the offset.
	ErrReservedKey = errors.New(`redis storage: key "__offset" is reserved for the offset`)
)

// Option configures a storage created by [New] or [RedisBuilder].
type Option func(*config)

// config is the one place for the options, their defaults and their
// validation.
type config struct {
	timeout     time.Duration
	writeBuffer int
}

func newConfig(opts []Option) (config, error) {
	cfg := config{timeout: DefaultTimeout, writeBuffer: DefaultWriteBuffer}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if cfg.timeout <= 0 {
		return cfg, fmt.Errorf("redis storage: WithTimeout(%v): the timeout must be positive", cfg.timeout)
	}
	if cfg.writeBuffer < 0 {
		return cfg, fmt.Errorf("redis storage: WithWriteBuffer(%d): the buffer size must not be negative", cfg.writeBuffer)
	}
	return cfg, nil
}

// WithTimeout bounds every round trip to Redis: one command, one MULTI/EXEC
// transaction or one HSCAN batch. The default is [DefaultTimeout].
//
// The bound reaches the socket only if the client was created with
// ContextTimeoutEnabled: true. Otherwise go-redis ignores context deadlines
// for reads and writes, and each attempt is bounded by the client's
// ReadTimeout and WriteTimeout instead (see the package documentation).
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithWriteBuffer sets how many writes (Set and Delete) are buffered before a
// write flushes the buffer to Redis by itself. Flush, MarkRecovered and Close
// flush too. 0 or 1 disables buffering: every Set, Delete and SetOffset is
// written to Redis before it returns, as in Goka. The default is
// [DefaultWriteBuffer].
func WithWriteBuffer(n int) Option {
	return func(c *config) { c.writeBuffer = n }
}

// RedisBuilder returns a [storage.Builder] that keeps each partition in the
// Redis hash <namespace>:<topic>:<partition>. The builder returns an error if
// namespace or topic is empty, partition is negative, client is nil, an option
// is invalid or Redis does not answer PING.
func RedisBuilder(client *redis.Client, namespace string, opts ...Option) storage.Builder { //nolint:revive // Goka's name, kept for compatibility
	return func(topic string, partition int32) (storage.Storage, error) {
		if namespace == "" {
			return nil, errors.New("redis storage: empty namespace: RedisBuilder needs one to name the hashes <namespace>:<topic>:<partition>")
		}
		if topic == "" {
			return nil, fmt.Errorf("redis storage: namespace %q: empty topic", namespace)
		}
		if partition < 0 {
			return nil, fmt.Errorf("redis storage: namespace %q, topic %q: negative partition %d", namespace, topic, partition)
		}
		return New(client, fmt.Sprintf("%s:%s:%d", namespace, topic, partition), opts...)
	}
}

// New returns a storage that keeps its keys in the Redis hash named hash. It
// returns an error if client is nil, hash is empty, an option is invalid, the
// client could block forever (see the package documentation), Redis does not
// answer PING within the timeout, or the Redis key hash exists but is not a
// hash.
//
// The storage does not own client: Close leaves it open.
func New(client *redis.Client, hash string, opts ...Option) (storage.Storage, error) {
	if client == nil {
		return nil, errors.New("redis storage: nil client")
	}
	if hash == "" {
		return nil, errors.New("redis storage: empty hash name")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	o := client.Options()
	if !bounded(o.ReadTimeout, o.ContextTimeoutEnabled) || !bounded(o.WriteTimeout, o.ContextTimeoutEnabled) {
		return nil, fmt.Errorf("redis storage: client for %s can block forever: its ReadTimeout or WriteTimeout is disabled and ContextTimeoutEnabled is false; "+
			"set ContextTimeoutEnabled: true (recommended, then WithTimeout bounds every call) or positive timeouts", o.Addr)
	}
	s := &redisStorage{
		client:  client,
		hash:    hash,
		addr:    o.Addr,
		timeout: cfg.timeout,
		flushAt: max(cfg.writeBuffer, 1),
		pending: make(map[string]write),
		spare:   make(map[string]write),
	}

	if err := s.ping(); err != nil {
		return nil, err
	}
	// Remember whether the hash holds an offset, so that its loss is noticed.
	ctx, cancel := s.context()
	defer cancel()
	exists, err := client.HExists(ctx, hash, offsetKey).Result()
	if err != nil {
		return nil, s.fail("hexists "+offsetKey, err)
	}
	s.offsetStored.Store(exists)
	return s, nil
}

func (s *redisStorage) ping() error {
	ctx, cancel := s.context()
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis storage: ping %s (hash %q): %w", s.addr, s.hash, s.explain(err))
	}
	return nil
}

// bounded reports whether go-redis puts a deadline on socket reads or writes
// given a normalized ReadTimeout or WriteTimeout: a positive value bounds
// them; 0 means "no timeout" but lets a context deadline through if
// ContextTimeoutEnabled; -1 skips deadlines altogether.
func bounded(d time.Duration, contextTimeoutEnabled bool) bool {
	return d > 0 || (d == 0 && contextTimeoutEnabled)
}

// write is one buffered write: a value to set or a deletion.
type write struct {
	value   []byte
	deleted bool
}

// maybeOffset is an offset that may be unset.
type maybeOffset struct {
	value int64
	ok    bool
}

// redisStorage implements storage.Storage and storage.Flusher.
//
// Writes go to pending. Flush moves pending to flushing, writes flushing to
// Redis in one MULTI/EXEC transaction and drops it; on failure it puts the
// writes back under newer ones. Reads look at pending, then flushing, then
// Redis, all under mu, so a key is always found in one of the three.
type redisStorage struct {
	client  *redis.Client
	hash    string
	addr    string
	timeout time.Duration
	flushAt int

	// flushMu is held exclusively by Flush for the whole transaction and
	// shared by iterator construction, so that no write moves from the buffer
	// to Redis while an iterator scans Redis and then overlays the buffer.
	flushMu sync.RWMutex

	mu             sync.Mutex // guards the fields below
	pending        map[string]write
	spare          map[string]write // empty map reused as the next pending
	flushing       map[string]write // writes of the running flush, nil otherwise
	offset         maybeOffset
	flushingOffset maybeOffset
	closed         bool
	lost           error // the ErrDataLost error, once Redis lost the hash

	// offsetStored is true once this storage has seen or written the offset
	// field in Redis. From then on a missing offset field means ErrDataLost.
	offsetStored atomic.Bool
}

var (
	_ storage.Storage = (*redisStorage)(nil)
	_ storage.Flusher = (*redisStorage)(nil)
)

func (s *redisStorage) context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// explain adds the bound to timeout errors.
func (s *redisStorage) explain(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("no answer within %v: %w", s.timeout, err)
	}
	return err
}

// fail wraps an error of a Redis call with the hash, the address and the
// operation.
func (s *redisStorage) fail(op string, err error) error {
	return fmt.Errorf("redis storage: hash %q at %s: %s: %w", s.hash, s.addr, op, s.explain(err))
}

func (s *redisStorage) errClosed() error {
	return fmt.Errorf("%w: hash %q", ErrClosed, s.hash)
}

// errLost returns an ErrDataLost error and puts the storage in the lost
// state, in which every call returns it and nothing is written to Redis any
// more.
func (s *redisStorage) errLost(op string) error {
	err := fmt.Errorf("%w: hash %q at %s: %s: the field %s is gone although this storage read or wrote it "+
		"(Redis restarted without persistence, was flushed, evicted the hash or the hash was deleted); "+
		"recover the partition from Kafka by restarting the processor or view", ErrDataLost, s.hash, s.addr, op, offsetKey)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost == nil {
		s.lost = err
	}
	return err
}

// usable returns ErrClosed after Close and the ErrDataLost error after a data
// loss. The caller holds mu.
func (s *redisStorage) usable() error {
	if s.closed {
		return s.errClosed()
	}
	return s.lost
}

func (s *redisStorage) checkKey(key string) error {
	if key == offsetKey {
		return fmt.Errorf("%w (hash %q)", ErrReservedKey, s.hash)
	}
	return nil
}

// Open returns ErrClosed after Close, the ErrDataLost error after a data loss
// and nil otherwise: New already checked the connection.
func (s *redisStorage) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usable()
}

// Close flushes the buffered writes and closes the storage, but not the
// client. Closing twice returns nil. After a data loss Close drops the buffer
// and returns nil: the loss was reported when it was found.
func (s *redisStorage) Close() error {
	s.mu.Lock()
	closed, lost := s.closed, s.lost != nil
	s.mu.Unlock()
	if closed {
		return nil
	}
	var err error
	if !lost { // after a data loss the buffer is dropped: Kafka has it
		err = s.Flush()
	}
	s.mu.Lock()
	s.closed = true
	s.pending, s.spare, s.offset = nil, nil, maybeOffset{}
	s.mu.Unlock()
	return err
}

// buffered returns the buffered write of key, if any.
func (s *redisStorage) buffered(key string) (write, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return write{}, false, err
	}
	if w, ok := s.pending[key]; ok {
		return w, true, nil
	}
	if w, ok := s.flushing[key]; ok {
		return w, true, nil
	}
	return write{}, false, nil
}

// fetch reads key from Redis together with the offset field, so that a lost
// hash is noticed. It returns nil for a missing key.
func (s *redisStorage) fetch(op, key string) ([]byte, bool, error) {
	expect := s.offsetStored.Load()
	ctx, cancel := s.context()
	defer cancel()
	vals, err := s.client.HMGet(ctx, s.hash, key, offsetKey).Result()
	if err != nil {
		return nil, false, s.fail(op, err)
	}
	if len(vals) != 2 {
		return nil, false, s.fail(op, fmt.Errorf("HMGET returned %d values, want 2", len(vals)))
	}
	if expect && vals[1] == nil {
		return nil, false, s.errLost(op)
	}
	switch v := vals[0].(type) {
	case nil:
		return nil, false, nil
	case string:
		return []byte(v), true, nil
	default:
		return nil, false, s.fail(op, fmt.Errorf("unexpected value type %T", v))
	}
}

// Has reports whether key exists, in the buffer or in Redis.
func (s *redisStorage) Has(key string) (bool, error) {
	if err := s.checkKey(key); err != nil {
		return false, err
	}
	w, ok, err := s.buffered(key)
	if err != nil {
		return false, err
	}
	if ok {
		return !w.deleted, nil
	}
	_, found, err := s.fetch(fmt.Sprintf("has %q", key), key)
	return found, err
}

// Get returns the value of key, or nil and no error if key does not exist.
func (s *redisStorage) Get(key string) ([]byte, error) {
	if err := s.checkKey(key); err != nil {
		return nil, err
	}
	w, ok, err := s.buffered(key)
	if err != nil {
		return nil, err
	}
	if ok {
		if w.deleted {
			return nil, nil
		}
		return append([]byte{}, w.value...), nil
	}
	v, _, err := s.fetch(fmt.Sprintf("get %q", key), key)
	return v, err
}

// Set buffers value under key (a nil value is stored as an empty value) and
// flushes when the buffer is full.
func (s *redisStorage) Set(key string, value []byte) error {
	return s.buffer(key, write{value: append([]byte{}, value...)})
}

// Delete buffers the deletion of key and flushes when the buffer is full.
func (s *redisStorage) Delete(key string) error {
	return s.buffer(key, write{deleted: true})
}

func (s *redisStorage) buffer(key string, w write) error {
	if err := s.checkKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	s.pending[key] = w
	full := len(s.pending) >= s.flushAt
	s.mu.Unlock()
	if full {
		return s.Flush()
	}
	return nil
}

// GetOffset returns the buffered offset, else the one in Redis, else def.
func (s *redisStorage) GetOffset(def int64) (int64, error) {
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	off := s.offset
	if !off.ok {
		off = s.flushingOffset
	}
	s.mu.Unlock()
	if off.ok {
		return off.value, nil
	}

	expect := s.offsetStored.Load()
	ctx, cancel := s.context()
	defer cancel()
	raw, err := s.client.HGet(ctx, s.hash, offsetKey).Result()
	if errors.Is(err, redis.Nil) {
		if expect {
			return 0, s.errLost("get offset")
		}
		return def, nil
	}
	if err != nil {
		return 0, s.fail("get offset", err)
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("redis storage: hash %q at %s: field %s holds %q, not a decimal offset: %w", s.hash, s.addr, offsetKey, raw, err)
	}
	s.offsetStored.Store(true)
	return v, nil
}

// SetOffset buffers the offset; it is written together with the buffered
// values by the next flush. Without buffering it is written at once.
func (s *redisStorage) SetOffset(offset int64) error {
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	s.offset = maybeOffset{value: offset, ok: true}
	s.mu.Unlock()
	if s.flushAt <= 1 {
		return s.Flush()
	}
	return nil
}

// MarkRecovered flushes what recovery wrote.
func (s *redisStorage) MarkRecovered() error {
	return s.Flush()
}

// Flush writes the buffered values, deletions and offset to Redis in one
// MULTI/EXEC transaction. On failure the writes stay buffered (under any
// newer ones) and the next Flush retries them.
func (s *redisStorage) Flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()

	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	if len(s.pending) == 0 && !s.offset.ok {
		s.mu.Unlock()
		return nil
	}
	writes, off := s.pending, s.offset
	s.flushing, s.flushingOffset = writes, off
	s.pending, s.spare, s.offset = s.spare, nil, maybeOffset{}
	s.mu.Unlock()

	err := s.commit(writes, off)

	s.mu.Lock()
	if err != nil {
		for k, w := range writes {
			if _, newer := s.pending[k]; !newer {
				s.pending[k] = w
			}
		}
		if !s.offset.ok {
			s.offset = off
		}
	}
	clear(writes)
	s.spare = writes
	s.flushing, s.flushingOffset = nil, maybeOffset{}
	s.mu.Unlock()
	return err
}

// commit runs the transaction. If this storage had seen the offset field, the
// transaction first checks that it still exists; if it does not, Redis lost
// the hash before this transaction, and commit deletes the hash again so that
// the next storage opened on it finds no offset and recovers from Kafka.
func (s *redisStorage) commit(writes map[string]write, off maybeOffset) error {
	expect := s.offsetStored.Load()
	var set []any // field, value, field, value, ...
	var del []string
	for k, w := range writes {
		if w.deleted {
			del = append(del, k)
		} else {
			set = append(set, k, w.value)
		}
	}
	if off.ok {
		set = append(set, offsetKey, strconv.FormatInt(off.value, 10))
	}

	ctx, cancel := s.context()
	defer cancel()
	var exists *redis.BoolCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if expect {
			exists = p.HExists(ctx, s.hash, offsetKey)
		}
		// Commands of at most maxArgs fields keep each one small; MULTI/EXEC
		// applies them all at once.
		for len(del) > 0 {
			n := min(len(del), maxArgs)
			p.HDel(ctx, s.hash, del[:n]...)
			del = del[n:]
		}
		for len(set) > 0 {
			n := min(len(set), 2*maxArgs)
			p.HSet(ctx, s.hash, set[:n]...)
			set = set[n:]
		}
		return nil
	})
	op := fmt.Sprintf("flush %d writes", len(writes))
	if off.ok {
		op += fmt.Sprintf(" and offset %d", off.value)
	}
	if err != nil {
		return s.fail(op, err)
	}
	if expect && !exists.Val() {
		lost := s.errLost(op)
		ctx, cancel := s.context()
		defer cancel()
		if err := s.client.Del(ctx, s.hash).Err(); err != nil {
			return errors.Join(lost, s.fail("delete the partial hash after data loss", err))
		}
		return lost
	}
	if off.ok {
		s.offsetStored.Store(true)
	}
	return nil
}

// Iterator returns an iterator over all keys in sorted byte order.
func (s *redisStorage) Iterator() (storage.Iterator, error) {
	return s.IteratorWithRange(nil, nil)
}

// IteratorWithRange returns an iterator over the keys in [start, limit) in
// sorted byte order; if limit is empty, over the keys with the prefix start.
// The iterator works on a snapshot taken when it is created, see the package
// documentation.
func (s *redisStorage) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	inRange := func(k string) bool {
		if len(limit) == 0 {
			return len(k) >= len(start) && k[:len(start)] == string(start)
		}
		return k >= string(start) && k < string(limit)
	}
	if len(limit) > 0 && string(start) >= string(limit) {
		if err := s.Open(); err != nil {
			return nil, err
		}
		return &iterator{cur: -1}, nil
	}
	prefix := start
	if len(limit) > 0 {
		prefix = commonPrefix(start, limit)
	}
	match := ""
	if len(prefix) > 0 {
		match = escapeGlob(prefix) + "*"
	}

	s.flushMu.RLock()
	defer s.flushMu.RUnlock()
	if err := s.Open(); err != nil {
		return nil, err
	}

	expect := s.offsetStored.Load()
	found := make(map[string][]byte)
	sawOffset := false
	var cursor uint64
	for {
		ctx, cancel := s.context()
		kvs, next, err := s.client.HScan(ctx, s.hash, cursor, match, scanCount).Result()
		cancel()
		if err != nil {
			return nil, s.fail(fmt.Sprintf("hscan cursor %d match %q", cursor, match), err)
		}
		for i := 0; i+1 < len(kvs); i += 2 {
			k := kvs[i]
			if k == offsetKey {
				sawOffset = true
				continue
			}
			if inRange(k) {
				found[k] = []byte(kvs[i+1])
			}
		}
		cursor = next
		if cursor == 0 {
			break
		}
	}
	if expect && !sawOffset {
		ctx, cancel := s.context()
		exists, err := s.client.HExists(ctx, s.hash, offsetKey).Result()
		cancel()
		if err != nil {
			return nil, s.fail("hexists "+offsetKey, err)
		}
		if !exists {
			return nil, s.errLost("iterate")
		}
	}

	// Overlay the buffer. flushMu keeps flushes out, so flushing is empty.
	s.mu.Lock()
	for k, w := range s.pending {
		if !inRange(k) {
			continue
		}
		if w.deleted {
			delete(found, k)
		} else {
			found[k] = append([]byte{}, w.value...)
		}
	}
	s.mu.Unlock()

	return newIterator(found), nil
}

func commonPrefix(a, b []byte) []byte {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return a[:n]
}

// escapeGlob escapes the characters that are special in a Redis MATCH
// pattern.
func escapeGlob(p []byte) string {
	out := make([]byte, 0, len(p)+4)
	for _, c := range p {
		switch c {
		case '*', '?', '[', ']', '\\':
			out = append(out, '\\')
		}
		out = append(out, c)
	}
	return string(out)
}
