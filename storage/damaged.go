package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"
	lstorage "github.com/syndtr/goleveldb/leveldb/storage"
)

// defaultStrict is the strict level of LevelDB storages opened by the
// builders unless [WithDBOptions] sets one: goleveldb's default (journal
// and block checksums verified, a corrupt table halts reads and
// compactions) plus StrictJournal and StrictManifest, so that a damaged
// journal or manifest fails the open instead of being skipped. Skipping
// loses the writes of the damaged records for good while the stored offset,
// written later, says they were applied. StrictRecovery is left out: it
// only affects leveldb.Recover, which this package never calls.
const defaultStrict = opt.DefaultStrict | opt.StrictJournal | opt.StrictManifest

// dbOptions returns the options a builder opens LevelDB with: o, with
// defaultStrict if o sets no strict level (Strict 0 means "the default" to
// goleveldb too). o is not modified.
func dbOptions(o *opt.Options) *opt.Options {
	if o == nil {
		return &opt.Options{Strict: defaultStrict}
	}
	if o.Strict != 0 {
		return o
	}
	c := *o
	c.Strict = defaultStrict
	return &c
}

// markerName is the file a LevelDB storage writes into its directory when
// it finds the database damaged. goleveldb ignores files it does not know.
// The builders refuse to open a directory holding it, so that a damage
// found while running is not forgotten by the next start: a later strict
// open may well succeed, since it checks only the journal and the manifest.
const markerName = "DAMAGED"

// CorruptedError reports a LevelDB storage found damaged: at open, a
// corrupt journal or manifest or a missing table file; while running, a
// block that fails its checksum; or the marker an earlier run left in the
// directory. It wraps [ErrCorrupted] and Err.
//
// The builders write the marker file "DAMAGED" into the directory when they
// return a CorruptedError, and refuse to open the directory until it is
// discarded (see [CorruptedError.Discard]) or the marker removed by hand.
type CorruptedError struct {
	// Path is the LevelDB directory, or "" if the storage was created by
	// [New] or [NewLevelDB] from an open database.
	Path string
	// Err is the cause: goleveldb's error (a *errors.ErrCorrupted of
	// github.com/syndtr/goleveldb/leveldb/errors, or the storage package's
	// *ErrCorrupted), or the content of the marker.
	Err error
}

// Error names the damaged storage and the cause.
func (e *CorruptedError) Error() string {
	path := e.Path
	if path == "" {
		path = "leveldb"
	}
	return fmt.Sprintf("storage: %s is damaged: %v", path, e.Err)
}

// Unwrap returns ErrCorrupted and Err, so that errors.Is(err, ErrCorrupted)
// holds and errors.As finds goleveldb's error.
func (e *CorruptedError) Unwrap() []error { return []error{ErrCorrupted, e.Err} }

// Discard moves the damaged directory aside, to
// "<Path>.damaged-<UTC time>", and returns the new name. Nothing is
// deleted, so the damage can be examined; remove the directory when done.
// The next call of the builder finds no directory and creates an empty
// storage. Discard must only be called while no storage has the directory
// open, as is the case when a builder returned the error. It fails if Path
// is "" or the directory does not hold the marker "DAMAGED" (it was
// discarded already, or the marker could not be written), so that it never
// moves a healthy storage.
func (e *CorruptedError) Discard() (string, error) {
	if e.Path == "" {
		return "", errors.New("storage: cannot discard a damaged database of unknown directory")
	}
	if _, err := os.Lstat(filepath.Join(e.Path, markerName)); err != nil {
		return "", fmt.Errorf("storage: discard %s: not marked damaged: %w", e.Path, err)
	}
	base := e.Path + ".damaged-" + time.Now().UTC().Format("20060102T150405Z")
	aside := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		if i > 100 {
			return "", fmt.Errorf("storage: discard %s: %s exists", e.Path, base)
		}
		aside = fmt.Sprintf("%s.%d", base, i)
	}
	if err := os.Rename(e.Path, aside); err != nil {
		return "", fmt.Errorf("storage: discard %s: %w", e.Path, err)
	}
	return aside, nil
}

// Discarder is implemented by errors that report a damaged storage which can
// be thrown away, such as [*CorruptedError]. Goka's tables use it when a
// [Builder] fails with an error wrapping [ErrCorrupted]: they find the
// Discarder with errors.As, call Discard, log the place it returns, and
// call the builder again for an empty storage, which recovery fills from
// the table topic. A custom Builder that detects damage may return its own
// Discarder. Without one, the table fails rather than run on the damage.
type Discarder interface {
	error
	// Discard removes the damaged storage from where the builder looks for
	// it, keeping it for examination if it can, and returns where it was
	// kept ("" if it was deleted).
	Discard() (kept string, err error)
}

var _ Discarder = (*CorruptedError)(nil)

// isCorruption reports whether err is goleveldb's report of corrupt data.
// lerrors.IsCorrupted does not look through wrapped errors; errors.As does.
func isCorruption(err error) bool {
	var (
		dbErr *lerrors.ErrCorrupted
		fsErr *lstorage.ErrCorrupted
	)
	return errors.As(err, &dbErr) || errors.As(err, &fsErr)
}

// corrupted returns the CorruptedError of dir for cause and marks dir
// damaged (if dir is known), so that the builders refuse to open it again.
func corrupted(dir string, cause error) *CorruptedError {
	e := &CorruptedError{Path: dir, Err: cause}
	if dir == "" {
		return e
	}
	text := fmt.Sprintf("%s %v\n", time.Now().UTC().Format(time.RFC3339), cause)
	if err := os.WriteFile(filepath.Join(dir, markerName), []byte(text), 0o644); err != nil {
		e.Err = errors.Join(cause, fmt.Errorf("writing marker: %w", err))
	}
	return e
}

// checkMarker returns a CorruptedError if dir holds the damage marker.
func checkMarker(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, markerName))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("storage: open %s: read marker: %w", dir, err)
	}
	const max = 512 // a damaged marker must not make a huge error
	text := strings.TrimSpace(string(data[:min(len(data), max)]))
	return &CorruptedError{Path: dir, Err: fmt.Errorf("marked damaged in %s: %s", markerName, text)}
}
