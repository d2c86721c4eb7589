package goka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// VisitAll runs the visitor name for every key of every partition this
// instance actively processes, interleaved with the partitions' messages.
// It returns nil when the visitor has run for every key. As in Goka, a
// visitor that panics or calls ctx.Fail stops the processor, and Run, not
// VisitAll, returns that error. Cancelling ctx returns at once with an error
// wrapping context.Canceled: keys not yet visited are skipped, a visit in
// progress finishes in the background. A rebalance or a stop of the
// processor before every key is visited returns ErrVisitAborted.
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
	p.mu.RLock()
	pps := make([]*partitionProcessor, 0, len(p.partitions))
	for _, pp := range p.partitions {
		pps = append(pps, pp)
	}
	p.mu.RUnlock()

	var (
		visited atomic.Int64
		wg      sync.WaitGroup
		errMu   sync.Mutex
		errs    []error
	)
	addErr := func(err error) {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
	}
	for _, pp := range pps {
		wg.Add(1)
		go func(pp *partitionProcessor) {
			defer wg.Done()
			if err := pp.visitAll(ctx, name, meta, cb, &visited); err != nil {
				addErr(err)
			}
		}(pp)
	}
	wg.Wait()
	if len(errs) > 0 {
		return visited.Load(), errors.Join(errs...)
	}
	return visited.Load(), nil
}

// visitAll sends one visit per key of the partition's table to its
// goroutine and waits until all are done.
func (pp *partitionProcessor) visitAll(ctx context.Context, name string, meta interface{}, cb ProcessCallback, visited *atomic.Int64) error {
	select {
	case <-pp.recovered:
	case <-pp.stopped:
		return ErrVisitAborted
	case <-ctx.Done():
		return fmt.Errorf("visiting partition %d: %w", pp.partition, ctx.Err())
	}
	pp.table.stMu.RLock()
	if pp.table.closed {
		pp.table.stMu.RUnlock()
		return ErrVisitAborted
	}
	it, err := pp.table.st.Iterator()
	pp.table.stMu.RUnlock()
	if err != nil {
		return fmt.Errorf("visiting partition %d: %w", pp.partition, err)
	}
	defer it.Release()

	var (
		outstanding atomic.Int64
		notify      = make(chan struct{}, 1)
		cancelled   = func() error { return fmt.Errorf("visiting partition %d: %w", pp.partition, ctx.Err()) }
	)
	// done is called once per visit handed over, by the partition's
	// goroutine, possibly after visitAll returned on a cancel. A visit
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
	for it.Next() {
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
		if werr := wait(); werr != nil {
			return errors.Join(fmt.Errorf("visiting partition %d: %w", pp.partition, err), werr)
		}
		return fmt.Errorf("visiting partition %d: %w", pp.partition, err)
	}
	return wait()
}
