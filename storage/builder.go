package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

const (
	// DefaultFlushSize is the default of [WithFlushSize]: a LevelDB storage
	// writes its pending writes once they hold about 1 MiB. This is well
	// below LevelDB's default write buffer (4 MiB), above which LevelDB
	// writes a batch through a slower transaction.
	DefaultFlushSize = 1 << 20

	// DefaultFlushInterval is the default of [WithFlushInterval]: a write
	// arriving one second or more after the last flush flushes.
	DefaultFlushInterval = time.Second
)

// LevelDBOption configures a LevelDB storage built by [LevelDBBuilder] or
// created by [NewLevelDB].
type LevelDBOption func(*levelDBConfig)

type levelDBConfig struct {
	dbOptions     *opt.Options
	flushSize     int
	flushInterval time.Duration
	// WithMemoryBudget (budget.go)
	budget           int64
	budgetPartitions int
}

// WithDBOptions sets the options LevelDB is opened with. The default, nil,
// means goleveldb's defaults, as in Goka's DefaultBuilder, except for the
// strict level. If o.Strict is 0 (unset), the builders use goleveldb's
// default strict level plus opt.StrictJournal and opt.StrictManifest, so
// that a damaged journal or manifest fails the open with a
// [*CorruptedError] (see the package documentation, section "Damaged
// storage"); o itself is not modified. A Strict set by the caller is used
// as given: without StrictJournal, goleveldb skips damaged journal records
// at open and the writes in them are lost without an error, while the
// stored offset says they were applied; without StrictBlockChecksum, a
// damaged table file may return wrong values. It has no effect on
// [NewLevelDB], which gets an open database.
func WithDBOptions(o *opt.Options) LevelDBOption {
	return func(c *levelDBConfig) { c.dbOptions = o }
}

// WithFlushSize sets how much memory, in bytes, pending writes may hold before
// the storage flushes them by itself (default [DefaultFlushSize]). The size
// counts keys and values plus about 64 bytes per key; it bounds the memory a
// storage uses for buffering, whatever the size of the table. A larger size
// means fewer, larger LevelDB writes. Zero writes every Set, Delete and
// SetOffset at once, one batch each, as Goka does after recovery. Negative
// sizes are rejected.
func WithFlushSize(bytes int) LevelDBOption {
	return func(c *levelDBConfig) { c.flushSize = bytes }
}

// WithFlushInterval makes a write flush if the previous flush is at least d
// old (default [DefaultFlushInterval]), so that a slow stream of writes
// reaches disk at least that often. The interval is checked on writes only:
// the storage starts no goroutine and no timer, so the last writes before a
// pause stay pending until the next write, Flush, MarkRecovered, Iterator
// or Close. Zero disables the check. Negative durations are rejected.
func WithFlushInterval(d time.Duration) LevelDBOption {
	return func(c *levelDBConfig) { c.flushInterval = d }
}

func newLevelDBConfig(opts []LevelDBOption) (levelDBConfig, error) {
	cfg := levelDBConfig{
		flushSize:     DefaultFlushSize,
		flushInterval: DefaultFlushInterval,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.flushSize < 0 {
		return cfg, fmt.Errorf("storage: flush size must not be negative, got %d", cfg.flushSize)
	}
	if cfg.flushInterval < 0 {
		return cfg, fmt.Errorf("storage: flush interval must not be negative, got %v", cfg.flushInterval)
	}
	return cfg, cfg.validateBudget()
}

// DefaultBuilder returns a builder of LevelDB storages, one database per
// partition in the directory <path>/<topic>.<partition>, created as needed.
// It uses goleveldb's default options with strict journal and manifest
// checks (see [WithDBOptions]) and the default batching settings.
func DefaultBuilder(path string) Builder {
	return LevelDBBuilder(path)
}

// BuilderWithOptions is like [DefaultBuilder] but opens LevelDB with opts.
func BuilderWithOptions(path string, opts *opt.Options) Builder {
	return LevelDBBuilder(path, WithDBOptions(opts))
}

// LevelDBBuilder returns a builder of LevelDB storages in
// <path>/<topic>.<partition>, configured by opts. Invalid options make every
// call of the builder fail.
func LevelDBBuilder(path string, opts ...LevelDBOption) Builder {
	cfg, cfgErr := newLevelDBConfig(opts)
	return func(topic string, partition int32) (Storage, error) {
		if cfgErr != nil {
			return nil, cfgErr
		}
		if topic == "" || topic == "." || topic == ".." || strings.ContainsAny(topic, `/\`) {
			return nil, fmt.Errorf("storage: invalid topic name %q for a directory name", topic)
		}
		dir := filepath.Join(path, fmt.Sprintf("%s.%d", topic, partition))
		return openLevelDB(dir, cfg)
	}
}

// openLevelDB opens or creates the database in dir. It fails with a
// *CorruptedError, and marks dir damaged, if LevelDB finds dir damaged or
// an earlier storage marked it so.
func openLevelDB(dir string, cfg levelDBConfig) (*levelDB, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	if err := checkMarker(dir); err != nil {
		return nil, err
	}
	cfg, o := cfg.budgeted()
	db, err := leveldb.OpenFile(dir, o)
	if err != nil {
		if isCorruption(err) {
			return nil, corrupted(dir, fmt.Errorf("open: %w", err))
		}
		if isLocked(err) {
			return nil, fmt.Errorf("storage: open %s: in use by another storage or process: %w", dir, err)
		}
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	s, err := newLevelDB(db, dir, cfg)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

// MemoryBuilder returns a builder of empty memory storages, a new one per
// call.
func MemoryBuilder() Builder {
	return func(string, int32) (Storage, error) {
		return NewMemory(), nil
	}
}
