package multierr

import (
	"context"
	"sync"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/sync/errgroup"
)

// ErrGroup runs functions in goroutines and collects all their errors.
//
// It embeds an *errgroup.Group, as Goka's does; use [ErrGroup.Go] and
// [ErrGroup.Wait] (which shadow the embedded methods) so that every error is
// kept. An ErrGroup must be created with [NewErrGroup].
type ErrGroup struct {
	*errgroup.Group

	mu   sync.Mutex
	errs []error
}

// NewErrGroup returns a new ErrGroup and a context derived from ctx. The
// context is cancelled when a function passed to Go first returns an error or
// when Wait returns, whichever happens first.
func NewErrGroup(ctx context.Context) (*ErrGroup, context.Context) {
	g, ctx := errgroup.WithContext(ctx)
	return &ErrGroup{Group: g}, ctx
}

// Go calls f in a new goroutine. If f returns an error, the error is kept for
// Wait and the group's context is cancelled.
func (g *ErrGroup) Go(f func() error) {
	g.Group.Go(func() error {
		err := f()
		if err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
		}
		return err
	})
}

// Wait blocks until every function started with Go has returned. It returns
// nil if none failed, and otherwise a new *multierror.Error holding all errors
// in the order they were returned. Calling ErrorOrNil on the result is safe
// in both cases.
func (g *ErrGroup) Wait() *multierror.Error {
	_ = g.Group.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.errs) == 0 {
		return nil
	}
	return &multierror.Error{Errors: append([]error(nil), g.errs...)}
}

// WaitChan calls Wait in a new goroutine and returns a channel that receives
// its result and is then closed. The goroutine ends when Wait returns.
func (g *ErrGroup) WaitChan() <-chan *multierror.Error {
	ch := make(chan *multierror.Error, 1)
	go func() {
		ch <- g.Wait()
		close(ch)
	}()
	return ch
}
