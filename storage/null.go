package storage

import "sync/atomic"

// Null is a storage that stores nothing: writes succeed and are dropped, Get
// returns nil, Has returns false, GetOffset returns its default and
// iterators are empty. It suits tables whose content is never read. It is
// safe for concurrent use.
type Null struct {
	recovered atomic.Bool
}

// NewNull returns a new *Null storage.
func NewNull() Storage {
	return new(Null)
}

// Open does nothing.
func (*Null) Open() error { return nil }

// Close does nothing.
func (*Null) Close() error { return nil }

// Has returns false.
func (*Null) Has(string) (bool, error) { return false, nil }

// Get returns nil.
func (*Null) Get(string) ([]byte, error) { return nil, nil }

// Set does nothing.
func (*Null) Set(string, []byte) error { return nil }

// Delete does nothing.
func (*Null) Delete(string) error { return nil }

// GetOffset returns def.
func (*Null) GetOffset(def int64) (int64, error) { return def, nil }

// SetOffset does nothing.
func (*Null) SetOffset(int64) error { return nil }

// MarkRecovered records that recovery is done; see Recovered.
func (n *Null) MarkRecovered() error {
	n.recovered.Store(true)
	return nil
}

// Recovered reports whether MarkRecovered was called.
func (n *Null) Recovered() bool { return n.recovered.Load() }

// Iterator returns an empty iterator.
func (*Null) Iterator() (Iterator, error) { return new(NullIter), nil }

// IteratorWithRange returns an empty iterator.
func (*Null) IteratorWithRange(_, _ []byte) (Iterator, error) { return new(NullIter), nil }

// NullIter is an empty iterator.
type NullIter struct{}

// Next returns false.
func (*NullIter) Next() bool { return false }

// Err returns nil.
func (*NullIter) Err() error { return nil }

// Key returns nil.
func (*NullIter) Key() []byte { return nil }

// Value returns nil.
func (*NullIter) Value() ([]byte, error) { return nil, nil }

// Release does nothing.
func (*NullIter) Release() {}

// Seek returns false.
func (*NullIter) Seek([]byte) bool { return false }
