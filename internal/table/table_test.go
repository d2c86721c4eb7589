package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/e3793d55/goka/internal/leaktest"
	"github.com/e3793d55/goka/storage"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

func TestRecoveryStart(t *testing.T) {
	const none = offsetNotStored
	tests := []struct {
		name              string
		local, oldest, hw int64
		start             int64
		caughtUp          bool
		wantErr           bool
	}{
		{name: "empty partition, fresh storage", local: none, oldest: 0, hw: 0, start: sarama.OffsetOldest, caughtUp: true},
		{name: "emptied by retention, fresh storage", local: none, oldest: 7, hw: 7, start: sarama.OffsetOldest, caughtUp: true},
		{name: "fresh storage", local: none, oldest: 0, hw: 10, start: sarama.OffsetOldest},
		{name: "fresh storage, retention moved oldest", local: none, oldest: 4, hw: 10, start: sarama.OffsetOldest},
		{name: "local in the middle", local: 4, oldest: 0, hw: 10, start: 5},
		{name: "local at offset 0", local: 0, oldest: 0, hw: 10, start: 1},
		{name: "local at hwm-1", local: 9, oldest: 0, hw: 10, start: 10, caughtUp: true},
		{name: "local at hwm", local: 10, oldest: 0, hw: 10, start: 10, caughtUp: true},
		{name: "local beyond hwm", local: 15, oldest: 0, hw: 10, start: 10, caughtUp: true},
		{name: "local 0 and empty topic", local: 0, oldest: 0, hw: 0, start: 0, caughtUp: true},
		{name: "recreated topic", local: 5, oldest: 0, hw: 0, wantErr: true},
		{name: "compaction moved oldest above local+1", local: 3, oldest: 6, hw: 10, start: sarama.OffsetOldest},
		{name: "local+1 is oldest", local: 5, oldest: 6, hw: 10, start: 6},
		{name: "retention deleted everything after local", local: 5, oldest: 10, hw: 10, start: 10, caughtUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, caughtUp, err := recoveryStart(tt.local, tt.oldest, tt.hw)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("recoveryStart(%d, %d, %d) = %d, %v, nil; want an error", tt.local, tt.oldest, tt.hw, start, caughtUp)
				}
				return
			}
			if err != nil || start != tt.start || caughtUp != tt.caughtUp {
				t.Fatalf("recoveryStart(%d, %d, %d) = %d, %v, %v; want %d, %v, nil", tt.local, tt.oldest, tt.hw, start, caughtUp, err, tt.start, tt.caughtUp)
			}
		})
	}
}

// fakeOffsets serves fixed offsets and, when probe is set, answers
// NoDataBetween with it.
type fakeOffsets struct {
	oldest, hwm int64
	probe       *bool
	probes      atomic.Int32
}

func (o *fakeOffsets) GetOffset(_ context.Context, _ string, _ int32, at int64) (int64, error) {
	if at == sarama.OffsetOldest {
		return o.oldest, nil
	}
	return o.hwm, nil
}

type probingOffsets struct{ *fakeOffsets }

func (o probingOffsets) NoDataBetween(context.Context, string, int32, int64, int64) (bool, error) {
	o.probes.Add(1)
	return *o.probe, nil
}

// fakeConsumer hands out partition consumers that deliver records
// [start, end) of a topic whose record at offset i has key "k<i>" and then
// block until closed.
type fakeConsumer struct {
	sarama.Consumer
	end      int64
	notify   bool
	buffered int // channel capacity

	mu      sync.Mutex
	applied []int64 // offsets reported through RecordApplied
}

func (c *fakeConsumer) ConsumePartition(topic string, partition int32, start int64) (sarama.PartitionConsumer, error) {
	if start == sarama.OffsetOldest {
		start = 0
	}
	pc := &fakePC{msgs: make(chan *sarama.ConsumerMessage, c.buffered), errs: make(chan *sarama.ConsumerError), done: make(chan struct{})}
	pc.wg.Go(func() {
		for off := start; off < c.end; off++ {
			msg := &sarama.ConsumerMessage{Topic: topic, Partition: partition, Offset: off, Key: fmt.Appendf(nil, "k%d", off), Value: []byte("value")}
			select {
			case pc.msgs <- msg:
			case <-pc.done:
				return
			}
		}
	})
	if c.notify {
		return &notifyingPC{pc, c}, nil
	}
	return pc, nil
}

type fakePC struct {
	sarama.PartitionConsumer
	msgs chan *sarama.ConsumerMessage
	errs chan *sarama.ConsumerError
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func (pc *fakePC) Messages() <-chan *sarama.ConsumerMessage { return pc.msgs }
func (pc *fakePC) Errors() <-chan *sarama.ConsumerError     { return pc.errs }

// HighWaterMarkOffset is 0: the tests' high-water marks come from their
// offsets fakes, and a followed table only ever raises its own.
func (pc *fakePC) HighWaterMarkOffset() int64 { return 0 }
func (pc *fakePC) Close() error {
	pc.once.Do(func() {
		close(pc.done)
		pc.wg.Wait()
		close(pc.msgs)
		close(pc.errs)
	})
	return nil
}

type notifyingPC struct {
	*fakePC
	c *fakeConsumer
}

func (pc *notifyingPC) RecordApplied(offset int64) {
	pc.c.mu.Lock()
	pc.c.applied = append(pc.c.applied, offset)
	pc.c.mu.Unlock()
}

func newTestTable(t testing.TB, st storage.Storage, consumer sarama.Consumer, offsets Offsets) *Table {
	t.Helper()
	tb := New(Config{
		Topic:    "t",
		Builder:  func(string, int32) (storage.Storage, error) { return st, nil },
		Consumer: consumer,
		Offsets:  offsets,
		Apply: func(msg *sarama.ConsumerMessage, st storage.Storage) error {
			return st.Set(string(msg.Key), msg.Value)
		},
	})
	if err := tb.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tb.Close(); err != nil {
			t.Error(err)
		}
	})
	return tb
}

func TestOpenValidatesConfig(t *testing.T) {
	tb := New(Config{Topic: "t"})
	if err := tb.Open(); err == nil {
		t.Fatal("Open of a table without Builder succeeded")
	}
}

func TestRunRecoversAndNotifies(t *testing.T) {
	st := storage.NewMemory()
	c := &fakeConsumer{end: 100, notify: true}
	tb := newTestTable(t, st, c, &fakeOffsets{hwm: 100})
	if err := tb.Run(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if !tb.IsRecovered() {
		t.Fatal("not recovered after Run")
	}
	if off, err := st.GetOffset(offsetNotStored); err != nil || off != 99 {
		t.Fatalf("stored offset = %d, %v; want 99", off, err)
	}
	if v, err := tb.Get("k42"); err != nil || string(v) != "value" {
		t.Fatalf(`Get("k42") = %q, %v`, v, err)
	}
	c.mu.Lock()
	applied := c.applied
	c.mu.Unlock()
	if len(applied) != 100 || applied[0] != 0 || applied[99] != 99 {
		t.Fatalf("RecordApplied got %d offsets (%v...); want 0..99", len(applied), applied[:min(len(applied), 3)])
	}
	s := tb.Snapshot()
	if s.Status != StatusRunning || s.InputCount != 100 || s.InputLastOffset != 99 || s.Offset != 99 || s.Hwm != 100 || s.RecoveryEnd.IsZero() {
		t.Fatalf("snapshot %+v", s)
	}

	// A second run continues from the stored offset and is caught up.
	if err := tb.Run(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if s := tb.Snapshot(); s.InputCount != 100 {
		t.Fatalf("second run applied %d records; want none", s.InputCount-100)
	}
}

func TestRunProbesTheEnd(t *testing.T) {
	for _, noData := range []bool{true, false} {
		t.Run(fmt.Sprintf("noData=%v", noData), func(t *testing.T) {
			// Records up to 9, then markers up to the hwm 12: the last
			// record never comes.
			offs := &fakeOffsets{hwm: 12, probe: &noData}
			tb := newTestTable(t, storage.NewMemory(), &fakeConsumer{end: 10}, probingOffsets{offs})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- tb.Run(ctx, false) }()
			guard := time.After(10 * time.Second)
			for offs.probes.Load() == 0 {
				select {
				case <-guard:
					t.Fatal("the prober was not asked within 10s")
				case <-time.After(10 * time.Millisecond):
				}
			}
			if !noData {
				cancel()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10s")
			}
			if tb.IsRecovered() != noData {
				t.Fatalf("recovered = %v after the prober said noData=%v", tb.IsRecovered(), noData)
			}
		})
	}
}

func TestRunReturnsOnCancelDuringRecovery(t *testing.T) {
	st := storage.NewMemory()
	// 1000 records of 1e9: recovery stays busy until cancelled.
	tb := newTestTable(t, st, &fakeConsumer{end: 1000}, &fakeOffsets{hwm: 1e9})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tb.Run(ctx, true) }()
	for tb.Snapshot().InputCount < 1000 {
		time.Sleep(time.Millisecond)
	}
	began := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of the cancel")
	}
	t.Logf("Run returned %v after the cancel", time.Since(began))
	if tb.IsRecovered() {
		t.Fatal("recovered although the hwm was not reached")
	}
	if off, err := st.GetOffset(offsetNotStored); err != nil || off != 999 {
		t.Fatalf("stored offset = %d, %v; want 999, the last applied", off, err)
	}
}

func TestRunFollows(t *testing.T) {
	// Caught up at offset 4 (hwm 5), then records up to 20 arrive.
	st := storage.NewMemory()
	if err := st.SetOffset(4); err != nil {
		t.Fatal(err)
	}
	tb := newTestTable(t, st, &fakeConsumer{end: 20}, &fakeOffsets{hwm: 5})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tb.Run(ctx, true) }()
	<-tb.Recovered()
	for tb.Snapshot().InputLastOffset < 19 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := tb.Snapshot().InputCount; n != 15 {
		t.Fatalf("followed %d records; want 15 (offsets 5 to 19)", n)
	}
}

func TestRunRecreatedTopic(t *testing.T) {
	st := storage.NewMemory()
	if err := st.SetOffset(5); err != nil {
		t.Fatal(err)
	}
	tb := newTestTable(t, st, &fakeConsumer{}, &fakeOffsets{})
	if err := tb.Run(context.Background(), false); err == nil {
		t.Fatal("Run on a storage ahead of an empty partition succeeded")
	}
}

func TestWithStorageNotOpen(t *testing.T) {
	st := storage.NewMemory()
	tb := New(Config{
		Topic:    "t",
		Builder:  func(string, int32) (storage.Storage, error) { return st, nil },
		Consumer: &fakeConsumer{},
		Offsets:  &fakeOffsets{},
		Apply:    func(*sarama.ConsumerMessage, storage.Storage) error { return nil },
	})
	called := false
	use := func(storage.Storage) error { called = true; return nil }
	if err := tb.WithStorage(use); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("WithStorage before Open = %v; want ErrNotRunning", err)
	}
	if err := tb.Open(); err != nil {
		t.Fatal(err)
	}
	if err := tb.WithStorage(use); err != nil || !called {
		t.Fatalf("WithStorage after Open = %v, called %v", err, called)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	called = false
	if err := tb.WithStorage(use); !errors.Is(err, ErrNotRunning) || called {
		t.Fatalf("WithStorage after Close = %v, called %v; want ErrNotRunning, not called", err, called)
	}
	if _, err := tb.Get("k"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Get after Close = %v; want ErrNotRunning", err)
	}
	// StoreOffset and Flush on a closed table do nothing.
	tb.StoreOffset(3)
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
}

// closeCounter counts Close calls of a storage.
type closeCounter struct {
	storage.Storage
	closes atomic.Int32
}

func (c *closeCounter) Close() error {
	c.closes.Add(1)
	return c.Storage.Close()
}

func TestCloseIdempotent(t *testing.T) {
	st := &closeCounter{Storage: storage.NewMemory()}
	tb := New(Config{
		Topic:    "t",
		Builder:  func(string, int32) (storage.Storage, error) { return st, nil },
		Consumer: &fakeConsumer{},
		Offsets:  &fakeOffsets{},
		Apply:    func(*sarama.ConsumerMessage, storage.Storage) error { return nil },
	})
	if err := tb.Close(); err != nil {
		t.Fatalf("Close before Open: %v", err)
	}
	tb = New(Config{
		Topic:    "t",
		Builder:  func(string, int32) (storage.Storage, error) { return st, nil },
		Consumer: &fakeConsumer{},
		Offsets:  &fakeOffsets{},
		Apply:    func(*sarama.ConsumerMessage, storage.Storage) error { return nil },
	})
	if err := tb.Open(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := tb.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if n := st.closes.Load(); n != 1 {
		t.Fatalf("storage closed %d times; want 1", n)
	}
	if s := tb.Snapshot(); s.Status != StatusStopped {
		t.Fatalf("status after Close = %v; want StatusStopped", s.Status)
	}
}

func TestStoreOffsetNeverLowers(t *testing.T) {
	st := storage.NewMemory()
	tb := newTestTable(t, st, &fakeConsumer{}, &fakeOffsets{})
	const (
		writers = 8
		each    = 2000
	)
	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		lowered  atomic.Int64
		maxStore atomic.Int64
	)
	// A reader checks that the stored offset never goes down.
	var readerWG sync.WaitGroup
	readerWG.Go(func() {
		last := offsetNotStored
		for {
			select {
			case <-stop:
				return
			default:
			}
			off, err := st.GetOffset(offsetNotStored)
			if err != nil {
				t.Error(err)
				return
			}
			if off < last {
				lowered.Add(1)
			}
			last = off
		}
	})
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range each {
				off := r.Int64N(writers * each)
				for {
					cur := maxStore.Load()
					if off <= cur || maxStore.CompareAndSwap(cur, off) {
						break
					}
				}
				tb.StoreOffset(off)
			}
		})
	}
	wg.Wait()
	close(stop)
	readerWG.Wait()
	if n := lowered.Load(); n != 0 {
		t.Fatalf("the stored offset went down %d times", n)
	}
	if off, err := st.GetOffset(offsetNotStored); err != nil || off != maxStore.Load() {
		t.Fatalf("stored offset = %d, %v; want the highest stored, %d", off, err, maxStore.Load())
	}
}

// prefilledConsumer delivers msgs from a channel filled before Run starts,
// so that BenchmarkRecovery measures the apply loop, not a producer.
type prefilledConsumer struct {
	sarama.Consumer
	msgs []*sarama.ConsumerMessage
}

func (c *prefilledConsumer) ConsumePartition(string, int32, int64) (sarama.PartitionConsumer, error) {
	pc := &fakePC{msgs: make(chan *sarama.ConsumerMessage, len(c.msgs)), errs: make(chan *sarama.ConsumerError), done: make(chan struct{})}
	for _, m := range c.msgs {
		pc.msgs <- m
	}
	return pc, nil
}

// BenchmarkRecovery measures Run's apply loop: 100,000 buffered records
// into the null storage per iteration. The Apply function here allocates
// nothing, so allocs/op shows what the loop itself allocates per run.
func BenchmarkRecovery(b *testing.B) {
	const n = 100_000
	msgs := make([]*sarama.ConsumerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ConsumerMessage{Offset: int64(i), Key: []byte("key"), Value: []byte("value")}
	}
	apply := func(msg *sarama.ConsumerMessage, st storage.Storage) error { return st.Set("key", msg.Value) }
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		tb := New(Config{
			Topic:    "t",
			Builder:  func(string, int32) (storage.Storage, error) { return storage.NewNull(), nil },
			Consumer: &prefilledConsumer{msgs: msgs},
			Offsets:  &fakeOffsets{hwm: n},
			Apply:    apply,
		})
		if err := tb.Open(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := tb.Run(context.Background(), false); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := tb.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// countingConsumer counts ConsumePartition calls.
type countingConsumer struct {
	*fakeConsumer
	calls atomic.Int32
}

func (c *countingConsumer) ConsumePartition(topic string, partition int32, start int64) (sarama.PartitionConsumer, error) {
	c.calls.Add(1)
	return c.fakeConsumer.ConsumePartition(topic, partition, start)
}

// TestRunBeforeConsume checks that Run calls BeforeConsume right before it
// consumes the partition, and only then: not for a recovered partition it
// does not follow; its error ends Run before anything is consumed, unless
// Run's ctx ended.
func TestRunBeforeConsume(t *testing.T) {
	refused := errors.New("earlier consumer still open")
	for _, tt := range []struct {
		name      string
		local     int64 // stored offset, -1: none
		follow    bool
		err       error
		cancelled bool
		wantCalls int32
		wantErr   error
	}{
		{name: "recovered, not followed", local: 99, wantCalls: 0},
		{name: "recovered, followed", local: 99, follow: true, err: refused, wantCalls: 1, wantErr: refused},
		{name: "to recover", local: -1, wantCalls: 1},
		{name: "refused", local: -1, err: refused, wantCalls: 1, wantErr: refused},
		{name: "refused after the stop", local: -1, err: context.Canceled, cancelled: true, wantCalls: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := storage.NewMemory()
			if tt.local >= 0 {
				if err := st.SetOffset(tt.local); err != nil {
					t.Fatal(err)
				}
			}
			c := &countingConsumer{fakeConsumer: &fakeConsumer{end: 100}}
			var calls atomic.Int32
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tb := New(Config{
				Topic:    "t",
				Builder:  func(string, int32) (storage.Storage, error) { return st, nil },
				Consumer: c,
				Offsets:  &fakeOffsets{hwm: 100},
				Apply: func(msg *sarama.ConsumerMessage, st storage.Storage) error {
					return st.Set(string(msg.Key), msg.Value)
				},
				BeforeConsume: func(context.Context) error {
					calls.Add(1)
					if c.calls.Load() != 0 {
						t.Error("BeforeConsume called after the partition was consumed")
					}
					if tt.cancelled {
						cancel()
					}
					return tt.err
				},
			})
			if err := tb.Open(); err != nil {
				t.Fatal(err)
			}
			defer tb.Close()
			err := tb.Run(ctx, tt.follow)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Run = %v, want %v", err, tt.wantErr)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Fatalf("BeforeConsume called %d times, want %d", got, tt.wantCalls)
			}
			if tt.err != nil && c.calls.Load() != 0 {
				t.Fatal("consumed the partition although BeforeConsume failed")
			}
		})
	}
}

// TestStoreOffsetsCountsEveryWrite: a batch of writes stores its last
// offset once and counts every write, and never lowers the offset.
func TestStoreOffsetsCountsEveryWrite(t *testing.T) {
	st := storage.NewMemory()
	tb := newTestTable(t, st, &fakeConsumer{end: 0}, &fakeOffsets{hwm: 0})
	if err := tb.Run(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		offset     int64
		writes     uint
		wantOffset int64
		wantCount  uint
	}{
		{offset: 4, writes: 5, wantOffset: 4, wantCount: 5},
		{offset: 5, writes: 1, wantOffset: 5, wantCount: 6},
		{offset: 3, writes: 2, wantOffset: 5, wantCount: 6}, // lower: ignored
		{offset: 9, writes: 4, wantOffset: 9, wantCount: 10},
	}
	for _, s := range steps {
		tb.StoreOffsets(s.offset, s.writes)
		got, err := st.GetOffset(-1)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.wantOffset {
			t.Errorf("after StoreOffsets(%d, %d): stored offset %d, want %d", s.offset, s.writes, got, s.wantOffset)
		}
		if n := tb.Snapshot().WritesCount; n != s.wantCount {
			t.Errorf("after StoreOffsets(%d, %d): WritesCount %d, want %d", s.offset, s.writes, n, s.wantCount)
		}
	}
}

// TestEnd: unknown before a Run read the high-water mark; then the
// high-water mark, a followed record beyond it, or past the last offset
// a processor stored.
func TestEnd(t *testing.T) {
	tb := newTestTable(t, storage.NewMemory(), &fakeConsumer{end: 20}, &fakeOffsets{hwm: 5})
	if end, ok := tb.End(); ok {
		t.Fatalf("End before Run = %d, true", end)
	}
	if err := tb.Run(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if end, ok := tb.End(); !ok || end != 5 {
		t.Fatalf("End after recovery = %d, %v; want 5", end, ok)
	}
	tb.StoreOffset(8)
	tb.StoreOffset(7)
	if end, ok := tb.End(); !ok || end != 9 {
		t.Fatalf("End after storing offset 8 = %d, %v; want 9", end, ok)
	}

	followed := newTestTable(t, storage.NewMemory(), &fakeConsumer{end: 20}, &fakeOffsets{hwm: 5})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- followed.Run(ctx, true) }()
	for followed.Snapshot().InputLastOffset < 19 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if end, ok := followed.End(); !ok || end != 20 {
		t.Fatalf("End of a followed table at offset 19 = %d, %v; want 20", end, ok)
	}
}
