package storage

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// file is the append-only file storage; see NewFile.
type file struct {
	path string

	mu        sync.Mutex
	f         *os.File
	w         *bufio.Writer
	closed    bool
	recovered bool
}

// NewFile returns a write-only storage that appends every value passed to Set
// to the file <path>/part-<part>, creating the directory and the file as
// needed, as Goka's file storage does. Values are written back to back,
// without keys or separators. It reads nothing: Get returns nil, Has false,
// GetOffset its default, and iterators are empty. Delete and SetOffset do
// nothing.
//
// Writes go through a 64 KiB buffer that Flush (the storage implements
// [Flusher]), MarkRecovered and Close write to the file. It is safe for
// concurrent use.
func NewFile(path string, part int32) (Storage, error) {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("storage: file: create directory: %w", err)
	}
	name := filepath.Join(path, fmt.Sprintf("part-%d", part))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("storage: file: %w", err)
	}
	return &file{path: name, f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

var _ Flusher = (*file)(nil)

func (s *file) Open() error { return nil }

// Close flushes the buffer and closes the file. Calling it again returns nil.
func (s *file) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	werr := s.w.Flush()
	cerr := s.f.Close()
	if werr != nil {
		return fmt.Errorf("storage: file %s: write: %w", s.path, werr)
	}
	if cerr != nil {
		return fmt.Errorf("storage: file %s: close: %w", s.path, cerr)
	}
	return nil
}

func (*file) Has(string) (bool, error)   { return false, nil }
func (*file) Get(string) ([]byte, error) { return nil, nil }

// Set appends value to the file.
func (s *file) Set(_ string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, err := s.w.Write(value); err != nil {
		return fmt.Errorf("storage: file %s: write: %w", s.path, err)
	}
	return nil
}

func (*file) Delete(string) error                             { return nil }
func (*file) GetOffset(def int64) (int64, error)              { return def, nil }
func (*file) SetOffset(int64) error                           { return nil }
func (*file) Iterator() (Iterator, error)                     { return new(NullIter), nil }
func (*file) IteratorWithRange(_, _ []byte) (Iterator, error) { return new(NullIter), nil }

// MarkRecovered flushes the buffer.
func (s *file) MarkRecovered() error {
	s.mu.Lock()
	s.recovered = true
	s.mu.Unlock()
	return s.Flush()
}

// Recovered reports whether MarkRecovered was called.
func (s *file) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// Flush writes the buffered values to the file.
func (s *file) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("storage: file %s: write: %w", s.path, err)
	}
	return nil
}
