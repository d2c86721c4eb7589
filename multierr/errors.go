package multierr

import (
	"errors"
	"sync"
)

// Errors is a list of errors that is safe for concurrent use. The zero value
// is an empty list, ready to use.
//
// Errors implements error and Unwrap() []error, so errors.Is and errors.As
// look at each collected error. Its text is that of errors.Join: the
// collected errors separated by newlines.
type Errors struct {
	mu   sync.Mutex
	errs []error
}

// Collect adds err to the list, unless err is nil, and returns e so calls can
// be chained.
func (e *Errors) Collect(err error) *Errors {
	if err == nil {
		return e
	}
	e.mu.Lock()
	e.errs = append(e.errs, err)
	e.mu.Unlock()
	return e
}

// Merge adds the errors collected in o to e and returns e. A nil o adds
// nothing. Merging a list into itself doubles it.
func (e *Errors) Merge(o *Errors) *Errors {
	if o == nil {
		return e
	}
	errs := o.snapshot() // never hold both locks: e and o may be the same
	if len(errs) == 0 {
		return e
	}
	e.mu.Lock()
	e.errs = append(e.errs, errs...)
	e.mu.Unlock()
	return e
}

// HasErrors reports whether at least one error was collected.
func (e *Errors) HasErrors() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.errs) > 0
}

// Error returns the text of errors.Join over the collected errors, or "" if
// there are none.
func (e *Errors) Error() string {
	err := errors.Join(e.snapshot()...)
	if err == nil {
		return ""
	}
	return err.Error()
}

// Unwrap returns a copy of the collected errors, for errors.Is and errors.As.
func (e *Errors) Unwrap() []error {
	return e.snapshot()
}

// NilOrError returns nil if no error was collected. Otherwise it returns a
// new *Errors holding the errors collected so far: errors collected later do
// not change the returned error.
func (e *Errors) NilOrError() error {
	errs := e.snapshot()
	if len(errs) == 0 {
		return nil
	}
	return &Errors{errs: errs}
}

// snapshot returns a copy of the collected errors, nil if there are none.
func (e *Errors) snapshot() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.errs) == 0 {
		return nil
	}
	return append([]error(nil), e.errs...)
}
