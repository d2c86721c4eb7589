package storage

// Iterator iterates over the key/value pairs of a storage in key order (by
// bytes.Compare). The stored offset is never returned. Key and Value are
// valid only after Next returned true, and only until the next call to Next or
// Seek; they must not be modified. Release must be called when done. An
// iterator is not safe for concurrent use.
type Iterator interface {
	// Next advances the iterator; it returns false when exhausted or on error.
	Next() bool
	// Err returns the first error the iterator hit, if any.
	Err() error
	// Key returns the current key.
	Key() []byte
	// Value returns the current value.
	Value() ([]byte, error)
	// Release frees the resources of the iterator.
	Release()
	// Seek moves the iterator so that the next call to Next returns the first
	// key greater than or equal to key. It reports whether such a key exists.
	Seek(key []byte) bool
}

// Storage is the local copy of one partition of a table. Its methods may be
// called from several goroutines at once (the package documentation,
// section "Concurrency", says which call what).
//
// Storages that buffer writes (LevelDB does, see [Flusher]) make pending writes
// visible to reads at once and persist values and offset atomically.
type Storage interface {
	// Open prepares the storage for use.
	Open() error
	// Close flushes pending writes and releases the storage.
	Close() error

	// Has reports whether key exists.
	Has(key string) (bool, error)
	// Get returns the value of key, or nil and no error if key does not exist.
	Get(key string) ([]byte, error)
	// Set stores value under key.
	Set(key string, value []byte) error
	// Delete removes key. Deleting a missing key is not an error.
	Delete(key string) error

	// GetOffset returns the stored offset, or def if none is stored. The offset
	// is the Kafka offset of the last table record applied to the storage.
	GetOffset(def int64) (int64, error)
	// SetOffset stores the offset of the last applied table record.
	SetOffset(offset int64) error

	// MarkRecovered tells the storage that recovery is done: it persists what
	// recovery wrote.
	MarkRecovered() error

	// Iterator returns an iterator over all keys.
	Iterator() (Iterator, error)
	// IteratorWithRange returns an iterator over [start, limit). An empty limit
	// means every key with the prefix start.
	IteratorWithRange(start, limit []byte) (Iterator, error)
}

// Flusher is implemented by storages that buffer writes in memory. Flush
// writes the buffered values together with the buffered offset in one atomic
// operation. A processor calls it every goka.WithStorageFlushInterval and when
// a partition is revoked or stops; Close flushes too. Commits of input
// offsets do not wait for it: recovery replays the table topic from the
// stored offset.
type Flusher interface {
	Flush() error
}

// Builder creates the storage of one topic partition.
type Builder func(topic string, partition int32) (Storage, error)
