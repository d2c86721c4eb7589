// Package multierr collects errors from several goroutines, as Goka's
// multierr package does. Goka programs (its examples and system tests) use it
// to run processors and views side by side and wait for all of them.
//
// # Error groups
//
// [ErrGroup] runs functions in goroutines like errgroup.Group, but keeps every
// error, not only the first. [ErrGroup.Wait] returns them as a
// *multierror.Error from github.com/hashicorp/go-multierror, the type Goka
// returns, so code such as
//
//	if err := grp.Wait().ErrorOrNil(); err != nil { ... }
//
// compiles unchanged. The context returned by [NewErrGroup] is cancelled when
// the first function fails.
//
// # Collecting errors
//
// [Errors] is a concurrency-safe list of errors. It is built on errors.Join:
// its Error text is that of errors.Join, and it implements Unwrap() []error,
// so errors.Is and errors.As see every collected error.
//
// # Waiting for several things
//
// [MultiWait] waits until a number of done channels are closed, or until a
// context ends.
//
// # Concurrency
//
// Every type in this package is safe for concurrent use.
package multierr
