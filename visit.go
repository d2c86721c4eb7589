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
// It returns when all visits are done. Cancelling ctx returns an error
// wrapping context.Canceled; a rebalance or a stop of the processor returns
// ErrVisitAborted.
func (p *Processor) VisitAll(ctx context.Context, name string, meta interface{}) error {
	_, err := p.VisitAllWithStats(ctx, name, meta)
	return err
}

// VisitAllWithStats is VisitAll that also returns the number of keys
// visited.
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
		mu          sync.Mutex
		outstanding int
		verr        error
		notify      = make(chan struct{}, 1)
	)
	// wait waits for the visits handed over. When the partition stops,
	// visits still queued are abandoned and their done never fires.
	wait := func() {
		for {
			mu.Lock()
			n := outstanding
			mu.Unlock()
			if n == 0 {
				return
			}
			select {
			case <-notify:
			case <-pp.stopped:
				return
			}
		}
	}
	for it.Next() {
		item := &visitItem{name: name, key: string(it.Key()), meta: meta, cb: cb}
		mu.Lock()
		outstanding++
		mu.Unlock()
		var once sync.Once
		item.done = func(err error) {
			once.Do(func() {
				mu.Lock()
				outstanding--
				if err != nil && verr == nil {
					verr = err
				}
				mu.Unlock()
				if err == nil {
					visited.Add(1)
				}
				select {
				case notify <- struct{}{}:
				default:
				}
			})
		}
		select {
		case pp.visits <- item:
		case <-pp.stopped:
			return ErrVisitAborted
		case <-ctx.Done():
			mu.Lock()
			outstanding--
			mu.Unlock()
			wait()
			return fmt.Errorf("visiting partition %d: %w", pp.partition, ctx.Err())
		}
	}
	if err := it.Err(); err != nil {
		wait()
		return fmt.Errorf("visiting partition %d: %w", pp.partition, err)
	}
	wait()
	select {
	case <-pp.stopped:
		return ErrVisitAborted
	default:
	}
	mu.Lock()
	defer mu.Unlock()
	return verr
}
