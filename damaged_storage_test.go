package goka_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/storage"
)

// captureLogger records what is logged.
type captureLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *captureLogger) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *captureLogger) Print(v ...interface{})                 { l.add(fmt.Sprint(v...)) }
func (l *captureLogger) Println(v ...interface{})               { l.add(fmt.Sprintln(v...)) }
func (l *captureLogger) Printf(format string, v ...interface{}) { l.add(fmt.Sprintf(format, v...)) }

func (l *captureLogger) matching(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			out = append(out, s)
		}
	}
	return out
}

// damagedValue is the table value of key i: 3000 bytes, so that 30 keys
// fill about three 32 KiB journal blocks.
func damagedValue(i int) string {
	return strings.Repeat(fmt.Sprintf("%04d", i), 750)
}

// damageTest is a processor of group "damage" with a 2-partition input
// whose callback reads the table value and sets the message as the new one,
// storing its tables with LevelDB in dir.
type damageTest struct {
	t       *testing.T
	brokers []string
	dir     string
	e       *goka.Emitter
}

const damageKeys = 60

func newDamageTest(t *testing.T) *damageTest {
	brokers := cluster(t, map[string]int{"input": 2})
	return &damageTest{t: t, brokers: brokers, dir: t.TempDir(), e: emitter(t, brokers, "input", new(codec.String))}
}

func (d *damageTest) start(log goka.Logger) (*goka.Processor, *runner) {
	g := goka.DefineGroup("damage",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			_ = ctx.Value() // reads the storage
			ctx.SetValue(msg)
		}),
		goka.Persist(new(codec.String)),
	)
	p, err := goka.NewProcessor(d.brokers, g, procOpts(d.t, d.dir,
		goka.WithLogger(log),
		// Many small batches: damage in the middle of the journal then
		// hits records between intact ones.
		goka.WithStorageFlushInterval(10*time.Millisecond))...)
	require.NoError(d.t, err)
	r := run(d.t, p.Run)
	require.NoError(d.t, p.WaitForReady())
	return p, r
}

// requireAll waits until keys 0..n-1 have the values value returns.
func (d *damageTest) requireAll(p *goka.Processor, n int, value func(int) string) {
	d.t.Helper()
	eventually(d.t, 60*time.Second, func() bool {
		for i := range n {
			v, err := p.Get(key(i))
			if err != nil || v != value(i) {
				return false
			}
		}
		return true
	}, "not all of %d keys have their values", n)
}

// fill runs the processor over damageKeys keys with damagedValue, in rounds
// of 4 keys, each flushed before the next, and stops it.
func (d *damageTest) fill() {
	p, r := d.start(testLogger{})
	for round := range damageKeys / 4 {
		for i := round * 4; i < round*4+4; i++ {
			require.NoError(d.t, d.e.EmitSync(key(i), damagedValue(i)))
		}
		d.requireAll(p, round*4+4, damagedValue)
		time.Sleep(30 * time.Millisecond) // let a flush write the round
	}
	require.NoError(d.t, r.stop(d.t))
}

// largest returns the partition whose newest file with extension ext is the
// largest, that file and its size.
func (d *damageTest) largest(ext string) (part int32, file string, size int64) {
	part = -1
	for pt := range int32(2) {
		files, err := filepath.Glob(filepath.Join(d.storageDir(pt), "*"+ext))
		require.NoError(d.t, err)
		require.NotEmpty(d.t, files)
		slices.Sort(files)
		info, err := os.Stat(files[len(files)-1])
		require.NoError(d.t, err)
		if info.Size() > size {
			part, file, size = pt, files[len(files)-1], info.Size()
		}
	}
	return part, file, size
}

func (d *damageTest) storageDir(part int32) string {
	return filepath.Join(d.dir, fmt.Sprintf("damage-table.%d", part))
}

// overwrite writes n zero bytes into the middle of file of size bytes.
func (d *damageTest) overwrite(file string, size int64, n int) {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	require.NoError(d.t, err)
	_, err = f.WriteAt(make([]byte, n), size/2-int64(n)/2)
	require.NoError(d.t, err)
	require.NoError(d.t, f.Close())
}

// requireRebuilt checks that exactly part was rebuilt once, logged with
// what names the damage, and kept aside.
func (d *damageTest) requireRebuilt(p *goka.Processor, log *captureLogger, part int32, cause string) {
	d.t.Helper()
	stats := p.Stats()
	for pt := range int32(2) {
		want := 0
		if pt == part {
			want = 1
		}
		require.Equal(d.t, want, stats.Group[pt].TableStats.Rebuilds, "rebuilds of partition %d", pt)
	}
	lines := log.matching("damaged")
	require.Len(d.t, lines, 1, "log lines about damage")
	for _, s := range []string{fmt.Sprintf("damage-table/%d", part), d.storageDir(part), "rebuilding", cause} {
		require.Contains(d.t, lines[0], s)
	}
	aside, err := filepath.Glob(d.storageDir(part) + ".damaged-*")
	require.NoError(d.t, err)
	require.Len(d.t, aside, 1, "damaged copy kept for examination")
}

// TestProcessorRebuildsDamagedStorage damages the LevelDB journal of one
// partition of a stopped processor: the restarted processor must discard
// that storage, log it, count it, and recover every key from the table
// topic. goleveldb's default open skipped the damaged journal block and
// ran with the keys in it gone, at an offset that said they were applied.
func TestProcessorRebuildsDamagedStorage(t *testing.T) {
	d := newDamageTest(t)
	d.fill()

	// Damage the middle of the larger journal, a block that later intact
	// batches follow.
	part, journal, size := d.largest(".log")
	require.Greater(t, size, int64(80<<10), "journal %s too small to damage its middle block", journal)
	d.overwrite(journal, size, 4096)

	log := &captureLogger{}
	p, r := d.start(log)
	d.requireAll(p, damageKeys, damagedValue)
	d.requireRebuilt(p, log, part, filepath.Base(journal))
	require.NoError(t, r.stop(t))
}

// TestProcessorStopsOnDamageFoundWhileRunning damages a table file, which
// opening the storage does not read: the processor must stop when a
// callback's read finds it, with an error wrapping storage.ErrCorrupted,
// and the next start must rebuild the partition rather than run on it.
func TestProcessorStopsOnDamageFoundWhileRunning(t *testing.T) {
	d := newDamageTest(t)
	d.fill()
	// Opening the storages replays their journals into table files.
	for pt := range int32(2) {
		st, err := storage.DefaultBuilder(d.dir)("damage-table", pt)
		require.NoError(t, err)
		require.NoError(t, st.Close())
	}
	part, table, size := d.largest(".ldb")
	d.overwrite(table, size, 1024)

	_, r := d.start(testLogger{})
	second := func(i int) string { return "second-" + key(i) }
	for i := range damageKeys {
		require.NoError(t, d.e.EmitSync(key(i), second(i)))
	}
	err := r.wait(t, 60*time.Second)
	require.ErrorIs(t, err, storage.ErrCorrupted)
	var ce *storage.CorruptedError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, d.storageDir(part), ce.Path)
	t.Logf("Run: %v", err)

	log := &captureLogger{}
	p, r := d.start(log)
	d.requireAll(p, damageKeys, second)
	d.requireRebuilt(p, log, part, "DAMAGED")
	require.NoError(t, r.stop(t))
}
