package goka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/e3793d55/goka/storage"
)

// VisitAll runs the visitor name for every key of every partition this
// instance actively processes, interleaved with the partitions' messages.
// It returns nil when the visitor has run for every key. As in Goka, a
// visitor that panics or calls ctx.Fail stops the processor, and Run, not
// VisitAll, returns that error. Cancelling ctx returns at once with an error
// wrapping context.Canceled: keys not yet visited are skipped, a visit in
// progress finishes in the background. A rebalance or a stop of the
// processor before every key is visited returns ErrVisitAborted. Before Run
// and after it returned, VisitAll fails with ErrNotRunning.
func (p *Processor) VisitAll(ctx context.Context, name string, meta interface{}) error {
	_, err := p.VisitAllWithStats(ctx, name, meta)
	return err
}

// VisitAllWithStats is VisitAll that also returns the number of keys
// visited by the time it returns.
func (p *Processor) VisitAllWithStats(ctx context.Context, name string, meta interface{}) (int64, error) {
	cb := p.graph.visitor(name)
	if cb == nil {
		return 0, fmt.Errorf("processor %q: unknown visitor %q", p.graph.Group(), name)
	}
	if p.graph.GroupTable() == nil {
		return 0, fmt.Errorf("processor %q: visiting: %w", p.graph.Group(), ErrStateless)
	}
	if !p.started.Load() || p.isDone() {
		// Visiting nothing would look like success.
		return 0, fmt.Errorf("processor %q: visiting: %w", p.graph.Group(), ErrNotRunning)
	}
	pps := p.activePartitions()

	// Every partition's iterator is opened and its first key read before
	// any visit runs. A visit that fails stops the processor; a partition
	// whose goroutine only started then must not count as aborted when it
	// has no keys, as in Goka, where such a partition's visit is done.
	type start struct {
		pp   *partitionProcessor
		it   storage.Iterator
		more bool
	}
	starts := make([]start, 0, len(pps))
	for _, pp := range pps {
		it, more, err := pp.visitStart(ctx)
		if err != nil {
			for _, st := range starts {
				st.it.Release()
			}
			return 0, err
		}
		starts = append(starts, start{pp, it, more})
	}

	var (
		visited atomic.Int64
		wg      sync.WaitGroup
		errMu   sync.Mutex
		errs    []error
	)
	for _, st := range starts {
		wg.Go(func() {
			if err := st.pp.visitKeys(ctx, st.it, st.more, name, meta, cb, &visited); err != nil {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
		})
	}
	wg.Wait()
	return visited.Load(), errors.Join(errs...)
}

// visitStart waits until the partition is recovered and returns an
// iterator over its table, already advanced to the first key (more is
// false for an empty table).
func (pp *partitionProcessor) visitStart(ctx context.Context) (it storage.Iterator, more bool, err error) {
	select {
	case <-pp.recovered:
	case <-pp.stopped:
		return nil, false, ErrVisitAborted
	case <-ctx.Done():
		return nil, false, fmt.Errorf("visiting partition %d: %w", pp.partition, ctx.Err())
	}
	err = pp.table.WithStorage(func(st storage.Storage) (err error) { it, err = st.Iterator(); return err })
	if errors.Is(err, ErrNotRunning) {
		return nil, false, ErrVisitAborted
	}
	if err != nil {
		return nil, false, fmt.Errorf("visiting partition %d: %w", pp.partition, err)
	}
	more = it.Next()
	if err := it.Err(); err != nil {
		it.Release()
		return nil, false, fmt.Errorf("visiting partition %d: %w", pp.partition, err)
	}
	return it, more, nil
}

// visitKeys sends one visit per key of it, starting at its current key
// when more is true, to the partition's goroutine and waits until all are
// done. It releases it.
func (pp *partitionProcessor) visitKeys(ctx context.Context, it storage.Iterator, more bool, name string, meta interface{}, cb ProcessCallback, visited *atomic.Int64) error {
	defer it.Release()
	var (
		outstanding atomic.Int64
		notify      = make(chan struct{}, 1)
		cancelled   = func() error { return fmt.Errorf("visiting partition %d: %w", pp.partition, ctx.Err()) }
	)
	// done is called once per visit handed over, by the partition's
	// goroutine, possibly after VisitAllWithStats returned on a cancel. A visit
	// counts whether its callback succeeded or not: failures stop the
	// processor and reach Run.
	done := func(error) {
		visited.Add(1)
		outstanding.Add(-1)
		select {
		case notify <- struct{}{}:
		default:
		}
	}
	// wait waits for the visits handed over. When the partition stops,
	// visits still queued are abandoned and their done never fires.
	wait := func() error {
		for outstanding.Load() > 0 {
			select {
			case <-notify:
			case <-pp.stopped:
				if outstanding.Load() == 0 {
					return nil
				}
				return ErrVisitAborted
			case <-ctx.Done():
				return cancelled()
			}
		}
		return nil
	}
	for ; more; more = it.Next() {
		outstanding.Add(1)
		item := &visitItem{ctx: ctx, name: name, key: string(it.Key()), meta: meta, cb: cb, done: done}
		select {
		case pp.visits <- item:
		case <-pp.stopped:
			return ErrVisitAborted
		case <-ctx.Done():
			return cancelled()
		}
	}
	if err := it.Err(); err != nil {
		select {
		case <-pp.stopped:
			// The table closed under the iterator.
			return ErrVisitAborted
		default:
		}
		if werr := wait(); werr != nil {
			return errors.Join(fmt.Errorf("visiting partition %d: %w", pp.partition, err), werr)
		}
		return fmt.Errorf("visiting partition %d: %w", pp.partition, err)
	}
	return wait()
}
