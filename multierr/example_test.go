package multierr_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/e3793d55/goka/multierr"
)

// Run several components and wait for all of them, as Goka's examples do
// with processors and views.
func ExampleErrGroup() {
	errStopped := errors.New("component stopped")

	grp, ctx := multierr.NewErrGroup(context.Background())
	grp.Go(func() error {
		return errStopped // the first failure cancels ctx ...
	})
	grp.Go(func() error {
		<-ctx.Done() // ... which stops the others
		return nil
	})

	if err := grp.Wait().ErrorOrNil(); err != nil {
		fmt.Println("failed:", errors.Is(err, errStopped))
	}
	// Output: failed: true
}

func ExampleErrors() {
	var errs multierr.Errors
	for _, name := range []string{"a", "b", "c"} {
		if name != "b" {
			errs.Collect(fmt.Errorf("closing %s: failed", name))
		}
	}
	if err := errs.NilOrError(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// closing a: failed
	// closing c: failed
}

func ExampleMultiWait() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	mw := multierr.NewMultiWait(ctx, 2)
	for range 2 {
		done := make(chan struct{})
		mw.Add(done)
		go close(done)
	}
	fmt.Println("all done:", mw.Wait())
	// Output: all done: true
}
