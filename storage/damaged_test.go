package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/e3793d55/goka/storage"
)

const damagedKeys = 60

func damagedKey(i int) string { return fmt.Sprintf("key-%04d", i) }

// damagedValue is the value of key i: 1200 bytes that snappy cannot
// compress, so that the journal and the table file are about 72 KiB.
func damagedValue(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 0))
	v := make([]byte, 1200)
	for j := range v {
		v[j] = byte(r.UintN(256))
	}
	return v
}

// fill writes damagedKeys keys and their offsets through a storage of
// builder, flushing every 5 keys, and closes it. The journal then holds 12
// batches in three 32 KiB journal blocks, none of them in a table file yet:
// damage in the middle block loses records between intact ones.
func fill(t *testing.T, b storage.Builder) {
	t.Helper()
	st, err := b("topic", 0)
	must(t, err)
	for i := range damagedKeys {
		must(t, st.Set(damagedKey(i), damagedValue(i)))
		must(t, st.SetOffset(int64(i)))
		if i%5 == 4 {
			must(t, st.(storage.Flusher).Flush())
		}
	}
	must(t, st.Close())
}

// newest returns the file in dir with extension ext and the highest number.
func newest(t *testing.T, dir, ext string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	must(t, err)
	if len(files) == 0 {
		t.Fatalf("no %s file in %s", ext, dir)
	}
	slices.Sort(files) // goleveldb pads the numbers to six digits
	return files[len(files)-1]
}

// damage overwrites 4 KiB in the middle of file with data.
func damage(t *testing.T, file string, data []byte) {
	t.Helper()
	info, err := os.Stat(file)
	must(t, err)
	if info.Size() < 3*int64(len(data)) {
		t.Fatalf("%s has %d bytes, too few to damage its middle", file, info.Size())
	}
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt(data, info.Size()/2-int64(len(data))/2)
	must(t, errors.Join(err, f.Close()))
}

func damageKinds() map[string][]byte {
	garbage := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.UintN(256))
	}
	return map[string][]byte{"zeros": make([]byte, 4096), "garbage": garbage}
}

// requireCorrupted checks that err reports the damage of dir.
func requireCorrupted(t *testing.T, err error, dir string) *storage.CorruptedError {
	t.Helper()
	if !errors.Is(err, storage.ErrCorrupted) {
		t.Fatalf("error %v does not wrap ErrCorrupted", err)
	}
	var ce *storage.CorruptedError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is no *CorruptedError", err)
	}
	if ce.Path != dir {
		t.Fatalf("CorruptedError.Path = %q, want %q", ce.Path, dir)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %q does not name %s", err, dir)
	}
	return ce
}

// requireEmpty checks that b now builds an empty, usable storage.
func requireEmpty(t *testing.T, b storage.Builder) {
	t.Helper()
	st, err := b("topic", 0)
	must(t, err)
	defer func() { must(t, st.Close()) }()
	must(t, st.Open())
	if off, err := st.GetOffset(-1); err != nil || off != -1 {
		t.Fatalf("GetOffset = %d, %v; want -1 (no offset)", off, err)
	}
	it, err := st.Iterator()
	must(t, err)
	if it.Next() {
		t.Fatalf("new storage has key %q", it.Key())
	}
	it.Release()
	must(t, st.Set("k", []byte("v")))
	must(t, st.SetOffset(7))
	if v, err := st.Get("k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

// TestLevelDBDamagedJournal damages the journal of a closed storage: the
// builder must refuse to open it, and after Discard build an empty one.
func TestLevelDBDamagedJournal(t *testing.T) {
	for name, data := range damageKinds() {
		t.Run(name, func(t *testing.T) {
			path := t.TempDir()
			dir := filepath.Join(path, "topic.0")
			b := storage.DefaultBuilder(path)
			fill(t, b)
			journal := newest(t, dir, ".log")
			damage(t, journal, data)

			_, err := b("topic", 0)
			ce := requireCorrupted(t, err, dir)
			var dbErr *lerrors.ErrCorrupted
			if !errors.As(err, &dbErr) {
				t.Fatalf("error %v does not wrap goleveldb's *errors.ErrCorrupted", err)
			}
			if !strings.Contains(err.Error(), filepath.Base(journal)[:6]) {
				t.Errorf("error %q does not name the journal %s", err, journal)
			}

			// Still damaged: the marker keeps it so even for options
			// that would skip the damage.
			if _, err := storage.BuilderWithOptions(path, &opt.Options{Strict: opt.NoStrict})("topic", 0); !errors.Is(err, storage.ErrCorrupted) {
				t.Fatalf("second open: error %v, want ErrCorrupted", err)
			}

			aside, err := ce.Discard()
			must(t, err)
			if !strings.HasPrefix(aside, dir+".damaged-") {
				t.Fatalf("moved to %s, want %s.damaged-<time>", aside, dir)
			}
			// Nothing is lost for a post-mortem.
			kept, err := os.ReadFile(filepath.Join(aside, filepath.Base(journal)))
			must(t, err)
			if !bytes.Contains(kept, data) {
				t.Fatalf("moved journal does not hold the damage")
			}
			if _, err := os.Stat(filepath.Join(aside, "DAMAGED")); err != nil {
				t.Fatalf("no marker in %s: %v", aside, err)
			}
			requireEmpty(t, b)
		})
	}
}

// TestLevelDBDamagedJournalWithExplicitStrict documents the risk that
// WithDBOptions describes: a caller's strict level without StrictJournal is
// used as given, and goleveldb drops the damaged records silently.
func TestLevelDBDamagedJournalWithExplicitStrict(t *testing.T) {
	path := t.TempDir()
	b := storage.BuilderWithOptions(path, &opt.Options{Strict: opt.DefaultStrict})
	fill(t, b)
	damage(t, newest(t, filepath.Join(path, "topic.0"), ".log"), make([]byte, 4096))

	st, err := b("topic", 0)
	must(t, err)
	defer func() { must(t, st.Close()) }()
	lost := 0
	for i := range damagedKeys {
		v, err := st.Get(damagedKey(i))
		must(t, err)
		if v == nil {
			lost++
		} else if !bytes.Equal(v, damagedValue(i)) {
			t.Fatalf("key %d has a wrong value", i)
		}
	}
	if lost == 0 {
		t.Fatalf("no key lost: the test does not damage the journal")
	}
	if off, err := st.GetOffset(-1); err != nil || off != damagedKeys-1 {
		t.Fatalf("GetOffset = %d, %v; want %d", off, err, damagedKeys-1)
	}
	t.Logf("%d of %d keys lost while the offset says all were applied", lost, damagedKeys)
}

// TestLevelDBUnsetStrictIsStrict checks that options without a strict level
// get the builders' strict journal checks, and are not modified.
func TestLevelDBUnsetStrictIsStrict(t *testing.T) {
	path := t.TempDir()
	o := &opt.Options{BlockCacheCapacity: 1 << 20}
	b := storage.BuilderWithOptions(path, o)
	fill(t, b)
	damage(t, newest(t, filepath.Join(path, "topic.0"), ".log"), make([]byte, 4096))
	_, err := b("topic", 0)
	requireCorrupted(t, err, filepath.Join(path, "topic.0"))
	if o.Strict != 0 {
		t.Fatalf("options modified: Strict = %v", o.Strict)
	}
}

// TestLevelDBDamagedTable damages a table file, which an open does not
// read: the damage is found by the reads that verify its block checksums.
// The storage then fails every call, marks its directory, and the next open
// fails until the directory is discarded.
func TestLevelDBDamagedTable(t *testing.T) {
	for name, data := range damageKinds() {
		t.Run(name, func(t *testing.T) {
			path := t.TempDir()
			dir := filepath.Join(path, "topic.0")
			b := storage.DefaultBuilder(path)
			fill(t, b)
			// Opening replays the journal into a table file.
			st, err := b("topic", 0)
			must(t, err)
			must(t, st.Close())
			damage(t, newest(t, dir, ".ldb"), data[:1024])

			st, err = b("topic", 0)
			must(t, err) // the open reads no table
			var firstErr error
			for i := range damagedKeys {
				v, err := st.Get(damagedKey(i))
				if err != nil {
					firstErr = err
					break
				}
				if v != nil && !bytes.Equal(v, damagedValue(i)) {
					t.Fatalf("key %d has a wrong value", i)
				}
			}
			if firstErr == nil {
				it, err := st.Iterator()
				must(t, err)
				for it.Next() {
				}
				firstErr = it.Err()
				it.Release()
			}
			requireCorrupted(t, firstErr, dir)

			// A damaged storage is not used any further.
			if _, err := st.Get(damagedKey(0)); !errors.Is(err, storage.ErrCorrupted) {
				t.Fatalf("Get after damage: %v, want ErrCorrupted", err)
			}
			if err := st.Set("new", []byte("x")); !errors.Is(err, storage.ErrCorrupted) {
				t.Fatalf("Set after damage: %v, want ErrCorrupted", err)
			}
			if _, err := st.GetOffset(-1); !errors.Is(err, storage.ErrCorrupted) {
				t.Fatalf("GetOffset after damage: %v, want ErrCorrupted", err)
			}
			if err := st.(storage.Flusher).Flush(); !errors.Is(err, storage.ErrCorrupted) {
				t.Fatalf("Flush after damage: %v, want ErrCorrupted", err)
			}
			must(t, st.Close())

			// The next start must not run on it, although a strict open
			// would succeed.
			_, err = b("topic", 0)
			ce := requireCorrupted(t, err, dir)
			if !strings.Contains(err.Error(), "DAMAGED") {
				t.Errorf("error %q does not name the marker", err)
			}
			var d storage.Discarder
			if !errors.As(err, &d) {
				t.Fatalf("error %v is no Discarder", err)
			}
			if _, err := d.Discard(); err != nil {
				t.Fatal(err)
			}
			requireEmpty(t, b)
			if _, err := ce.Discard(); err == nil {
				t.Fatalf("second Discard moved something")
			}
		})
	}
}

// TestLevelDBDamagedWithoutDirectory checks a storage made by New from an
// open database: damage is reported, but it cannot be discarded.
func TestCorruptedErrorWithoutPath(t *testing.T) {
	ce := &storage.CorruptedError{Err: errors.New("boom")}
	if !errors.Is(ce, storage.ErrCorrupted) || ce.Error() != "storage: leveldb is damaged: boom" {
		t.Fatalf("CorruptedError = %q", ce)
	}
	if _, err := ce.Discard(); err == nil {
		t.Fatalf("Discard without path succeeded")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
